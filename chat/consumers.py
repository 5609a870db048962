"""
WebSocket consumers: the transport only. ``connect`` authorises, ``receive``
parses a frame into a command (chat.realtime.commands) and calls a service,
and the event handlers ask the client profile and the socket's session
(chat.realtime.profiles, .session) what to send. Close codes: 4401 no valid
access token (or it expired on an open socket), 4403 not a member or no such
conversation, 4404 unknown path; all sent after accepting, since a close
before accepting reaches the client as HTTP 403 with no code.
docs/protocol.md describes every frame; docs/architecture.md the whole path.
"""

import asyncio
import logging
import time
from datetime import datetime, timezone
from urllib.parse import parse_qs

from channels.consumer import get_handler_name
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from backend.asyncdb import db
from core.errors import ApplicationError, InvalidInput, ServerError
from core.validation import whole_number
from useraccount.tokens import authenticate_access_token

from . import selectors, services
from .realtime import commands, events, outbox, profiles
from .realtime.groups import conversation_group, room_group, user_group
from .realtime.heartbeat import process_heartbeat
from .realtime.presence import presence_store
from .realtime.session import ContactPresence, DeliveryCursor, RoomPresence
from .realtime.throttle import typing_throttle
from .serializers import sync_result_data, timestamp

logger = logging.getLogger(__name__)

CLOSE_UNAUTHENTICATED, CLOSE_FORBIDDEN, CLOSE_NOT_FOUND = 4401, 4403, 4404
SYNC_MESSAGES_PER_CONVERSATION = 50


class Consumer(AsyncWebsocketConsumer):
    """What every socket shares: dispatch, refusals, errors, presence and token expiry."""

    profile: profiles.ClientProfile
    parse = staticmethod(commands.parse_room_frame)
    user = None
    watched_user_ids: frozenset[str] = frozenset()
    _expiry = None

    async def dispatch(self, message):
        """Call the handler without Channels' per-message thread hop (docs/benchmarks.md)."""
        await getattr(self, get_handler_name(message))(message)

    async def refuse(self, code: int):
        """Accept, then close with ``code`` so the client can read it."""
        await self.accept()
        await self.close(code=code)

    async def send_error(self, error: ApplicationError, client_id: str | None = None):
        extra = {"client_id": client_id} if client_id else {}
        await self.send(text_data=events.dumps({"type": "error", **error.as_dict(), **extra}))

    async def join(self, group: str):
        await self.channel_layer.group_add(group, self.channel_name)
        self.groups.append(group)

    async def open_session(self):
        """After accepting: watch the token's expiry and count the user online."""
        self.user = self.scope["user"]
        self.user_id = str(self.user.id)
        self._schedule_expiry(self.scope["token"]["exp"])
        if await presence_store().touch(self.user_id, self.channel_name):
            await self.announce_presence(online=True)
        process_heartbeat().add(self)

    async def disconnect(self, code):
        """Stop the timers; count the user offline if this was their last socket."""
        process_heartbeat().discard(self)
        if self._expiry is not None:
            self._expiry.cancel()
        if self.user is not None and await presence_store().leave(self.user_id, self.channel_name):
            await self.announce_presence(online=False)

    async def announce_presence(self, *, online: bool):
        event = events.presence(user_id=self.user_id, online=online)
        for conversation_id in await db(selectors.conversation_ids_for_user)(user_id=self.user.id):
            await outbox.publish(conversation_group(conversation_id), event)

    async def presence_refresh(self, online: set[str], taken_at: float):
        """Every heartbeat: who was online at ``taken_at``. Only room sockets use it."""

    def _schedule_expiry(self, exp: int):
        if self._expiry is not None:
            self._expiry.cancel()
        self._expiry = asyncio.get_running_loop().call_later(
            max(0.0, exp - time.time()),
            lambda: asyncio.ensure_future(self.close(code=CLOSE_UNAUTHENTICATED)),
        )

    async def receive(self, text_data=None, bytes_data=None):
        """Parse a frame into a command and carry it out; any failure becomes an error frame."""
        try:
            frame = commands.decode(text_data)
            command = self.parse(frame)
        except ApplicationError as error:
            return await self.send_error(error)
        try:
            await getattr(self, command.handler)(command)
        except ApplicationError as error:
            await self.send_error(error, commands.client_id_of(frame))
        except Exception:
            # Never let a failure of ours kill the consumer: disconnect() would
            # not run, and the user would stay "online" with groups joined.
            logger.exception("Could not handle %s", type(command).__name__)
            error = ServerError("The server could not handle that frame; try again.")
            await self.send_error(error, commands.client_id_of(frame))

    async def on_ping(self, command):
        await self.send(text_data='{"type":"pong"}')

    async def on_auth(self, command):
        """A fresh access token for this socket, before the current one expires."""
        found = await db(authenticate_access_token)(command.token)
        if found is None:
            raise InvalidInput("The token is invalid or expired.", code="invalid_token")
        if str(found[0].id) != self.user_id:
            raise InvalidInput("The token belongs to another user.", code="token_user_mismatch")
        self.scope["token"] = claims = found[1]
        self._schedule_expiry(claims["exp"])
        expires_at = timestamp(datetime.fromtimestamp(claims["exp"], tz=timezone.utc))
        await self.send(text_data=events.dumps({"type": "auth.ok", "expires_at": expires_at}))

    async def deliver(self, event):
        """Send an event's frame if this client wants it."""
        if self.profile.accepts(event, viewer_id=self.user_id):
            await self.send(text_data=event["text"])

    chat_message_updated = chat_message_deleted = chat_read = chat_typing = unread = deliver


class RoomConsumer(Consumer):
    """``ws/chat/<conversation_id>/``: one conversation, in seq order, none missing, none twice."""

    profile = profiles.RICH

    async def connect(self):
        """Check the token and membership, join the groups, accept, catch up."""
        if not self.scope["user"].is_authenticated:
            return await self.refuse(CLOSE_UNAUTHENTICATED)
        try:
            conversation, member_ids = await db(selectors.room_for_user)(
                conversation_id=self.scope["url_route"]["kwargs"]["conversation_id"],
                user=self.scope["user"],
            )
        except ApplicationError:
            return await self.refuse(CLOSE_FORBIDDEN)
        self.conversation = conversation
        self.presence_view = RoomPresence(member_ids)
        if self.profile.sees_presence:
            self.watched_user_ids = self.presence_view.member_ids
        await self.join(conversation_group(conversation.id))
        if self.profile.follows_room:
            await self.join(room_group(conversation.id))
        # Read after joining and before accepting: every message committed
        # from now on has a greater seq, and its event is already on its way.
        last_seq = await db(selectors.conversation_last_seq)(conversation_id=conversation.id)
        self.cursor = DeliveryCursor(last_seq)
        await self.accept()
        await self.open_session()
        try:
            after = self._after_from_query()
        except ApplicationError as error:
            await self.send_error(error)
            after = None
        if after is not None:
            await self.catch_up(after)
        if self.profile.sees_presence:
            online = self.presence_view.start(await presence_store().online(member_ids))
            await self.send(text_data=events.dumps({"type": "presence.state", "online": online}))

    def _after_from_query(self) -> int | None:
        values = parse_qs(self.scope.get("query_string", b"").decode("latin1")).get("after")
        return whole_number(values[0], name="after", from_text=True) if values else None

    async def catch_up(self, after: int, before: int | None = None):
        """Send every message after ``after`` (and below ``before``) in seq order."""
        while page := await db(selectors.message_list)(
            conversation=self.conversation, after=after, before=before, limit=settings.CATCH_UP_PAGE
        ):
            for message in page:
                await self.send(text_data=events.message_frame(message))
            after = page[-1].seq
            self.cursor.advance(after)

    async def on_message_send(self, command):
        """Save and publish a message; a resent client_id is acknowledged to the sender only."""
        try:
            message, created = await outbox.run(
                services.message_send, conversation_id=self.conversation.id, sender=self.user,
                body=command.body, client_id=command.client_id,
            )
        except ApplicationError:
            raise
        except Exception:
            logger.exception("Could not save a message in %s", self.conversation.id)
            raise ServerError("The message could not be saved; send it again.", code="save_failed")
        if not created:
            await self.send(text_data=events.message_frame(message))

    async def on_message_edit(self, command):
        await outbox.run(services.message_edit, conversation_id=self.conversation.id, user=self.user,
                         message_id=command.message_id, body=command.body)

    async def on_message_delete(self, command):
        await outbox.run(services.message_delete, conversation_id=self.conversation.id, user=self.user,
                         message_id=command.message_id)

    async def on_read(self, command):
        await outbox.run(services.conversation_mark_read, conversation_id=self.conversation.id,
                         user=self.user, seq=command.seq)

    async def on_sync(self, command):
        """Resend everything after the client's last seq, then say where it ends."""
        await self.catch_up(command.after)
        await self.send(text_data=events.dumps({"type": "sync.done", "last_seq": self.cursor.delivered}))

    async def on_typing(self, command):
        """Tell the others, at most once per TYPING_INTERVAL; typing is never stored."""
        if typing_throttle().allow(str(self.conversation.id), self.user_id):
            event = events.typing(user_id=self.user_id, name=self.user.display_name)
            await outbox.publish(room_group(self.conversation.id), event)

    async def chat_message(self, event):
        """A message was saved: fill any gap before it, skip it if already sent."""
        missing = self.cursor.missing_before(event["seq"])
        if missing is None:
            return
        if missing:
            await self.catch_up(missing.start - 1, before=missing.stop)
        await self.send(text_data=event["text"])
        self.cursor.advance(event["seq"])

    async def presence(self, event):
        if self.profile.accepts(event, viewer_id=self.user_id):
            self.presence_view.announce(event["user_id"], event["online"])
            await self.send(text_data=event["text"])

    async def presence_refresh(self, online: set[str], taken_at: float):
        for user_id, now_online in self.presence_view.reconcile(online, taken_at):
            await self.send(text_data=events.presence(user_id=user_id, online=now_online)["text"])


class OriginalClientRoomConsumer(RoomConsumer):
    """``ws/<id>/``: the tutorial client shows every frame as a message, so it gets messages only."""

    profile = profiles.ORIGINAL


class NotificationsConsumer(Consumer):
    """``ws/notifications/``: one user's feed across all their conversations."""

    profile = profiles.NOTIFICATIONS
    parse = staticmethod(commands.parse_notifications_frame)

    async def connect(self):
        """Check the token, join the user's group and their conversations' groups, accept."""
        if not self.scope["user"].is_authenticated:
            return await self.refuse(CLOSE_UNAUTHENTICATED)
        conversation_ids = await db(selectors.conversation_ids_for_user)(user_id=self.scope["user"].id)
        await self.join(user_group(self.scope["user"].id))
        for conversation_id in conversation_ids:
            await self.join(conversation_group(conversation_id))
        self.contacts = ContactPresence()
        await self.accept()
        await self.open_session()

    async def on_sync(self, command):
        """What changed since the client's per-conversation seqs, in one frame."""

        def result():
            limit = SYNC_MESSAGES_PER_CONVERSATION
            return sync_result_data(*selectors.changes_since(user=self.user, known=command.known, limit=limit))

        await self.send(text_data=events.dumps(await db(result)()))

    async def chat_message(self, event):
        if self.profile.accepts(event, viewer_id=self.user_id):
            await self.send(text_data=event["notification"])

    async def presence(self, event):
        """Once per change, however many conversations are shared."""
        wanted = self.profile.accepts(event, viewer_id=self.user_id)
        if wanted and self.contacts.changed(event["user_id"], event["online"]):
            await self.send(text_data=event["text"])

    async def conversation_created(self, event):
        """The user joined a conversation: follow it from now on."""
        await self.join(conversation_group(event["conversation_id"]))
        await self.deliver(event)


class NotFoundConsumer(Consumer):
    """Any other ws/ path: accept and close with 4404 instead of a server error."""

    async def connect(self):
        await self.refuse(CLOSE_NOT_FOUND)
