"""
Reads of threads: a thread's root checked for its reader (``thread_root_get``),
a page of its replies with the reader's state (``thread_page``), the user's
followed threads with unread counts (``thread_list``), a thread's followers
(``thread_follower_ids``, for pushes) and a member's state of a thread
(``thread_state``).

A thread is a root message of the main timeline and the replies that name it
(``ConversationMessage.thread_root``); chat.threads.services writes them.
"""

from dataclasses import dataclass
from uuid import UUID

from django.db.models import Count, F, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from chat.models import ConversationMember, ConversationMessage, ThreadMember
from chat.rules import parse_conversation_id
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


def _unread_replies(*, root_id, after) -> QuerySet:
    """How many replies of the thread ``root_id`` come after seq ``after`` (both may be OuterRefs), as a subquery."""
    return (
        ConversationMessage.objects.filter(thread_root_id=root_id, seq__gt=after)
        .order_by()
        .values("thread_root_id")
        .annotate(count=Count("id"))
        .values("count")
    )


def thread_state(*, root: ConversationMessage, member_id: int, user_id: UUID) -> ThreadState:
    """
    The state of the thread of ``root`` for ``member_id`` (the membership of
    ``user_id``), in one query. A member with no row yet has read none of it
    and follows it only if they wrote the root.
    """
    row = (
        ThreadMember.objects.filter(root=root, member_id=member_id)
        .annotate(unread=Coalesce(Subquery(_unread_replies(root_id=OuterRef("root_id"), after=OuterRef("last_read_seq"))), 0))
        .values_list("following", "last_read_seq", "unread")
        .first()
    )
    if row is None:
        replies = (root.thread_summary or {}).get("reply_count", 0)
        row = (root.created_by_id == user_id, 0, replies)
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


def thread_list(*, user: User) -> QuerySet[ThreadMember]:
    """
    The threads ``user`` follows in their conversations, most recently
    replied to first (a followed thread with no reply yet: by its root's
    time), each with ``root`` (loaded for display) and ``unread_count``.
    """
    return (
        ThreadMember.objects.filter(member__user=user, following=True)
        .select_related("root__created_by", "root__reply_to__created_by")
        .annotate(
            last_activity=Coalesce(F("root__thread_last_reply_at"), F("root__created_at")),
            unread_count=Coalesce(
                Subquery(_unread_replies(root_id=OuterRef("root_id"), after=OuterRef("last_read_seq"))), Value(0)
            ),
        )
    )


def thread_follower_ids(*, root_id: UUID) -> set[str]:
    """The ids (as strings) of the members who follow the thread of ``root_id``."""
    return {
        str(user_id)
        for user_id in ThreadMember.objects.filter(root_id=root_id, following=True).values_list(
            "member__user_id", flat=True
        )
    }
