"""
Threads (docs/protocol.md, "Threads"): a reply in a thread is a message of
the conversation like any other, sent through the one send path
(chat.messages.send.message_send with ``thread_id``), which calls
``thread_root_for_reply`` and ``thread_reply_added`` inside the reply's
transaction. Members follow and unfollow threads (``thread_follow``) and
read them (``thread_mark_read``, never backwards); either change reaches
every socket of theirs as ``thread.state``, once committed.

Following decides who is notified of a reply (chat.audience): the root's
author and everyone who replies follow, unless they unfollow (a new reply
of theirs follows again).
"""

from uuid import UUID

from django.conf import settings
from django.db import transaction

from chat.messages.serializers import timestamp
from chat.models import ConversationMember, ConversationMessage, ThreadMember
from chat.realtime import events
from chat.realtime.groups import user_group
from chat.threads.selectors import (
    ThreadState,
    thread_follower_ids,
    thread_root_get,
    thread_state,
    unread_thread_count,
)
from core.errors import InvalidInput
from core.outbox import Outbox, with_outbox
from core.validation import uuid_or_none, whole_number
from useraccount.models import User


def invalid_thread_error() -> InvalidInput:
    return InvalidInput(
        "thread_id must be a message of this conversation that is not deleted (nor a system message).",
        code="invalid_thread", field="thread_id",
    )


def thread_ref(value) -> UUID | None:
    """A ``thread_id`` from a client: None, or a message id; InvalidInput otherwise."""
    if value is None:
        return None
    parsed = uuid_or_none(value)
    if parsed is None:
        raise invalid_thread_error()
    return parsed


def thread_root_for_reply(*, conversation_id: UUID, thread_id: UUID) -> ConversationMessage:
    """
    The root of the thread a reply to ``thread_id`` goes in, locked until
    the reply's transaction ends: the message itself, or its root when it is
    a reply (threads are one level deep). Call it once the sender's seq is
    taken (so they are known to be a member); a deleted, hidden or system
    root is InvalidInput.
    """
    locked = ConversationMessage.objects.select_for_update(of=("self",))
    message = locked.filter(id=thread_id, conversation_id=conversation_id).first()
    if message is not None and message.thread_root_id is not None:
        message = locked.filter(id=message.thread_root_id, conversation_id=conversation_id).first()
    if message is None or message.is_deleted or message.is_moderated or message.kind != ConversationMessage.TEXT:
        raise invalid_thread_error()
    return message


def thread_summary(summary: dict | None, *, reply: ConversationMessage) -> dict:
    """The summary of a thread (message JSON's ``thread``) once ``reply`` is added to it."""
    summary = summary or {}
    sender_id = str(reply.created_by_id)
    earlier = [user_id for user_id in summary.get("latest_replier_ids", ()) if user_id != sender_id]
    return {
        "reply_count": summary.get("reply_count", 0) + 1,
        "last_reply_at": timestamp(reply.created_at),
        "last_reply_seq": reply.seq,
        "latest_replier_ids": [sender_id, *earlier][: settings.CHAT_THREAD_REPLIERS_SHOWN],
    }


def thread_reply_added(*, reply: ConversationMessage, root: ConversationMessage) -> list[str]:
    """
    Inside the reply's transaction, ``root`` locked: rewrite the root's
    summary, make the sender follow (having read up to their reply) and the
    root's author follow unless they chose otherwise. Returns the followers'
    ids, for the reply's event.
    """
    root.thread_summary = thread_summary(root.thread_summary, reply=reply)
    root.thread_last_reply_at = reply.created_at
    root.save(update_fields=["thread_summary", "thread_last_reply_at"])
    memberships = dict(
        ConversationMember.objects.filter(
            conversation_id=reply.conversation_id, user_id__in={reply.created_by_id, root.created_by_id}
        ).values_list("user_id", "id")
    )
    ThreadMember.objects.bulk_create(
        [ThreadMember(root=root, member_id=memberships[reply.created_by_id], last_read_seq=reply.seq, following=True)],
        update_conflicts=True, unique_fields=["root", "member"], update_fields=["last_read_seq", "following"],
    )
    author = memberships.get(root.created_by_id)  # None once the author left
    if author is not None and root.created_by_id != reply.created_by_id:
        ThreadMember.objects.bulk_create([ThreadMember(root=root, member_id=author)], ignore_conflicts=True)
    return sorted(thread_follower_ids(root_id=root.id))


@with_outbox
def thread_follow(*, conversation_id, user: User, root_id, following: bool, outbox: Outbox) -> ThreadState:
    """
    ``user`` follows (or stops following) the thread of ``root_id``: any
    message of the main timeline. When that changes whether they follow it,
    every socket of theirs gets ``thread.state``.
    """
    root, member_id = thread_root_get(conversation_id=conversation_id, user=user, root_id=root_id)
    with transaction.atomic():
        row = ThreadMember.objects.filter(root=root, member_id=member_id)
        before = row.values_list("following", flat=True).first()
        ThreadMember.objects.bulk_create(
            [ThreadMember(root=root, member_id=member_id, following=following)],
            update_conflicts=True, unique_fields=["root", "member"], update_fields=["following"],
        )
        state = thread_state(root=root, member_id=member_id, user_id=user.id)
        if before is None:  # no row yet: the root's author follows, nobody else does
            before = root.created_by_id == user.id
        if before != following:
            _announce(state, user=user, outbox=outbox)
    return state


@with_outbox
def thread_mark_read(*, conversation_id, user: User, root_id, seq, outbox: Outbox) -> ThreadState:
    """
    Record that ``user`` has read the thread of ``root_id`` up to ``seq``
    (capped at its newest reply); it never moves backwards. Reading a
    thread does not follow it. When it moved, every socket of theirs gets
    ``thread.state`` (so a thread read on one device is read on all).
    """
    seq = whole_number(seq, name="seq")
    root, member_id = thread_root_get(conversation_id=conversation_id, user=user, root_id=root_id)
    seq = min(seq, (root.thread_summary or {}).get("last_reply_seq", root.seq))
    with transaction.atomic():
        ThreadMember.objects.bulk_create(
            [ThreadMember(root=root, member_id=member_id, following=root.created_by_id == user.id)],
            ignore_conflicts=True,
        )
        moved = ThreadMember.objects.filter(root=root, member_id=member_id, last_read_seq__lt=seq).update(
            last_read_seq=seq
        )
        state = thread_state(root=root, member_id=member_id, user_id=user.id)
        if moved:
            _announce(state, user=user, outbox=outbox)
    return state


def _announce(state: ThreadState, *, user: User, outbox: Outbox) -> None:
    """``thread.state`` to every socket of ``user``, with their count of threads with unread replies, on commit."""
    outbox.emit(user_group(user.id), events.thread_state(state, unread_threads=unread_thread_count(user=user)))
