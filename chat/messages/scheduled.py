"""
Scheduled messages: written now, sent later by the runner
(chat.messages.scheduled_runner) through the one send path, as their author.

A member schedules a message (``scheduled_create``) for a time in the future
no further than CHAT_SCHEDULED_MAX_DAYS, with at most
CHAT_SCHEDULED_MAX_PENDING waiting per user (counted under the user's row
lock, so two requests at once cannot both take the last place); the body,
reply, thread and metadata are checked as a send checks them, and its
uploads are held for it (``Attachment.scheduled``: not swept as orphans).
Until its time its author edits it (``scheduled_update``: body, time,
metadata) or cancels it (``scheduled_cancel``: the uploads are let go).
Whether they may still post there is asked when it is sent, not now: a
refusal then marks the row ``failed`` with the reason and tells the author.

    row = scheduled_create(conversation_id=cid, user=me, body="Stand-up!", send_at=tomorrow_9am)
    scheduled_update(scheduled_id=row.id, user=me, send_at=tomorrow_10am)
    scheduled_cancel(scheduled_id=row.id, user=me)
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from chat.messages.metadata import validate_metadata
from chat.messages.send import attachment_ids_of
from chat.messages.serializers import timestamp
from chat.models import Attachment, ConversationMember, ConversationMessage, ScheduledMessage
from chat.rules import parse_conversation_id, validate_body
from core.errors import InvalidInput, NotFound
from core.events import dumps
from core.validation import uuid_or_none
from useraccount.models import User

# A field ``scheduled_update`` leaves as it is.
UNCHANGED = object()


def scheduled_data(row: ScheduledMessage) -> dict:
    """A scheduled message as JSON shows it (``attachments`` prefetched, or one query)."""
    return {
        "id": str(row.id),
        "conversation_id": str(row.conversation_id),
        "body": row.body,
        "send_at": timestamp(row.send_at),
        "reply_to": str(row.reply_to_id) if row.reply_to_id else None,
        "thread_id": str(row.thread_id) if row.thread_id else None,
        "metadata": row.metadata,
        "attachment_ids": [str(attachment.id) for attachment in row.attachments.all()],
        "state": row.state,
        "failure": {"code": row.failure_code, "detail": row.failure_detail} if row.state == row.FAILED else None,
        "message_id": str(row.message_id) if row.message_id else None,
        "created_at": timestamp(row.created_at),
        "updated_at": timestamp(row.updated_at),
    }


def scheduled_failed_event(row: ScheduledMessage) -> dict:
    """``scheduled.failed`` for the author's group: their message could not be sent at its time, and why."""
    frame = {"type": "scheduled.failed", "scheduled": scheduled_data(row)}
    return {"type": "scheduled.failed", "text": dumps(frame)}


def scheduled_list(*, user: User, state: str | None = None) -> QuerySet[ScheduledMessage]:
    """The user's scheduled messages (of one ``state``, if given), for a page newest first."""
    rows = ScheduledMessage.objects.filter(sender=user).prefetch_related("attachments")
    return rows.filter(state=state) if state else rows


def _send_at(value, now: datetime) -> datetime:
    if not isinstance(value, datetime) or timezone.is_naive(value):
        raise InvalidInput("send_at must be a date and time with its time zone.", code="invalid_send_at",
                           field="send_at")
    if value <= now:
        raise InvalidInput("send_at must be in the future.", code="send_at_past", field="send_at")
    days = settings.CHAT_SCHEDULED_MAX_DAYS
    if value > now + timedelta(days=days):
        raise InvalidInput(f"send_at must be within {days} days.", code="send_at_too_far", field="send_at")
    return value


# The codes a send gives for a bad reply or thread, given now for the same.
_REF_CODES = {"reply_to": "invalid_reply_to", "thread_id": "invalid_thread"}


def _message_ref(value, field: str):
    if value is None:
        return None
    parsed = uuid_or_none(value)
    if parsed is None:
        raise InvalidInput(f"{field} must be a message id.", code=_REF_CODES[field], field=field)
    return parsed


def _check_refs(row: ScheduledMessage) -> None:
    """The reply's and the thread's message: a live one of the conversation now (the send checks again)."""
    for field, message_id in (("reply_to", row.reply_to_id), ("thread_id", row.thread_id)):
        live = ConversationMessage.objects.filter(
            id=message_id, conversation_id=row.conversation_id, deleted_at__isnull=True, moderated_at__isnull=True,
        )
        if message_id is not None and not live.exists():
            raise InvalidInput(f"{field} must be a message of this conversation that is not deleted.",
                               code=_REF_CODES[field], field=field)


def _hold_uploads(*, row: ScheduledMessage, ids: list, user: User) -> None:
    """The user's unsent uploads ``ids`` to the conversation, held for ``row``; InvalidInput otherwise."""
    if not ids:
        return
    held = Attachment.objects.select_for_update().filter(
        id__in=ids, conversation_id=row.conversation_id, uploaded_by=user, message__isnull=True, scheduled__isnull=True,
    )
    if held.update(scheduled=row) != len(ids):
        raise InvalidInput(
            "attachment_ids must be uploads of yours to this conversation that no message carries or waits for.",
            code="invalid_attachment", field="attachment_ids",
        )


def scheduled_create(
    *, conversation_id, user: User, body="", send_at, reply_to=None, thread_id=None, attachment_ids=None,
    metadata=None,
) -> ScheduledMessage:
    """Schedule a message; NotFound unless ``user`` is a member, InvalidInput on what a send or the bounds refuse."""
    conversation_id = parse_conversation_id(conversation_id)
    now = timezone.now()
    ids = attachment_ids_of(attachment_ids)
    row = ScheduledMessage(
        conversation_id=conversation_id, sender=user, body=validate_body(body, may_be_empty=bool(ids)),
        send_at=_send_at(send_at, now), reply_to_id=_message_ref(reply_to, "reply_to"),
        thread_id=_message_ref(thread_id, "thread_id"), metadata=validate_metadata(metadata),
    )
    with transaction.atomic():
        if not ConversationMember.objects.filter(conversation_id=conversation_id, user=user).exists():
            raise NotFound("No such conversation.")
        # The user's row, locked: two requests at once cannot both take the last place.
        User.objects.select_for_update().filter(id=user.id).first()
        limit = settings.CHAT_SCHEDULED_MAX_PENDING
        if ScheduledMessage.objects.filter(sender=user, state=ScheduledMessage.PENDING).count() >= limit:
            raise InvalidInput(f"You can have at most {limit} scheduled messages waiting.",
                               code="too_many_scheduled", field="send_at")
        _check_refs(row)
        row.save()
        _hold_uploads(row=row, ids=ids, user=user)
    return row


def _pending_of(*, scheduled_id, user: User) -> ScheduledMessage:
    """The user's scheduled message, locked; NotFound for anyone else's, InvalidInput once it is not pending."""
    parsed = uuid_or_none(scheduled_id)
    row = ScheduledMessage.objects.select_for_update().filter(id=parsed, sender=user).first() if parsed else None
    if row is None:
        raise NotFound("No such scheduled message.")
    if row.state != ScheduledMessage.PENDING:
        raise InvalidInput(f"This scheduled message is {row.state} already.", code="not_pending")
    return row


def scheduled_update(
    *, scheduled_id, user: User, body=UNCHANGED, send_at=UNCHANGED, metadata=UNCHANGED
) -> ScheduledMessage:
    """Change a pending scheduled message's body, time and/or metadata (its time is checked as when made)."""
    with transaction.atomic():
        row = _pending_of(scheduled_id=scheduled_id, user=user)
        if body is not UNCHANGED:
            row.body = validate_body(body, may_be_empty=row.attachments.exists())
        if send_at is not UNCHANGED:
            row.send_at = _send_at(send_at, timezone.now())
        if metadata is not UNCHANGED:
            row.metadata = validate_metadata(metadata)
        row.save()
    return row


def scheduled_cancel(*, scheduled_id, user: User) -> ScheduledMessage:
    """Cancel a pending scheduled message; its uploads are let go (swept as any unsent upload)."""
    with transaction.atomic():
        row = _pending_of(scheduled_id=scheduled_id, user=user)
        row.state = ScheduledMessage.CANCELLED
        row.save(update_fields=["state", "updated_at"])
        Attachment.objects.filter(scheduled=row).update(scheduled=None)
    return row
