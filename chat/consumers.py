"""
WebSocket consumers: a conversation's room and a user's notifications.

Thin by design: ``connect`` authenticates (TokenAuthMiddleware has set
``scope["user"]``) and authorises, ``receive`` parses a frame and dispatches
it to an ``on_<type>`` method that calls a service, and the event handlers
only send. Close codes: 4401 no valid access token (or it expired on an open
socket), 4403 not a member or no such conversation, 4404 unknown path; all
sent after accepting, since a close before accepting reaches the client as
HTTP 403 with no code. docs/protocol.md describes every frame.
"""

import asyncio
import logging
import time
from datetime import datetime, timezone
from urllib.parse import parse_qs

from channels.generic.websocket import AsyncWebsocketConsumer
from channels.consumer import get_handler_name
from django.conf import settings

from backend.asyncdb import db
from useraccount.tokens import authenticate_access_token

from . import events, selectors, services
from .errors import ChatError, InvalidInput
from .events import dumps
from .presence import presence
from .protocol import parse_client_frame
from .serializers import conversation_data, message_data, timestamp

logger = logging.getLogger(__name__)

CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_NOT_FOUND = 4404

# Last relayed typing notice per (conversation, user), for TYPING_INTERVAL.
_last_typing: dict[tuple[str, str], float] = {}


def _whole_number(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidInput(f"{name} must be a whole number, 0 or more.", code=f"invalid_{name}")
    return value


def _after_from_query(scope) -> int | None:
    """The ``?after=<seq>`` of a room URL, None when absent."""
    values = parse_qs(scope.get("query_string", b"").decode("latin1")).get("after")
    if not values:
        return None
    if not (values[0].isascii() and values[0].isdigit()):
        raise InvalidInput("after must be a whole number, 0 or more.", code="invalid_after")
    return int(values[0])


class Heartbeat:
    """
    Refreshes the presence of every open socket of this process, every
    PRESENCE_HEARTBEAT seconds, in one round trip to the presence store, then
    hands room sockets the members online so they can report changes nobody
    announced. One task per process, not one per socket: idle sockets stay
    small and Redis sees one pipeline per beat.
    """

    def __init__(self):
        self.sockets: set = set()
        self.task: asyncio.Task | None = None

    def add(self, consumer):
        self.sockets.add(consumer)
        if self.task is None or self.task.done():
            self.task = asyncio.ensure_future(self._beat())

    def discard(self, consumer):
        self.sockets.discard(consumer)
        if not self.sockets and self.task is not None:
            self.task.cancel()
            self.task = None

    async def _beat(self):
        while True:
            await asyncio.sleep(settings.PRESENCE_HEARTBEAT)
            sockets = list(self.sockets)
            try:
                await presence.refresh([(s.user_id, s.channel_name) for s in sockets])
                taken_at = time.monotonic()
                online = await presence.online({u for s in sockets for u in s.member_ids})
            except Exception:
                logger.warning("Presence heartbeat failed", exc_info=True)
                continue
            for socket in sockets:
                if socket in self.sockets:  # not closed meanwhile
                    try:
                        await socket.presence_refresh(online, taken_at)
                    except Exception:  # the client went away mid-send
                        logger.debug("Presence refresh failed", exc_info=True)


heartbeat = Heartbeat()


class BaseConsumer(AsyncWebsocketConsumer):
    """Shared plumbing: close codes, error frames, dispatch, presence, token expiry."""

    user = None
    _expiry = None

    async def dispatch(self, message):
        """
        Call the handler for ``message``, without Channels' per-message
        ``aclose_old_connections``: that hop to the one thread-sensitive worker
        thread ran before every frame and every group event, so a room of 20
        queued 20 thread hops per message through one thread (the bottleneck
        in docs/benchmarks.md). These consumers never touch the ORM on the
        event loop; their queries run through backend.asyncdb.db, which closes
        stale connections around each call itself.
        """
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def reject(self, code: int):
        """Accept, then close with ``code`` so the client can read it."""
        await self.accept()
        await self.close(code=code)

    async def send_error(self, error: ChatError, **extra):
        await self.send(
            text_data=dumps({"type": "error", "code": error.code, "detail": error.detail, **extra})
        )

    async def join(self, group: str):
        await self.channel_layer.group_add(group, self.channel_name)
        self.groups.append(group)

    # --- Session: presence heartbeats and token expiry ------------------------

    async def start_session(self):
        """After accepting: count the user online and watch the token's expiry."""
        self.user = self.scope["user"]
        self.user_id = str(self.user.id)
        self._schedule_expiry(self.scope["token"]["exp"])
        if await presence.touch(self.user_id, self.channel_name):
            await self.broadcast_presence(online=True)
        heartbeat.add(self)

    async def disconnect(self, code):
        """Stop the session's timers and count the user offline if it was their last socket."""
        heartbeat.discard(self)
        if self._expiry is not None:
            self._expiry.cancel()
        if self.user is not None and await presence.leave(self.user_id, self.channel_name):
            await self.broadcast_presence(online=False)

    async def broadcast_presence(self, *, online: bool):
        conversation_ids = await db(selectors.conversation_ids_for_user)(
            user_id=self.user.id
        )
        event = events.presence_event(user_id=self.user_id, online=online)
        for conversation_id in conversation_ids:
            await self.channel_layer.group_send(events.conversation_group(conversation_id), event)

    member_ids: list[str] = []

    async def presence_refresh(self, online: set[str], taken_at: float):
        """Called every heartbeat with who was online at ``taken_at``; see ChatConsumer."""

    def _schedule_expiry(self, exp: int):
        if self._expiry is not None:
            self._expiry.cancel()
        delay = max(0.0, exp - time.time())
        self._expiry = asyncio.get_running_loop().call_later(
            delay, lambda: asyncio.ensure_future(self.close(code=CLOSE_UNAUTHENTICATED))
        )

    # --- Client frames ----------------------------------------------------------

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
        client_id = frame.get("client_id")
        extra = {"client_id": client_id} if isinstance(client_id, str) and client_id else {}
        try:
            await handler(frame)
        except ChatError as error:
            await self.send_error(error, **extra)
        except Exception:
            # A failure of ours must not kill the consumer: disconnect() would
            # never run, leaving the user "online" and the groups joined.
            logger.exception("Could not handle a %r frame", frame["type"])
            await self.send_error(
                ChatError("The server could not handle that frame; try again.", code="server_error"),
                **extra,
            )

    async def on_ping(self, frame):
        """Keep-alive for clients behind proxies that close quiet sockets."""
        await self.send(text_data='{"type":"pong"}')

    async def on_auth(self, frame):
        """A fresh access token for this socket, before the current one expires."""
        found = await db(authenticate_access_token)(str(frame.get("token") or ""))
        if found is None:
            raise InvalidInput("The token is invalid or expired.", code="invalid_token")
        user, claims = found
        if str(user.id) != self.user_id:
            raise InvalidInput("The token belongs to another user.", code="token_user_mismatch")
        self.scope["token"] = claims
        self._schedule_expiry(claims["exp"])
        expires_at = timestamp(datetime.fromtimestamp(claims["exp"], tz=timezone.utc))
        await self.send(text_data=dumps({"type": "auth.ok", "expires_at": expires_at}))


class ChatConsumer(BaseConsumer):
    """
    ``ws/chat/<conversation_id>/`` and ``ws/<conversation_id>/``: one room.

    Messages reach the socket in seq order with none missing and none twice:
    ``delivered`` is the last seq sent, a repeat is skipped and a jump (a frame
    the channel layer dropped, or two processes' frames crossing) is filled
    from the database before the new frame goes out.

    ``rich`` is False on the original tutorial path ``ws/<id>/``: that client
    shows every frame it gets as a message, so it gets only messages and errors.
    """

    rich = True
    conversation = None
    delivered = 0

    async def connect(self):
        """Check the token and membership, join the room group, accept, catch up."""
        if not self.scope["user"].is_authenticated:
            return await self.reject(CLOSE_UNAUTHENTICATED)
        try:
            self.conversation, self.member_ids = await db(selectors.room_for_user)(
                conversation_id=self.scope["url_route"]["kwargs"]["conversation_id"],
                user=self.scope["user"],
            )
        except ChatError:
            return await self.reject(CLOSE_FORBIDDEN)
        await self.join(events.conversation_group(self.conversation.id))
        # Read after joining the group and before accepting: every message
        # committed once the client is connected has a seq above this, and
        # its event is already queued for this socket.
        self.delivered = await db(selectors.conversation_last_seq)(
            conversation_id=self.conversation.id
        )
        self.online_members: set[str] = set()
        self.presence_announced_at: dict[str, float] = {}
        await self.accept()
        await self.start_session()
        try:
            after = _after_from_query(self.scope)
        except ChatError as error:
            await self.send_error(error)
            after = None
        if after is not None:
            await self.catch_up(after)
        if self.rich:
            self.online_members = await presence.online(self.member_ids)
            await self.send(
                text_data=dumps({"type": "presence.state", "online": sorted(self.online_members)})
            )

    async def catch_up(self, after: int, before: int | None = None):
        """Send every message after ``after`` (and below ``before``) in seq order."""
        last_sent = self.delivered
        while True:
            page = await db(selectors.message_list)(
                conversation=self.conversation, after=after, before=before, limit=settings.CATCH_UP_PAGE
            )
            for message in page:
                await self.send(text_data=events.message_event(message)["text"])
            if not page:
                break
            after = page[-1].seq
            last_sent = max(last_sent, after)
        self.delivered = last_sent

    # --- Client frames ------------------------------------------------------------

    async def on_message_send(self, frame):
        """Save and broadcast a message; a resent client_id is acknowledged only."""
        try:
            message, created = await events.run_and_broadcast(
                services.message_send,
                conversation=self.conversation,
                sender=self.user,
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

    async def on_sync(self, frame):
        """Resend everything after the client's last seq, then say where it ends."""
        await self.catch_up(_whole_number(frame.get("after"), "after"))
        await self.send(text_data=dumps({"type": "sync.done", "last_seq": self.delivered}))

    async def on_read(self, frame):
        """Record the caller's read position."""
        await events.run_and_broadcast(
            services.conversation_mark_read,
            conversation=self.conversation, user=self.user, seq=_whole_number(frame.get("seq"), "seq")
        )

    async def on_typing(self, frame):
        """Tell the others the caller is typing, at most once per TYPING_INTERVAL."""
        key = (str(self.conversation.id), self.user_id)
        now = time.monotonic()
        if now - _last_typing.get(key, -1e9) < settings.TYPING_INTERVAL:
            return
        if len(_last_typing) > 10_000:  # forget stale entries so the dict stays small
            for stale in [k for k, t in _last_typing.items() if now - t >= settings.TYPING_INTERVAL]:
                del _last_typing[stale]
        _last_typing[key] = now
        await self.channel_layer.group_send(
            events.conversation_group(self.conversation.id),
            events.typing_event(user_id=self.user_id, name=self.user.display_name),
        )

    async def on_message_edit(self, frame):
        """The author edits a message."""
        await events.run_and_broadcast(
            services.message_edit,
            conversation=self.conversation, user=self.user,
            message_id=frame.get("message_id"), body=frame.get("body"),
        )

    async def on_message_delete(self, frame):
        """The author deletes a message."""
        await events.run_and_broadcast(
            services.message_delete,
            conversation=self.conversation, user=self.user, message_id=frame.get("message_id")
        )

    async def presence_refresh(self, online: set[str], taken_at: float):
        """Catch presence changes nobody announced (a crashed process's users)."""
        if not self.rich:
            return
        for user_id in online.intersection(self.member_ids) ^ self.online_members:
            if self.presence_announced_at.get(user_id, 0.0) > taken_at:
                continue  # an announcement newer than the snapshot wins
            now_online = user_id in online
            if now_online:
                self.online_members.add(user_id)
            else:
                self.online_members.discard(user_id)
            await self.send(text_data=events.presence_event(user_id=user_id, online=now_online)["text"])

    # --- Events -------------------------------------------------------------------

    async def chat_message(self, event):
        """A message was saved in this conversation."""
        seq = event["seq"]
        if seq <= self.delivered:
            return
        if seq > self.delivered + 1:
            await self.catch_up(self.delivered, before=seq)
        await self.send(text_data=event["text"])
        self.delivered = seq

    async def chat_message_updated(self, event):
        """A message was edited."""
        if self.rich:
            await self.send(text_data=event["text"])

    chat_message_deleted = chat_message_updated

    async def chat_read(self, event):
        """A member read up to a seq."""
        if self.rich:
            await self.send(text_data=event["text"])

    async def chat_typing(self, event):
        """Another member is typing."""
        if self.rich and event["user_id"] != self.user_id:
            await self.send(text_data=event["text"])

    async def presence(self, event):
        """A member came online or went offline."""
        if not self.rich:
            return
        self.presence_announced_at[event["user_id"]] = time.monotonic()
        if event["online"]:
            self.online_members.add(event["user_id"])
        else:
            self.online_members.discard(event["user_id"])
        await self.send(text_data=event["text"])


class OriginalClientChatConsumer(ChatConsumer):
    """``ws/<id>/``: that client shows every frame as a message, so it gets messages and errors only."""

    rich = False


class NotificationConsumer(BaseConsumer):
    """
    ``ws/notifications/``: one user's feed across all their conversations:
    messages others send, edits and deletions, unread counts, new
    conversations, and contacts' presence. ``sync`` catches up after sleep.
    """

    async def connect(self):
        """Check the token, join the user's group and every conversation group, accept."""
        user = self.scope["user"]
        if not user.is_authenticated:
            return await self.reject(CLOSE_UNAUTHENTICATED)
        conversation_ids = await db(selectors.conversation_ids_for_user)(
            user_id=user.id
        )
        await self.join(events.user_group(user.id))
        for conversation_id in conversation_ids:
            await self.join(events.conversation_group(conversation_id))
        await self.accept()
        await self.start_session()
        self.presence_known: dict[str, bool] = {}

    async def on_sync(self, frame):
        """What changed since the client's per-conversation last seqs, in one frame."""
        known = frame.get("conversations", {})
        if not isinstance(known, dict) or not all(
            isinstance(seq, int) and not isinstance(seq, bool) and seq >= 0 for seq in known.values()
        ):
            raise InvalidInput(
                '"conversations" must map conversation ids to seqs.', code="invalid_conversations"
            )
        result = await db(_sync_result)(user=self.user, known=known)
        await self.send(text_data=dumps(result))

    async def chat_message(self, event):
        """A message in one of the user's conversations; their own are skipped."""
        if event["sender_id"] != self.user_id:
            await self.send(text_data=event["notification"])

    async def chat_message_updated(self, event):
        """A message was edited or deleted in one of the user's conversations."""
        await self.send(text_data=event["text"])

    chat_message_deleted = chat_message_updated

    async def chat_read(self, event):
        """Read positions go to room sockets only."""

    async def chat_typing(self, event):
        """Typing goes to room sockets only."""

    async def unread(self, event):
        """The user's unread count changed (they read on some device)."""
        await self.send(text_data=event["text"])

    async def presence(self, event):
        """A contact came online or went offline (once, however many rooms are shared)."""
        user_id = event["user_id"]
        if user_id != self.user_id and self.presence_known.get(user_id) != event["online"]:
            self.presence_known[user_id] = event["online"]
            await self.send(text_data=event["text"])

    async def conversation_created(self, event):
        """The user joined a conversation: follow it from now on."""
        await self.join(events.conversation_group(event["conversation"]["id"]))
        await self.send(text_data=dumps(event))


SYNC_MESSAGES_PER_CONVERSATION = 50


def _sync_result(*, user, known: dict) -> dict:
    """The notifications socket's ``sync.result`` frame (runs in a worker thread)."""
    conversations = []
    unread_total = 0
    for conversation in selectors.conversation_list(user=user):
        unread_total += conversation.unread_count
        after = known.get(str(conversation.id), 0)
        if str(conversation.id) in known and conversation.last_seq <= after:
            continue
        messages = selectors.message_list(
            conversation=conversation, after=after, limit=SYNC_MESSAGES_PER_CONVERSATION + 1
        )
        conversations.append(
            {
                "conversation": conversation_data(conversation),
                "unread_count": conversation.unread_count,
                "messages": [message_data(m) for m in messages[:SYNC_MESSAGES_PER_CONVERSATION]],
                "has_more": len(messages) > SYNC_MESSAGES_PER_CONVERSATION,
            }
        )
    return {"type": "sync.result", "conversations": conversations, "unread_total": unread_total}


class NotFoundConsumer(BaseConsumer):
    """Any other ws/ path: accept and close with 4404 instead of a server error."""

    async def connect(self):
        await self.reject(CLOSE_NOT_FOUND)
