"""
A member's own state of a conversation: how far they have read
(``conversation_mark_read``, never backwards), whether they muted it
(``conversation_mute``/``conversation_unmute``) and which of its messages
they are told of (``conversation_set_notification_level``). Each tells the
user's other sockets.
"""

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from django.db import transaction
from django.db.models.functions import Greatest
from django.utils import timezone

from chat.conversations.selectors import unread_counts
from chat.models import (
    ConversationMember,
)
from chat.realtime import events
from chat.realtime.groups import room_group, user_group
from chat.audience import LEVELS
from chat.rules import parse_conversation_id
from chat.unread import conversation_unread
from core.errors import InvalidInput, NotFound
from core.outbox import Outbox, with_outbox
from core.validation import whole_number
from useraccount.models import User



@dataclass(frozen=True)
class ReadState:
    conversation_id: UUID
    last_read_seq: int
    unread_count: int


@with_outbox
def conversation_mark_read(*, conversation_id, user: User, seq, outbox: Outbox) -> ReadState:
    """
    Record that ``user`` has read up to ``seq`` (capped at the newest message);
    it never moves backwards, and moves the delivered position with it (read
    implies delivered). NotFound unless ``user`` is a member. When it moved,
    the room gets ``chat.read`` (shown to others only while the user's
    ``read_receipts`` is on) and the user's notifications sockets ``unread``.
    The unread count is chat.unread's (thread replies are not in it).
    """
    conversation_id = parse_conversation_id(conversation_id)
    seq = whole_number(seq, name="seq")
    with transaction.atomic():
        member = (
            ConversationMember.objects.filter(conversation_id=conversation_id, user=user)
            .values("last_read_seq", "conversation__last_seq", "user__read_receipts")
            .first()
        )
        if member is None:
            raise NotFound("No such conversation.")
        last_seq = member["conversation__last_seq"]
        seq = min(seq, last_seq)
        moved = ConversationMember.objects.filter(
            conversation_id=conversation_id, user=user, last_read_seq__lt=seq
        ).update(last_read_seq=seq, delivered_seq=Greatest("delivered_seq", seq))  # read implies delivered
        if not moved:
            # Already there, or another device moved it further meanwhile.
            current, unread = ConversationMember.objects.filter(
                conversation_id=conversation_id, user=user
            ).annotate(
                unread=conversation_unread(
                    conversation="conversation_id", last_seq="conversation__last_seq", read_seq="last_read_seq"
                )
            ).values_list("last_read_seq", "unread").get()
            return ReadState(conversation_id, current, unread)
        shared = member["user__read_receipts"]
        outbox.emit(room_group(conversation_id), events.read(user_id=user.id, seq=seq, shared=shared))
        counts = unread_counts(user=user)  # this conversation's count among them: one query for both
        unread = counts.get(str(conversation_id), 0)
        outbox.emit(
            user_group(user.id),
            events.unread(conversation_id=conversation_id, unread_count=unread, total=sum(counts.values())),
        )
    return ReadState(conversation_id, seq, unread)


def _mute_end(until: datetime | None) -> datetime | None:
    if until is None:
        return None
    if timezone.is_naive(until):
        raise InvalidInput("until needs a time zone (Z or an offset).", code="invalid_until", field="until")
    if until <= timezone.now():
        raise InvalidInput("until must be in the future (or null: until you unmute).", code="invalid_until", field="until")
    return until


@with_outbox
def conversation_mute(*, conversation_id, user: User, until: datetime | None = None, outbox: Outbox) -> ConversationMember:
    """
    ``user`` mutes a conversation of theirs until ``until`` (an aware
    datetime in the future), or until they unmute with None: no
    ``notification`` frames (nor pushes) for it meanwhile; unread counts still
    move. Every socket of theirs gets ``conversation.muted``.
    """
    conversation_id = parse_conversation_id(conversation_id)
    return _set_mute(conversation_id=conversation_id, user=user, muted=True, until=_mute_end(until), outbox=outbox)


@with_outbox
def conversation_unmute(*, conversation_id, user: User, outbox: Outbox) -> ConversationMember:
    """``user`` unmutes a conversation of theirs (one not muted changes nothing but the event)."""
    return _set_mute(
        conversation_id=parse_conversation_id(conversation_id), user=user, muted=False, until=None, outbox=outbox
    )


def _set_mute(*, conversation_id: UUID, user: User, muted: bool, until: datetime | None, outbox: Outbox) -> ConversationMember:
    """Store ``user``'s mute of a conversation of theirs and tell every socket of theirs."""
    with transaction.atomic():
        changed = ConversationMember.objects.filter(conversation_id=conversation_id, user=user).update(
            muted=muted, muted_until=until
        )
        if not changed:
            raise NotFound("No such conversation.")
        outbox.emit(
            user_group(user.id),
            events.conversation_muted(conversation_id=conversation_id, muted=muted, muted_until=until),
        )
    return ConversationMember.objects.get(conversation_id=conversation_id, user=user)


@with_outbox
def conversation_set_notification_level(*, conversation_id, user: User, level, outbox: Outbox) -> str:
    """
    ``user`` chooses which messages of a conversation of theirs they are
    told of (``notification`` frames and pushes): "all", "mentions" (only
    those that mention them) or "none" (chat.audience). Unread counts move
    either way. Every socket of theirs gets ``conversation.notifications``.
    """
    conversation_id = parse_conversation_id(conversation_id)
    if level not in LEVELS:
        raise InvalidInput(
            f"level must be one of {', '.join(LEVELS)}.", code="invalid_notification_level", field="level"
        )
    with transaction.atomic():
        changed = ConversationMember.objects.filter(conversation_id=conversation_id, user=user).update(
            notification_level=level
        )
        if not changed:
            raise NotFound("No such conversation.")
        outbox.emit(user_group(user.id), events.conversation_notifications(conversation_id=conversation_id, level=level))
    return level
