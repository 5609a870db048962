"""
Reads of threads: a thread's root checked for its reader (``thread_root_get``),
a page of its replies with the reader's state (``thread_page``), the user's
followed threads with unread counts (``thread_list``), those with unread
replies for a notifications ``sync`` (``unread_threads``, ``unread_thread_count``),
the roots whose summaries a room socket's catch-up owes (``thread_roots_replied_after``),
a thread's followers (``thread_follower_ids``, for pushes) and a member's
state of a thread (``thread_state``). Unread counts are chat.unread's.

A thread is a root message of the main timeline and the replies that name it
(``ConversationMessage.thread_root``); chat.threads.services writes them.
"""

from dataclasses import dataclass
from uuid import UUID

from django.db.models import Exists, F, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce

from chat.models import ConversationMember, ConversationMessage, ThreadMember
from chat.rules import parse_conversation_id
from chat.unread import thread_replies_after, thread_unread, unread_cap
from core.errors import InvalidInput, NotFound
from core.validation import uuid_or_none
from useraccount.models import User


@dataclass(frozen=True)
class ThreadState:
    """A member's state of one thread."""

    conversation_id: UUID
    root_id: UUID
    following: bool
    last_read_seq: int
    unread_count: int


@dataclass(frozen=True)
class ThreadPage:
    root: ConversationMessage
    replies: list[ConversationMessage]
    state: ThreadState


def not_a_root_error() -> InvalidInput:
    return InvalidInput(
        "That message is a reply in a thread: its thread is the one of its thread_id.",
        code="not_a_thread_root", field="thread_id",
    )


def no_thread_error() -> InvalidInput:
    return InvalidInput("A system message has no thread.", code="invalid_thread", field="thread_id")


def thread_root_get(*, conversation_id, user: User, root_id) -> tuple[ConversationMessage, int]:
    """
    The root of a thread and the id of ``user``'s membership, in one query:
    NotFound unless ``user`` is a member (as for any conversation they are
    not in) and the message is one of the conversation; InvalidInput for a
    reply (threads are one level deep) or a system message. A deleted root
    still shows its thread.
    """
    conversation_id = parse_conversation_id(conversation_id)
    membership = ConversationMember.objects.filter(conversation_id=conversation_id, user=user).values("id")[:1]
    parsed = uuid_or_none(root_id)
    root = (
        ConversationMessage.objects.for_display()
        .annotate(member_id=Subquery(membership))
        .filter(id=parsed, conversation_id=conversation_id)
        .first()
        if parsed
        else None
    )
    if root is None or root.member_id is None:
        if root is None and membership.exists():
            raise NotFound("No such message.")
        raise NotFound("No such conversation.")
    if root.thread_root_id is not None:
        raise not_a_root_error()
    if root.kind != ConversationMessage.TEXT:
        raise no_thread_error()
    return root, root.member_id


def thread_state(*, root: ConversationMessage, member_id: int, user_id: UUID) -> ThreadState:
    """
    The state of the thread of ``root`` for ``member_id`` (the membership of
    ``user_id``), in one query. A member with no row yet has read none of it
    and follows it only if they wrote the root.
    """
    row = (
        ThreadMember.objects.filter(root=root, member_id=member_id)
        .annotate(unread=thread_unread(root="root_id", read_seq="last_read_seq"))
        .values_list("following", "last_read_seq", "unread")
        .first()
    )
    if row is None:
        replies = (root.thread_summary or {}).get("reply_count", 0)
        row = (root.created_by_id == user_id, 0, min(replies, unread_cap()))
    following, last_read_seq, unread = row
    return ThreadState(root.conversation_id, root.id, following, last_read_seq, unread)


def thread_page(
    *, conversation_id, user: User, root_id, before: int | None = None, after: int | None = None, limit: int = 50
) -> ThreadPage:
    """
    The root of a thread, up to ``limit`` of its replies in seq order (as
    chat.messages.selectors.message_list pages: with ``after``, the oldest
    after it; otherwise the newest below ``before``, or the newest of all)
    and the reader's state of it. Three queries, however long the thread.
    """
    root, member_id = thread_root_get(conversation_id=conversation_id, user=user, root_id=root_id)
    replies = ConversationMessage.objects.for_display().filter(thread_root=root)
    if after is not None:
        replies = replies.filter(seq__gt=after)
    if before is not None:
        replies = replies.filter(seq__lt=before)
    if after is not None:
        page = list(replies.order_by("seq")[:limit])
    else:
        page = list(replies.order_by("-seq")[:limit])
        page.reverse()
    return ThreadPage(root, page, thread_state(root=root, member_id=member_id, user_id=user.id))


def thread_list(*, user: User, unread_only: bool = False) -> QuerySet[ThreadMember]:
    """
    The threads ``user`` follows in their conversations, most recently
    replied to first (a followed thread with no reply yet: by its root's
    time), each with ``root`` (loaded for display) and ``unread_count``
    (chat.unread). With ``unread_only``, only those with replies after the
    user's read position.
    """
    threads = ThreadMember.objects.filter(member__user=user, following=True)
    if unread_only:
        threads = threads.filter(_has_unread())
    return threads.select_related("root__created_by", "root__reply_to__created_by", "root__forwarded_from").annotate(
        last_activity=Coalesce(F("root__thread_last_reply_at"), F("root__created_at")),
        unread_count=thread_unread(root="root_id", read_seq="last_read_seq"),
    )


def _has_unread() -> Exists:
    """A ThreadMember's thread has replies after its read position: one probe of the index of a thread's replies."""
    return Exists(thread_replies_after(root=OuterRef("root_id"), read_seq=OuterRef("last_read_seq")))


def unread_thread_count(*, user: User) -> int:
    """How many threads ``user`` follows have replies they have not read, at most CHAT_UNREAD_COUNT_MAX. One query."""
    unread = ThreadMember.objects.filter(member__user=user, following=True).filter(_has_unread())
    return unread.order_by().values("id")[: unread_cap()].count()


@dataclass(frozen=True)
class UnreadThreads:
    """What a notifications ``sync`` says of threads: how many have unread replies, and the latest of them."""

    count: int
    threads: list[ThreadMember]
    more: bool


def unread_threads(*, user: User, limit: int) -> UnreadThreads:
    """
    The followed threads of ``user`` with unread replies: how many (capped
    as every unread count), the ``limit`` latest replied to, and ``more``
    when others have unread replies too. Two queries.
    """
    threads = list(thread_list(user=user, unread_only=True).order_by("-last_activity", "-id")[: limit + 1])
    return UnreadThreads(unread_thread_count(user=user), threads[:limit], len(threads) > limit)


def thread_roots_replied_after(
    *, conversation_id: UUID, after: int, above: int = 0, limit: int
) -> list[ConversationMessage]:
    """
    The roots at seq ``after`` or before (and above ``above``: the next
    page) of the threads of a conversation with replies after ``after``, in
    seq order, at most ``limit``: the summaries a room socket catching up
    from ``after`` has not seen. Found from the messages after ``after``
    (those the catch-up read), not from the whole history.
    """
    replied = ConversationMessage.objects.filter(
        conversation_id=conversation_id, seq__gt=after, thread_root__isnull=False
    ).values("thread_root_id")
    return list(
        ConversationMessage.objects.filter(id__in=replied, seq__lte=after, seq__gt=above)
        .only("id", "conversation_id", "seq", "thread_summary")
        .order_by("seq")[:limit]
    )


def thread_follower_ids(*, root_id: UUID) -> set[str]:
    """The ids (as strings) of the members who follow the thread of ``root_id``."""
    return {
        str(user_id)
        for user_id in ThreadMember.objects.filter(root_id=root_id, following=True).values_list(
            "member__user_id", flat=True
        )
    }
