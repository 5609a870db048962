"""Reads of user accounts."""

from django.db.models import Case, IntegerField, Q, QuerySet, Value, When

from core.errors import NotFound
from core.validation import uuid_or_none

from .models import Block, User


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


def user_search(*, query: str, exclude=None) -> QuerySet[User]:
    """
    Active users whose name, or a word of it, starts with ``query``
    (case-insensitive), or whose email is exactly ``query``: exact email
    matches first, then by name. Never a list of emails: a prefix of one
    finds nobody.
    """
    query = " ".join(query.split())
    matches = Q(name__istartswith=query) | Q(name__icontains=" " + query)
    if "@" in query:
        matches |= Q(email=query.lower())
    users = active_users().filter(matches)
    if exclude is not None:
        users = users.exclude(id=exclude.id)
    return users.annotate(
        by_email=Case(When(email=query.lower(), then=Value(0)), default=Value(1), output_field=IntegerField())
    ).order_by("by_email", "name", "id")


def blocked_ids(*, user) -> list[str]:
    """The ids of the users ``user`` blocked."""
    return [str(user_id) for user_id in Block.objects.filter(blocker=user).values_list("blocked_id", flat=True)]


def blocked_either_way_ids(*, user_id, rows=None) -> set:
    """
    The ids of the users ``user_id`` blocked or was blocked by: their direct
    conversations are closed. ``rows``: ``blocks_involving``'s, if already read.
    """
    rows = blocks_involving(user_id=user_id) if rows is None else rows
    return {other for pair in rows for other in pair} - {user_id}


def blocks_involving(*, user_id) -> QuerySet:
    """``(blocker_id, blocked_id)`` of every block ``user_id`` made or is the subject of."""
    return Block.objects.filter(Q(blocker_id=user_id) | Q(blocked_id=user_id)).values_list("blocker_id", "blocked_id")


def blocks_between(*, first_id, second_id) -> QuerySet[Block]:
    """The block either user made of the other, if any."""
    return Block.objects.filter(
        Q(blocker_id=first_id, blocked_id=second_id) | Q(blocker_id=second_id, blocked_id=first_id)
    )


def blocked_between(*, first_id, second_id) -> bool:
    """Whether either user blocked the other (a direct conversation between them is closed both ways)."""
    return blocks_between(first_id=first_id, second_id=second_id).exists()


def block_list(*, user) -> QuerySet[Block]:
    """The blocks ``user`` made, with the blocked users, for paging by ``created_at``."""
    return Block.objects.filter(blocker=user).select_related("blocked")
