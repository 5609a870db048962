"""Reads of user accounts."""

from uuid import UUID

from chat.errors import NotFound

from .models import User


def parse_uuid(value) -> UUID | None:
    """``value`` as a UUID, or None when it is not one (ids come from URLs)."""
    if isinstance(value, UUID):
        return value
    try:
        return UUID(str(value))
    except ValueError:
        return None


def user_get(*, user_id) -> User:
    parsed = parse_uuid(user_id)
    user = User.objects.filter(id=parsed, is_active=True).first() if parsed else None
    if user is None:
        raise NotFound("No such user.")
    return user
