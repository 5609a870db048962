"""
WebSocket consumers: a conversation's room and a user's notifications.

Thin by design: ``connect`` authenticates (TokenAuthMiddleware has set
``scope["user"]``) and authorises, ``receive`` parses a frame and dispatches
it to a service, and the event handlers only send. Close codes: 4401 no valid
access token, 4403 not a member or no such conversation; both are sent after
accepting, since a close before accepting reaches the client as HTTP 403 with
no code.
"""

import logging

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from . import events, selectors, services
from .events import dumps
from .errors import ChatError, InvalidInput
from .protocol import parse_client_frame

logger = logging.getLogger(__name__)

CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_NOT_FOUND = 4404


class BaseConsumer(AsyncWebsocketConsumer):
    """Shared plumbing: rejecting with a close code, error frames, dispatch."""

    async def reject(self, code: int):
        """Accept, then close with ``code`` so the client can read it."""
        await self.accept()
        await self.close(code=code)

    async def send_error(self, error: ChatError, **extra):
        await self.send(
            text_data=dumps({"type": "error", "code": error.code, "detail": error.detail, **extra})
        )

    async def receive(self, text_data=None, bytes_data=None):
        """Parse a client frame and hand it to the ``on_<type>`` method."""
        try:
            frame = parse_client_frame(text_data)
        except ChatError as error:
            return await self.send_error(error)
        handler = getattr(self, "on_" + frame["type"].replace(".", "_"), None)
        if handler is None:
            return await self.send_error(
                InvalidInput(f"Unknown frame type {frame['type']!r}.", code="unknown_type")
            )
        try:
            await handler(frame)
        except ChatError as error:
            extra = {"client_id": frame["client_id"]} if frame.get("client_id") else {}
            await self.send_error(error, **extra)

    async def on_ping(self, frame):
        """Keep-alive for clients behind proxies that close quiet sockets."""
        await self.send(text_data='{"type":"pong"}')


class ChatConsumer(BaseConsumer):
    """``ws/<conversation_id>/`` and ``ws/chat/<conversation_id>/``: one room."""

    conversation = None

    async def connect(self):
        """Check the token and membership, join the room group, accept."""
        user = self.scope["user"]
        if not user.is_authenticated:
            return await self.reject(CLOSE_UNAUTHENTICATED)
        try:
            self.conversation = await database_sync_to_async(selectors.conversation_get_for_user)(
                conversation_id=self.scope["url_route"]["kwargs"]["conversation_id"], user=user
            )
        except ChatError:
            return await self.reject(CLOSE_FORBIDDEN)
        group = events.conversation_group(self.conversation.id)
        await self.channel_layer.group_add(group, self.channel_name)
        self.groups.append(group)
        await self.accept()

    async def on_message_send(self, frame):
        """Save and broadcast a message; a resent client_id is acknowledged only."""
        try:
            message, created = await database_sync_to_async(services.message_send)(
                conversation=self.conversation,
                sender=self.scope["user"],
                body=frame.get("body"),
                client_id=frame.get("client_id"),
            )
        except ChatError:
            raise
        except Exception:
            logger.exception("Could not save a message in %s", self.conversation.id)
            raise ChatError("The message could not be saved; send it again.", code="save_failed")
        if not created:
            await self.send(text_data=events.message_event(message)["text"])

    async def chat_message(self, event):
        """A message was saved in this conversation."""
        await self.send(text_data=event["text"])


class NotificationConsumer(BaseConsumer):
    """``ws/notifications/``: messages others send in any of the user's conversations."""

    async def connect(self):
        """Check the token, join the user's group and every conversation group, accept."""
        user = self.scope["user"]
        if not user.is_authenticated:
            return await self.reject(CLOSE_UNAUTHENTICATED)
        self.user_id = str(user.id)
        conversation_ids = await database_sync_to_async(selectors.conversation_ids_for_user)(
            user_id=user.id
        )
        for group in [events.user_group(user.id)] + [
            events.conversation_group(conversation_id) for conversation_id in conversation_ids
        ]:
            await self.channel_layer.group_add(group, self.channel_name)
            self.groups.append(group)
        await self.accept()

    async def chat_message(self, event):
        """A message in one of the user's conversations; their own are skipped."""
        if event["sender_id"] != self.user_id:
            await self.send(text_data=event["notification"])

    async def conversation_created(self, event):
        """The user joined a conversation: follow it from now on."""
        group = events.conversation_group(event["conversation"]["id"])
        await self.channel_layer.group_add(group, self.channel_name)
        self.groups.append(group)
        await self.send(text_data=dumps(event))


class NotFoundConsumer(BaseConsumer):
    """Any other ws/ path: accept and close with 4404 instead of a server error."""

    async def connect(self):
        await self.reject(CLOSE_NOT_FOUND)
