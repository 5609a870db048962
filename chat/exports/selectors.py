"""
Reads of data exports: a user's latest export, and what goes into an
archive, each read in bounded chunks (keyset pages) so that an archive of
any size is built in bounded memory (chat.exports.archive).
"""

from collections.abc import Iterator

from django.db.models import Q

from chat.models import (
    Attachment,
    Conversation,
    ConversationMember,
    ConversationMessage,
    DataExport,
)
from useraccount.models import User

# Rows read per query while building an archive.
CHUNK = 500


def _asked_by_user(user: User):
    """The user's own exports (those staff start are theirs, chat.exports.services)."""
    return DataExport.objects.filter(user=user, requested_by__isnull=True).order_by("-created_at")


def export_latest(*, user: User) -> DataExport | None:
    """The most recent export the user asked for, whatever its state."""
    return _asked_by_user(user).first()


def export_latest_counted(*, user: User) -> DataExport | None:
    """The most recent one that counts for the once-per-interval rule: any but a failed one."""
    return _asked_by_user(user).exclude(status=DataExport.FAILED).first()


def staff_export_running(*, user: User) -> DataExport | None:
    """An export staff started for ``user`` that is not built yet."""
    return DataExport.objects.filter(
        user=user, requested_by__isnull=False, status__in=[DataExport.PENDING, DataExport.BUILDING]
    ).first()


def _keyset(queryset, *, chunk: int = CHUNK) -> Iterator:
    """Every row of ``queryset`` in (created_at, id) order, ``chunk`` rows per query."""
    after = None
    while True:
        page = queryset.order_by("created_at", "id")
        if after is not None:
            page = page.filter(Q(created_at__gt=after[0]) | Q(created_at=after[0], id__gt=after[1]))
        rows = list(page[:chunk])
        yield from rows
        if len(rows) < chunk:
            return
        after = (rows[-1].created_at, rows[-1].id)


def export_conversation_ids(*, user: User) -> list:
    """
    The conversations the user is in or was in: a member now, or they wrote
    in it (their messages, and the system messages their own joining or
    leaving wrote). Ids only, sorted.
    """
    member_of = set(ConversationMember.objects.filter(user=user).values_list("conversation_id", flat=True))
    wrote_in = set(
        ConversationMessage.objects.filter(created_by=user).values_list("conversation_id", flat=True).distinct()
    )
    return sorted(member_of | wrote_in, key=str)


def export_conversations(*, user: User, ids: list, chunk: int = 100) -> Iterator[tuple[Conversation, list, bool]]:
    """
    ``(conversation, members, is_member)`` for each of ``ids``, ``chunk``
    conversations a query: ``members`` the (id, name) of its members now.
    """
    for start in range(0, len(ids), chunk):
        part = ids[start:start + chunk]
        conversations = {c.id: c for c in Conversation.objects.filter(id__in=part)}
        members: dict = {}
        for conversation_id, member_id, name, deleted_at in ConversationMember.objects.filter(
            conversation_id__in=part
        ).order_by("joined_at", "id").values_list("conversation_id", "user_id", "user__name", "user__deleted_at"):
            members.setdefault(conversation_id, []).append((member_id, name, deleted_at))
        for conversation_id in part:
            conversation = conversations.get(conversation_id)
            if conversation is None:
                continue
            listed = members.get(conversation_id, [])
            yield conversation, listed, any(member_id == user.id for member_id, _, _ in listed)


def export_messages(*, user: User, chunk: int = CHUNK) -> Iterator[ConversationMessage]:
    """The text messages the user sent, oldest first, ``chunk`` a query."""
    return _keyset(ConversationMessage.objects.filter(created_by=user, kind=ConversationMessage.TEXT), chunk=chunk)


def export_attachments(*, user: User, chunk: int = CHUNK) -> Iterator[Attachment]:
    """The files the user sent with their messages, oldest first, ``chunk`` a query."""
    return _keyset(Attachment.objects.filter(uploaded_by=user, message__isnull=False), chunk=chunk)
