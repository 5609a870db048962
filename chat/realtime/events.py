"""
Event builders: a saved change becomes the event every socket is sent.

An event is a plain dict whose ``type`` selects the consumer handler
(``chat.message`` -> ``chat_message``). Frames are serialised here, once per
event rather than once per receiving socket: ``text`` is the frame a room
socket sends as is; a message event also carries ``notification``, the frame
for notifications sockets. The other keys are what the receiving session
needs to decide (``seq``, ``sender_id``, ``user_id``, ``online``).

    events.message(message)        # {"type": "chat.message", "seq": 7, "text": "...", ...}
"""

from datetime import datetime

from chat.conversations.serializers import conversation_data
from core.events import dumps
from chat.messages.serializers import message_data, timestamp
from useraccount.serializers import user_public

from ..models import Conversation, ConversationMessage


def original_client_error(error: dict, *, client_id: str | None, body: object) -> str:
    """
    An ``error`` frame the original tutorial client shows: it displays any
    frame with ``name`` and ``body`` as a message, and nothing else. A
    message that was not saved is quoted, so its author sees what to resend.
    """
    if isinstance(body, str) and body.strip():
        name, text = "Not sent", f"\u201c{body}\u201d was not sent: {error['detail']}"
    else:
        name, text = "Error", error["detail"]
    extra = {"client_id": client_id} if client_id else {}
    return dumps({"type": "error", **error, **extra, "name": name, "body": text})


def message(message: ConversationMessage, *, follower_ids: list[str] | None = None) -> dict:
    """
    ``chat.message`` for a saved message. The room frame is flat (the message
    JSON plus ``name``) so the original client, which reads only ``body`` and
    ``name``, keeps working. A reply in a thread also carries its thread's
    ``follower_ids``, whom alone (and those it mentions) notifications
    sockets tell (chat.audience).
    """
    data = message_data(message)
    notification = {"type": "notification", "conversation_id": data["conversation_id"], "message": data}
    event = {
        "type": "chat.message",
        "conversation_id": data["conversation_id"],
        "seq": message.seq,
        "sender_id": data["created_by"]["id"],
        "text": _room_frame("chat.message", data),
        "notification": dumps({**notification, "mentioned": False}),
        "mentioned": data["mentions"],
        "mentions_all": data["mentions_all"],
    }
    if data["mentions"] or data["mentions_all"]:
        # The mentioned members' frame says so: a second serialisation, for messages with mentions only.
        event["mention_notification"] = dumps({**notification, "mentioned": True})
    if follower_ids is not None:
        event["follower_ids"] = follower_ids
    return event


def mentioned(message: ConversationMessage, user_ids) -> dict:
    """
    ``chat.mention``: an edit mentions ``user_ids`` who were not mentioned
    before; their notifications sockets send them the message as a
    ``notification`` with ``mentioned`` (no other socket sends anything).
    """
    data = message_data(message)
    frame = {"type": "notification", "conversation_id": data["conversation_id"], "message": data, "mentioned": True}
    return {
        "type": "chat.mention",
        "conversation_id": data["conversation_id"],
        "sender_id": data["created_by"]["id"],
        "mentioned": sorted(str(user_id) for user_id in user_ids),
        "mentions_all": False,
        "mention_notification": dumps(frame),
    }


def thread_updated(root: ConversationMessage) -> dict:
    """``chat.thread.updated``: a reply came to the thread of ``root``; its summary as it is now."""
    frame = {
        "type": "chat.thread.updated",
        "conversation_id": str(root.conversation_id),
        "message_id": str(root.id),
        "seq": root.seq,
        "thread": root.thread_summary,
    }
    return {"type": "chat.thread.updated", "conversation_id": frame["conversation_id"], "text": dumps(frame)}


def thread_state(state, *, unread_threads: int) -> dict:
    """
    ``thread.state``, for the user's group: they read a thread or followed or
    unfollowed it (``state``: chat.threads.selectors.ThreadState), on any
    device; ``unread_threads`` is how many threads they follow have unread
    replies now. A room socket sends it only for its own conversation.
    """
    frame = {
        "type": "thread.state",
        "conversation_id": str(state.conversation_id),
        "root_id": str(state.root_id),
        "following": state.following,
        "last_read_seq": state.last_read_seq,
        "unread_count": state.unread_count,
        "unread_threads": unread_threads,
    }
    return {"type": "thread.state", "conversation_id": frame["conversation_id"], "text": dumps(frame)}


def message_frame(message: ConversationMessage) -> str:
    """The room frame of ``message`` alone (catch-up, and a resend's acknowledgement)."""
    return _room_frame("chat.message", message_data(message))


def _room_frame(kind: str, data: dict) -> str:
    return dumps({"type": kind, **data, "name": data["created_by"]["name"]})


def message_changed(message: ConversationMessage) -> dict:
    """``chat.message.updated`` or ``chat.message.deleted``: the message as it is now."""
    kind = "chat.message.deleted" if message.is_deleted else "chat.message.updated"
    data = message_data(message)
    return {"type": kind, "conversation_id": data["conversation_id"], "text": _room_frame(kind, data)}


def read(*, user_id, seq: int, shared: bool = True) -> dict:
    """
    ``chat.read``: a member read up to ``seq``. ``shared`` is the reader's
    ``read_receipts`` setting: off, room sessions show it to the reader's own
    sockets only (chat.rules.read_position_shown).
    """
    frame = dumps({"type": "chat.read", "user_id": str(user_id), "seq": seq})
    return {"type": "chat.read", "user_id": str(user_id), "shared": shared, "text": frame}


def delivered(*, conversation_id, positions: dict[str, int]) -> dict:
    """
    ``chat.delivered``: members' delivered positions that moved in one flush
    (chat.realtime.delivery_flush), one event per conversation per flush.
    Neither ``body`` nor ``name``: the original client would show it, and
    its profile does not take it anyway.
    """
    frame = {"type": "chat.delivered", "positions": dict(sorted(positions.items()))}
    return {"type": "chat.delivered", "conversation_id": str(conversation_id), "text": dumps(frame)}


def unread(*, conversation_id, unread_count: int, total: int) -> dict:
    frame = {
        "type": "unread",
        "conversation_id": str(conversation_id),
        "unread_count": unread_count,
        "total": total,
    }
    return {"type": "unread", "text": dumps(frame)}


def typing(*, user_id, name: str) -> dict:
    frame = {"type": "chat.typing", "user_id": str(user_id), "name": name}
    return {"type": "chat.typing", "user_id": str(user_id), "text": dumps(frame)}


def presence(*, user_id, online: bool) -> dict:
    frame = {"type": "presence", "user_id": str(user_id), "online": online}
    return {"type": "presence", "user_id": str(user_id), "online": online, "text": dumps(frame)}


def presence_changes(changes) -> dict:
    """
    Several users' presence changes, ``(user_id, online)`` each, as one
    ``presence.changes`` event (chat.realtime.announcer); one change is a
    ``presence`` event.
    """
    changes = [(str(user_id), online) for user_id, online in changes]
    if len(changes) == 1:
        return presence(user_id=changes[0][0], online=changes[0][1])
    frame = {
        "type": "presence.changes",
        "online": [user_id for user_id, online in changes if online],
        "offline": [user_id for user_id, online in changes if not online],
    }
    return {**frame, "text": dumps(frame)}


def changes_of(event: dict) -> list[tuple[str, bool]]:
    """The ``(user_id, online)`` changes of a ``presence.changes`` event."""
    return [(user_id, True) for user_id in event["online"]] + [(user_id, False) for user_id in event["offline"]]


def conversation_created(conversation: Conversation) -> dict:
    """For the members' user groups; ``users`` must be prefetched."""
    data = conversation_data(conversation)
    return {
        "type": "conversation.created",
        "conversation_id": data["id"],
        "text": dumps({"type": "conversation.created", "conversation": data}),
    }


def reaction(message: ConversationMessage, *, user_id, emoji: str, added: bool) -> dict:
    """``chat.reaction``: someone added or removed a reaction; the message's reactions as they are now."""
    frame = {
        "type": "chat.reaction",
        "message_id": str(message.id),
        "seq": message.seq,
        "user_id": str(user_id),
        "emoji": emoji,
        "added": added,
        "reactions": message.reaction_summary,
    }
    return {"type": "chat.reaction", "text": dumps(frame)}


def conversation_updated(conversation: Conversation, *, system: dict, actor_id, added=(), removed=()) -> dict:
    """
    ``conversation.updated`` for the user groups of the members, those added
    and those removed (``users`` prefetched): the conversation as it is now
    and what changed. ``added`` and ``removed`` tell each socket whether to
    start or stop following the conversation.
    """
    frame = {
        "type": "conversation.updated",
        "conversation": conversation_data(conversation),
        "change": {**system, "by": str(actor_id)},
    }
    return {
        "type": "conversation.updated",
        "conversation_id": str(conversation.id),
        "member_ids": [str(user.id) for user in conversation.users.all()],
        "added": [str(user_id) for user_id in added],
        "removed": [str(user_id) for user_id in removed],
        "text": dumps(frame),
    }


def conversation_notifications(*, conversation_id, level: str) -> dict:
    """For the user's group: they chose which messages of a conversation they are told of (chat.audience)."""
    frame = {"type": "conversation.notifications", "conversation_id": str(conversation_id), "level": level}
    return {
        "type": "conversation.notifications",
        "conversation_id": str(conversation_id),
        "level": level,
        "text": dumps(frame),
    }


def conversation_blocked(*, conversation_id, user_ids, closed: bool) -> dict:
    """
    For a direct conversation's room group: a block between its two members
    was made or lifted, and ``closed`` says whether one still blocks the
    other. Room sessions stop (or resume) showing each the other's typing
    and presence; no client is sent it.
    """
    return {
        "type": "conversation.blocked",
        "conversation_id": str(conversation_id),
        "user_ids": [str(user_id) for user_id in user_ids],
        "closed": closed,
    }


def conversation_muted(*, conversation_id, muted: bool, muted_until: datetime | None) -> dict:
    """
    For the user's group: they muted (until ``muted_until``, or for good) or
    unmuted a conversation. ``until`` is the end as a Unix time, for sessions.
    """
    frame = {
        "type": "conversation.muted",
        "conversation_id": str(conversation_id),
        "muted": muted,
        "muted_until": timestamp(muted_until),
    }
    return {
        "type": "conversation.muted",
        "conversation_id": str(conversation_id),
        "muted": muted,
        "until": muted_until.timestamp() if muted_until is not None else None,
        "text": dumps(frame),
    }


def join_requested(request, *, user) -> dict:
    """``conversation.join_requested``, for a group's owner and admins: someone opened a link that needs approval."""
    frame = {
        "type": "conversation.join_requested",
        "conversation_id": str(request.conversation_id),
        "user": user_public(user),
        "created_at": timestamp(request.created_at),
    }
    return {"type": "conversation.join_requested", "conversation_id": str(request.conversation_id),
            "text": dumps(frame)}


def pinned(message: ConversationMessage) -> dict:
    """``chat.pinned``: a message was pinned (``pinned_by`` loaded); the message as it is now."""
    frame = {
        "type": "chat.pinned",
        "message_id": str(message.id),
        "seq": message.seq,
        "pinned_by": user_public(message.pinned_by) if message.pinned_by is not None else None,
        "pinned_at": timestamp(message.pinned_at),
        "message": message_data(message),
    }
    return {"type": "chat.pinned", "conversation_id": str(message.conversation_id), "text": dumps(frame)}


def unpinned(message: ConversationMessage, *, by_id) -> dict:
    """
    ``chat.unpinned``: a message stopped being pinned; ``by`` is who unpinned
    it, None when it went because the message was deleted or hidden.
    """
    frame = {
        "type": "chat.unpinned",
        "message_id": str(message.id),
        "seq": message.seq,
        "by": str(by_id) if by_id is not None else None,
    }
    return {"type": "chat.unpinned", "conversation_id": str(message.conversation_id), "text": dumps(frame)}


def export_updated(export) -> dict:
    """``export.updated``, for the user's sockets: their data export is ready (or failed); REST gives the link."""
    frame = {
        "type": "export.updated",
        "id": str(export.id),
        "status": export.status,
        "expires_at": timestamp(export.expires_at),
    }
    return {"type": "export.updated", "text": dumps(frame)}
