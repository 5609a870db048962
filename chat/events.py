"""
Real-time events: group names, event builders and sending.

Services call ``broadcast_on_commit`` so an event leaves only once the data it
describes is committed; consumers join the groups named here. An event is a
plain dict whose ``type`` selects the consumer handler (``chat.message`` ->
``chat_message``).

Groups:
- ``chat.<conversation hex>``: every room socket of the conversation and every
  notifications socket of its members.
- ``user.<user hex>``: every notifications socket of one user; told about new
  conversations so those sockets can join their groups.
"""

import json
import logging
from contextvars import ContextVar
from uuid import UUID

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from .models import Conversation, ConversationMessage
from .serializers import conversation_data, message_data

logger = logging.getLogger(__name__)


def conversation_group(conversation_id: UUID | str) -> str:
    return f"chat.{UUID(str(conversation_id)).hex}"


def user_group(user_id: UUID | str) -> str:
    return f"user.{UUID(str(user_id)).hex}"


def message_event(message: ConversationMessage) -> dict:
    """
    The ``chat.message`` event for a saved message.

    The frames are serialised here, once per message rather than once per
    receiving socket: ``text`` for room sockets and ``notification`` for the
    members' notifications sockets. The room frame is flat (the message JSON
    plus ``name``) so the original client, which reads only ``body`` and
    ``name``, keeps working.
    """
    data = message_data(message)
    room_frame = {"type": "chat.message", **data, "name": data["created_by"]["name"]}
    notification = {"type": "notification", "conversation_id": data["conversation_id"], "message": data}
    return {
        "type": "chat.message",
        "seq": message.seq,
        "text": dumps(room_frame),
        "notification": dumps(notification),
        "sender_id": data["created_by"]["id"],
    }


def message_changed_event(message: ConversationMessage) -> dict:
    """``chat.message.updated`` or ``chat.message.deleted``: the message as it is now."""
    kind = "chat.message.deleted" if message.deleted_at else "chat.message.updated"
    data = message_data(message)
    return {"type": kind, "text": dumps({"type": kind, **data, "name": data["created_by"]["name"]})}


def read_event(*, user_id, seq: int) -> dict:
    return {"type": "chat.read", "text": dumps({"type": "chat.read", "user_id": str(user_id), "seq": seq})}


def unread_event(*, conversation_id, unread_count: int, total: int) -> dict:
    frame = {
        "type": "unread",
        "conversation_id": str(conversation_id),
        "unread_count": unread_count,
        "total": total,
    }
    return {"type": "unread", "text": dumps(frame)}


def typing_event(*, user_id, name: str) -> dict:
    frame = {"type": "chat.typing", "user_id": str(user_id), "name": name}
    return {"type": "chat.typing", "user_id": str(user_id), "text": dumps(frame)}


def presence_event(*, user_id, online: bool) -> dict:
    frame = {"type": "presence", "user_id": str(user_id), "online": online}
    return {"type": "presence", "user_id": str(user_id), "online": online, "text": dumps(frame)}


def dumps(data: dict) -> str:
    return json.dumps(data, separators=(",", ":"))


def conversation_created_event(conversation: Conversation) -> dict:
    return {"type": "conversation.created", "conversation": conversation_data(conversation)}


# Set by ``run_and_broadcast``: committed events wait here to be sent from the
# event loop instead of from the worker thread.
_committed: ContextVar[list | None] = ContextVar("committed_events", default=None)


def send(group: str, event: dict) -> None:
    """Send an event to a group from synchronous code."""
    async_to_sync(get_channel_layer().group_send)(group, event)


def broadcast_on_commit(group: str, event: dict) -> None:
    """Send the event once the current transaction commits (now, outside one)."""

    def deliver():
        committed = _committed.get()
        if committed is not None:
            committed.append((group, event))
            return
        try:
            send(group, event)
        except Exception:
            # The data is saved; a client that missed the event can fetch it
            # over REST. Failing the request would suggest it was not saved.
            logger.exception("Could not broadcast %s to %s", event["type"], group)

    transaction.on_commit(deliver)


async def run_and_broadcast(service, **kwargs):
    """
    Run a service on a worker thread (consumers' way to write), then send the
    events it committed from the event loop.

    The events are the same ones ``broadcast_on_commit`` would send; sending
    them here keeps the worker thread (and its database connection) free of
    Redis round trips, which under load measurably lengthened every write.
    """
    from backend.asyncdb import db

    committed: list = []

    def call():
        token = _committed.set(committed)
        try:
            return service(**kwargs)
        finally:
            _committed.reset(token)

    result = await db(call)()
    layer = get_channel_layer()
    for group, event in committed:
        try:
            await layer.group_send(group, event)
        except Exception:
            logger.exception("Could not broadcast %s to %s", event["type"], group)
    return result
