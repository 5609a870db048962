"""Reads of user accounts."""

from django.db.models import QuerySet

from core.errors import NotFound
from core.validation import uuid_or_none

from .models import User


def active_users() -> QuerySet[User]:
    """The users who may log in, be found and be added to conversations."""
    return User.objects.filter(is_active=True)


def user_get(*, user_id) -> User:
    """An active user by id (a UUID or its text), else NotFound."""
    parsed = uuid_or_none(user_id)
    user = active_users().filter(id=parsed).first() if parsed else None
    if user is None:
        raise NotFound("No such user.")
    return user
