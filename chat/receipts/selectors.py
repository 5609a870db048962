"""
Reads of delivery and read receipts: each member's positions in a
conversation (``member_receipts``, paged by the view) and, for one message,
who of the other members has it delivered and read (``message_receipts``).

A member's delivered position as read here is the greater of the stored
one (written in batches: chat.receipts.deliveries) and their read
position: whoever read a message has it. Read positions follow
chat.realtime.profiles.read_position_shown, in SQL here
(``read_shown_q``): a viewer sees their own, and someone else's only while
both keep ``read_receipts`` on.

    member_receipts(conversation=c, viewer=me)   # rows: user_id, delivered_seq, last_read_seq (None: hidden)
    message_receipts(conversation=c, viewer=me, message_id=mid)
"""

from dataclasses import dataclass
from uuid import UUID

from django.db.models import BooleanField, Case, ExpressionWrapper, Q, QuerySet, Value, When
from django.db.models.functions import Greatest

from chat.models import Conversation, ConversationMember, ConversationMessage
from core.errors import NotFound
from core.validation import uuid_or_none
from useraccount.models import User


def read_shown_q(*, viewer: User) -> Q:
    """The members whose read position ``viewer`` is shown (read_position_shown, as a filter on members)."""
    if not viewer.read_receipts:
        return Q(user_id=viewer.id)
    return Q(user__read_receipts=True) | Q(user_id=viewer.id)


def _delivered():
    return Greatest("delivered_seq", "last_read_seq")


def _read_shown(viewer: User):
    return ExpressionWrapper(
        Case(When(read_shown_q(viewer=viewer), then=Value(True)), default=Value(False)), output_field=BooleanField()
    )


def member_receipts(*, conversation: Conversation, viewer: User) -> QuerySet:
    """
    The members of ``conversation`` (a member's view: the caller checked
    membership) as rows of ``user_id``, ``delivered``, ``last_read_seq``,
    ``read_shown`` and ``joined_at`` (the page order), in the order they joined.
    """
    return (
        ConversationMember.objects.filter(conversation=conversation)
        .annotate(delivered=_delivered(), read_shown=_read_shown(viewer))
        .values("user_id", "delivered", "last_read_seq", "read_shown", "joined_at")
        .order_by("joined_at")
    )


def member_receipt_data(row: dict) -> dict:
    return {
        "user_id": str(row["user_id"]),
        "delivered_seq": row["delivered"],
        "last_read_seq": row["last_read_seq"] if row["read_shown"] else None,
    }


@dataclass(frozen=True)
class MessageReceipts:
    message_id: UUID
    seq: int
    members: int  # the members other than the sender
    delivered_to: list[str]
    read_by: list[str]


def message_receipts(*, conversation: Conversation, viewer: User, message_id) -> MessageReceipts:
    """
    Who of the members other than the message's sender have it delivered and
    read (as ``viewer`` is shown reads), in two queries. The lists are
    bounded by the group size (CHAT_GROUP_MAX_MEMBERS). NotFound for a
    message not in ``conversation``.
    """
    parsed = uuid_or_none(message_id)
    message = (
        ConversationMessage.objects.filter(conversation=conversation, id=parsed).values("id", "seq", "created_by_id").first()
        if parsed else None
    )
    if message is None:
        raise NotFound("No such message.")
    seq = message["seq"]
    rows = list(
        ConversationMember.objects.filter(conversation=conversation)
        .exclude(user_id=message["created_by_id"])
        .annotate(delivered=_delivered(), read_shown=_read_shown(viewer))
        .values_list("user_id", "delivered", "last_read_seq", "read_shown")
        .order_by("joined_at")
    )
    return MessageReceipts(
        message_id=message["id"], seq=seq, members=len(rows),
        delivered_to=[str(user_id) for user_id, delivered, _, _ in rows if delivered >= seq],
        read_by=[str(user_id) for user_id, _, read, shown in rows if shown and read >= seq],
    )


def message_receipts_data(receipts: MessageReceipts) -> dict:
    return {
        "message_id": str(receipts.message_id),
        "seq": receipts.seq,
        "members": receipts.members,
        "delivered": len(receipts.delivered_to),
        "read": len(receipts.read_by),
        "delivered_to": receipts.delivered_to,
        "read_by": receipts.read_by,
    }
