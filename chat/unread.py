"""
Unread counts: the one rule every reader of them uses, as ORM expressions
over the rows that hold a read position.

A member's **conversation** unread count is the number of messages of its
main timeline after their read position: replies in threads count in their
thread's own unread count instead (a thread's root is a message of the main
timeline, so it counts). A **thread**'s unread count is the number of its
replies after the member's read position of that thread. Neither ever
counts the member's own messages: a message of the main timeline moves its
sender's read position of the conversation to it (chat.rules.mark_own_read),
a reply their read position of its thread (chat.threads.services), and
not the conversation's, whose count it is not in.

Every count stops at ``CHAT_UNREAD_COUNT_MAX``: a count at the cap means
"that many or more", which is what a badge shows, and it keeps a count a
bounded read of an index (``main_line_by_seq``, ``thread_replies_by_seq``)
however far behind a member is. A conversation read to its last seq costs
no read at all: the comparison on its row answers 0.

Readers: the conversation list and ``GET /api/chat/unread/``
(chat.conversations.selectors), a read's answer and ``unread`` frames
(chat.conversations.membership), the notifications socket's ``sync`` (through
the conversation list), and the thread selectors (chat.threads.selectors).

    ConversationMember.objects.annotate(unread=conversation_unread(
        conversation="conversation_id", last_seq="conversation__last_seq", read_seq="last_read_seq"))
    ThreadMember.objects.annotate(unread=thread_unread(root="root_id", read_seq="last_read_seq"))
"""

from django.conf import settings
from django.db.models import (
    Case,
    Expression,
    F,
    IntegerField,
    OuterRef,
    QuerySet,
    Subquery,
    Value,
    When,
)

from chat.models import ConversationMessage


class CappedCount(Subquery):
    """How many rows a sliced queryset has, counted in the database: ``COUNT(*)`` over the (limited) subquery."""

    template = "(SELECT COUNT(*) FROM (%(subquery)s) capped)"
    output_field = IntegerField()


def unread_cap() -> int:
    """The most any unread count says (CHAT_UNREAD_COUNT_MAX, read per call: tests change it)."""
    return settings.CHAT_UNREAD_COUNT_MAX


def _capped(messages: QuerySet) -> CappedCount:
    return CappedCount(messages.order_by("seq").values("seq")[: unread_cap()])


def main_line_after(*, conversation, read_seq) -> QuerySet:
    """The messages of a conversation's main timeline after ``read_seq`` (both may be OuterRefs): what the count counts."""
    return ConversationMessage.objects.filter(conversation_id=conversation, seq__gt=read_seq, thread_root__isnull=True)


def conversation_unread(*, conversation: str, last_seq: str, read_seq: str) -> Expression:
    """
    A member's unread count of a conversation, for rows that name (as
    field paths) the conversation's id, its last seq and the member's read
    position: 0 when the read position is at the last seq, else the main
    timeline's messages after it, at most CHAT_UNREAD_COUNT_MAX.
    """
    after = main_line_after(conversation=OuterRef(conversation), read_seq=OuterRef(read_seq))
    return Case(
        When(**{f"{last_seq}__lte": F(read_seq)}, then=Value(0)),
        default=_capped(after),
        output_field=IntegerField(),
    )


def thread_replies_after(*, root, read_seq) -> QuerySet:
    """A thread's replies after ``read_seq`` (both may be OuterRefs)."""
    return ConversationMessage.objects.filter(thread_root_id=root, seq__gt=read_seq)


def thread_unread(*, root: str, read_seq: str) -> Expression:
    """
    A member's unread count of a thread, for rows that name (as field paths)
    the thread's root and the member's read position of it: its replies
    after that position, at most CHAT_UNREAD_COUNT_MAX.
    """
    return _capped(thread_replies_after(root=OuterRef(root), read_seq=OuterRef(read_seq)))
