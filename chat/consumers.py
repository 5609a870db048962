"""
WebSocket consumers, the transport only: ``connect`` authorises, ``receive``
parses a frame into a command (chat.realtime.commands) and calls a service,
and event handlers hand events to the socket's session (chat.realtime.session),
which decides what to send. Refusals are accepted, then closed (a close before
accepting reaches the client as a bare HTTP 403): 4401 no valid access token
(or it expired on an open socket), 4403 not a member or no such conversation,
4404 unknown path, 4429 too many sockets for one user, 4503 Redis or
the database failed (try again later). Once open, a
socket outlives a Redis outage: presence is left out, and what its own
commands could not broadcast is still sent to it. The original tutorial
client's socket (``ws/<id>/``) lives as long as its session rather than its
access token, and is told in its own terms about every message it sent that
was not saved. docs/protocol.md has every frame; docs/architecture.md the path.
"""

import asyncio
import logging
import math
import time
from datetime import datetime, timezone
from urllib.parse import parse_qs

from channels.consumer import get_handler_name
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db import DatabaseError

from backend.asyncdb import db, loop_or_db
from core import metrics
from core.errors import ApplicationError, InvalidInput, ServerError, TooManyRequests
from core.outages import CLOSE_TRY_AGAIN, REDIS, REDIS_ERRORS, refuse_socket_for_now
from core.validation import whole_number
from useraccount.middleware import token_from_scope
from useraccount.tokens import SESSION_CLAIM, authenticate_access_token, authenticate_session_token, session_end

from . import fast_send, selectors, services
from .realtime import commands, events, outbox, profiles
from .realtime.groups import conversation_group, room_group, user_group
from .realtime.heartbeat import process_heartbeat
from .realtime.presence import presence_store
from .realtime.ratelimit import configured_rate, rate_limiter
from .realtime.session import NotificationsSession, QuietList, RoomSession
from .realtime.throttle import typing_throttle
from .serializers import sync_result_data, timestamp

logger = logging.getLogger(__name__)

CLOSE_UNAUTHENTICATED, CLOSE_FORBIDDEN, CLOSE_NOT_FOUND, CLOSE_TOO_MANY = 4401, 4403, 4404, 4429
# CLOSE_TRY_AGAIN (4503) is core.outages', shared with TokenAuthMiddleware.
# How a message's frame starts (chat.realtime.events serialises without spaces).
_MESSAGE_FRAME_STARTS = ('{"type":"chat.message",', '{"type":"notification",')
# Each kind's counters, looked up once rather than by label on every frame sent.
_SENT_COUNTERS = {
    profile.name: (metrics.FRAMES_SENT.labels(profile.name), metrics.MESSAGE_DELIVERIES.labels(profile.name))
    for profile in (profiles.RICH, profiles.ORIGINAL, profiles.NOTIFICATIONS)
}


class Consumer(AsyncWebsocketConsumer):
    """What every socket shares: dispatch, refusal, error frames, presence, token expiry."""

    profile: profiles.ClientProfile
    parse = staticmethod(commands.parse_room_frame)
    user = session = _expiry = None
    _ended = _accepted = _came_online = _counted_open = False

    @property
    def watched_user_ids(self) -> tuple[str, ...]:
        """Whose presence the heartbeat should report to this socket (its session says)."""
        return self.session.watched_user_ids if self.session is not None else ()

    async def dispatch(self, message):
        """Call the handler without Channels' per-message thread hop (docs/benchmarks.md)."""
        await getattr(self, get_handler_name(message))(message)

    async def refuse(self, code: int):
        """Accept, then close with ``code`` so the client can read it."""
        await self.accept()
        await self.close(code=code)

    async def send_text(self, text: str):
        """The session's way to send a finished frame."""
        await self.send(text_data=text)

    async def send(self, text_data=None, bytes_data=None, close=False):
        """Every frame to the client goes through here (counted by socket kind, messages apart)."""
        frames, deliveries = _SENT_COUNTERS[self.profile.name]
        frames.inc()
        if text_data is not None and text_data.startswith(_MESSAGE_FRAME_STARTS):
            deliveries.inc()
        await super().send(text_data=text_data, bytes_data=bytes_data, close=close)

    async def close(self, code=None, reason=None):
        """Close, counting the server's close codes (refusals, and sockets whose authority ended)."""
        if code is not None:
            metrics.SOCKET_CLOSES.labels(str(code)).inc()
        await super().close(code=code, reason=reason)

    async def send_error(self, error: ApplicationError, client_id: str | None = None, command=None):
        """An ``error`` frame (about ``command``, when one was parsed); the socket stays open."""
        extra = {"client_id": client_id} if client_id else {}
        await self.send(text_data=events.dumps({"type": "error", **error.as_dict(), **extra}))

    async def join(self, *groups: str):
        """Follow groups; Channels leaves them on disconnect."""
        for group in groups:
            await self.channel_layer.group_add(group, self.channel_name)
            self.groups.append(group)

    async def admit(self) -> bool:
        """
        Before accepting: register the socket under its user unless they
        already have SOCKET_MAX_CONNECTIONS_PER_USER open (on any process).
        """
        user_id = str(self.scope["user"].id)
        admitted, self._came_online = await presence_store().admit(
            user_id, self.channel_name, settings.SOCKET_MAX_CONNECTIONS_PER_USER
        )
        REDIS.succeeded()
        if admitted:
            self.user, self.user_id = self.scope["user"], user_id
        return admitted

    async def open_session(self):
        """After accepting: watch the token's expiry, keep the socket counted, announce the user online."""
        metrics.SOCKET_CONNECTS.labels(self.profile.name).inc()
        metrics.SOCKETS_OPEN.labels(self.profile.name).inc()
        self._counted_open = True
        self._schedule_expiry(self.authority_ends())
        process_heartbeat().add(self)
        if self._came_online:
            await self.announce_presence(online=True)

    async def publish(self, group: str, event: dict) -> bool:
        """Publish an event of this socket's own (presence, typing); False if Redis is unreachable."""
        try:
            await outbox.publish(group, event)
        except REDIS_ERRORS as error:
            REDIS.failed(error)
            return False
        return True

    async def carry_out(self, service, **kwargs):
        """
        Carry out a service and publish what it changed. Events the channel
        layer could not take (Redis down) still reach this socket's client.
        """
        box = outbox.Outbox()
        result = await outbox.run(service, outbox=box, **kwargs)
        for _, event in box.failed:
            await self.dispatch(event)
        return result

    async def carry_out_now(self, service, **kwargs):
        """``carry_out`` for a coroutine that does its own database work and flushes ``box`` (chat.fast_send)."""
        box = outbox.Outbox()
        result = await service(box=box, **kwargs)
        for _, event in box.failed:
            await self.dispatch(event)
        return result

    async def __call__(self, scope, receive, send):
        """Run the consumer; clean up however it ends (closed, crashed, or killed by the server)."""
        try:
            await super().__call__(scope, receive, send)
        except REDIS_ERRORS as error:
            # Redis failed outside a handler (making this socket's channel,
            # joining groups or counting the socket while connecting, or
            # receiving): close with "try again later".
            REDIS.failed(error)
            await refuse_socket_for_now(send, accepted=self._accepted)
        except DatabaseError:
            # The database failed outside a frame's handler (authorising while
            # connecting, catching up): the same, counted as a database error.
            metrics.DATABASE_ERRORS.inc()
            logger.exception("Closed a socket with %s: the database failed", CLOSE_TRY_AGAIN)
            await refuse_socket_for_now(send, accepted=self._accepted)
        finally:
            await asyncio.shield(self.end_session(leave_groups=True))

    async def accept(self, subprotocol=None, headers=None):
        await super().accept(subprotocol, headers)
        self._accepted = True

    async def disconnect(self, code):
        """The socket closed (Channels has left the groups)."""
        await self.end_session(leave_groups=False)

    async def end_session(self, *, leave_groups: bool):
        """Once: stop the timers, leave the groups, count the user offline if this was their last socket."""
        if self._ended:
            return
        self._ended = True
        if self._counted_open:
            metrics.SOCKETS_OPEN.labels(self.profile.name).dec()
        process_heartbeat().discard(self)
        if self._expiry is not None:
            self._expiry.cancel()
        try:
            for group in self.groups if leave_groups and hasattr(self, "channel_name") else ():
                await self.channel_layer.group_discard(group, self.channel_name)
            if self.user is not None and await presence_store().leave(self.user_id, self.channel_name):
                await self.announce_presence(online=False)
        except REDIS_ERRORS as error:  # presence expires by its TTL
            REDIS.failed(error)
        except Exception:
            logger.warning("Could not end the session of %s cleanly", self.channel_name, exc_info=True)

    async def announce_presence(self, *, online: bool):
        """Tell the user's conversations that they came online or went offline."""
        event = events.presence(user_id=self.user_id, online=online)
        # Not in a direct conversation a block closes (docs/protocol.md, "Blocking").
        announced_in = loop_or_db(selectors.presence_conversation_ids_on_loop, selectors.presence_conversation_ids)
        for conversation_id in await announced_in(user_id=self.user.id):
            if not await self.publish(conversation_group(conversation_id), event):
                return

    async def presence_refresh(self, online: set[str], taken_at: float):
        """The heartbeat's snapshot of who was online at ``taken_at``; room sockets use it."""

    def authority_ends(self) -> float:
        """When the socket stops being authorised (a Unix time): its access token's expiry."""
        return self.scope["token"]["exp"]

    async def lose_authority(self):
        """The token expired, or its session was revoked: close with 4401."""
        await self.close(code=CLOSE_UNAUTHENTICATED)

    def _schedule_expiry(self, ends: float):
        if self._expiry is not None:
            self._expiry.cancel()
        lose = lambda: asyncio.ensure_future(self.lose_authority())  # noqa: E731
        self._expiry = asyncio.get_running_loop().call_later(max(0.0, ends - time.time()), lose)

    async def receive(self, text_data=None, bytes_data=None):
        """Parse a frame into a command and carry it out; every failure is an error frame."""
        try:
            frame = commands.decode(text_data)
            command = self.parse(frame)
        except ApplicationError as error:
            return await self.send_error(error)
        try:
            await self.within_rate(command.rate_limit)
            await getattr(self, command.handler)(command)
        except ApplicationError as error:
            await self.send_error(error, commands.client_id_of(frame), command)
        except Exception as error:
            if isinstance(error, DatabaseError):
                metrics.DATABASE_ERRORS.inc()
            # A failure of ours must not kill the consumer: disconnect() would
            # never run, and the user would stay "online" with groups joined.
            logger.exception("Could not handle %s", type(command).__name__)
            error = ServerError("The server could not handle that frame; try again.")
            await self.send_error(error, commands.client_id_of(frame), command)

    async def within_rate(self, action: str):
        """Count a frame against the user's limit for ``action``; over it, refuse it (nothing is done)."""
        rate = configured_rate(settings.SOCKET_RATE_LIMITS[action])
        verdict = await rate_limiter().hit(action, self.user_id, rate=rate)
        if not verdict.allowed:
            metrics.RATE_LIMITED.labels(f"socket_{action}").inc()
            seconds = max(1, math.ceil(verdict.retry_after))
            raise TooManyRequests(f"Too many frames; try again in {seconds} s.", retry_after=seconds)

    async def on_ping(self, command):
        """Keep-alive for clients behind proxies that close quiet sockets."""
        await self.send(text_data='{"type":"pong"}')

    async def on_auth(self, command):
        """A fresh access token for this socket, before the current one expires."""
        found = await db(authenticate_access_token)(command.token)
        if found is None:
            raise InvalidInput("The token is invalid or expired.", code="invalid_token")
        if str(found[0].id) != self.user_id:
            raise InvalidInput("The token belongs to another user.", code="token_user_mismatch")
        self.scope["token"] = claims = found[1]
        self._schedule_expiry(self.authority_ends())
        expires_at = timestamp(datetime.fromtimestamp(claims["exp"], tz=timezone.utc))
        await self.send(text_data=events.dumps({"type": "auth.ok", "expires_at": expires_at}))

    async def deliver(self, event):
        """Any event of the groups followed: the session decides what to send."""
        await self.session.event(event)

    chat_message_updated = chat_message_deleted = chat_read = chat_typing = chat_reaction = unread = presence = deliver
    # The user's blocks and mutes (their group carries them to every socket of theirs).
    block_updated = conversation_muted = deliver

    async def session_revoked(self, event):
        """Logged out, deactivated or a new password: close with 4401 if this socket's session is one of them."""
        if event["user_id"] == self.user_id and event["session"] in (None, self.scope["token"].get(SESSION_CLAIM)):
            await self.lose_authority()

    async def conversation_created(self, event):
        """For notifications sockets (the user's group also carries it to room sockets)."""

    async def conversation_updated(self, event):
        """A group changed (the user's group carries it to every socket of theirs); see the subclasses."""


class RoomConsumer(Consumer):
    """``ws/chat/<conversation_id>/``: one conversation, in seq order, none missing, none twice."""

    profile = profiles.RICH

    async def connect(self):
        """Check the token and membership, join the groups, accept, catch up."""
        if not self.scope["user"].is_authenticated:
            return await self.refuse(CLOSE_UNAUTHENTICATED)
        conversation_id = self.scope["url_route"]["kwargs"]["conversation_id"]
        try:
            room, member_ids, hidden = await loop_or_db(selectors.room_for_user_on_loop, selectors.room_for_user)(
                conversation_id=conversation_id, user=self.scope["user"]
            )
        except ApplicationError:
            return await self.refuse(CLOSE_FORBIDDEN)
        self.conversation = room
        await self.join(conversation_group(room.id), user_group(self.scope["user"].id))
        if self.profile.follows_room:
            await self.join(room_group(room.id))
        # Read after joining and before accepting: every message committed
        # from now on has a greater seq, and its event is already on its way.
        last_seq_of = loop_or_db(selectors.conversation_last_seq_on_loop, selectors.conversation_last_seq)
        last_seq = await last_seq_of(conversation_id=room.id)
        self.session = RoomSession(
            profile=self.profile, viewer_id=str(self.scope["user"].id), member_ids=member_ids,
            delivered=last_seq, send=self.send_text, fetch=self.fetch, drained=self.scope.get("send_drained"),
            hidden=hidden,
        )
        if not await self.admit():
            return await self.refuse(CLOSE_TOO_MANY)
        await self.accept()
        await self.open_session()
        try:
            after = parse_qs(self.scope["query_string"].decode("latin1")).get("after")
            if after:
                await self.session.catch_up(whole_number(after[0], name="after", from_text=True))
        except ApplicationError as error:
            await self.send_error(error)
        try:
            online = await presence_store().online(self.session.watched_user_ids)
        except REDIS_ERRORS as error:
            return REDIS.failed(error)  # no presence.state: the heartbeat reports presence once Redis is back
        await self.session.presence_state(online)

    async def fetch(self, after: int, before: int | None) -> list[tuple[int, str]]:
        """
        A page of history for the session's catch-up and gap filling: at most
        CATCH_UP_PAGE messages and about CATCH_UP_PAGE_BYTES of frames, which
        is what a socket holds while its client reads.
        """
        metrics.CATCH_UP_PAGES.inc()
        messages = await db(selectors.message_list)(
            conversation=self.conversation, after=after, before=before, limit=settings.CATCH_UP_PAGE
        )
        page, size = [], 0
        for message in messages:
            text = events.message_frame(message)
            page.append((message.seq, text))
            size += len(text)
            if size >= settings.CATCH_UP_PAGE_BYTES:
                break
        return page

    async def on_message_send(self, command):
        """Save and publish a message; a resent client_id is acknowledged to the sender only."""
        started = time.perf_counter()
        try:
            if fast_send.available(reply_to=command.reply_to, attachment_ids=command.attachment_ids):
                message, created = await self.carry_out_now(
                    fast_send.message_send, conversation_id=self.conversation.id, sender=self.user,
                    body=command.body, client_id=command.client_id,
                )
            else:
                message, created = await self.carry_out(
                    services.message_send, conversation_id=self.conversation.id, sender=self.user,
                    body=command.body, client_id=command.client_id, reply_to=command.reply_to,
                    attachment_ids=command.attachment_ids,
                )
        except ApplicationError:
            raise
        except Exception as error:
            if isinstance(error, DatabaseError):
                metrics.DATABASE_ERRORS.inc()
            logger.exception("Could not save a message in %s", self.conversation.id)
            raise ServerError("The message could not be saved; send it again.", code="save_failed")
        metrics.SEND_SECONDS.observe(time.perf_counter() - started)
        if not created:
            await self.send(text_data=events.message_frame(message))

    async def on_message_edit(self, command):
        """The author edits a message."""
        await self.carry_out(services.message_edit, conversation_id=self.conversation.id, user=self.user,
                         message_id=command.message_id, body=command.body)

    async def on_message_delete(self, command):
        """The author deletes a message (a tombstone keeps its seq)."""
        await self.carry_out(services.message_delete, conversation_id=self.conversation.id, user=self.user,
                         message_id=command.message_id)

    async def on_reaction(self, command):
        """Add or remove the caller's reaction to a message."""
        service = services.reaction_add if command.added else services.reaction_remove
        await self.carry_out(service, conversation_id=self.conversation.id, user=self.user,
                             message_id=command.message_id, emoji=command.emoji)

    async def on_read(self, command):
        """Record the caller's read position."""
        await self.carry_out(services.conversation_mark_read, conversation_id=self.conversation.id,
                         user=self.user, seq=command.seq)

    async def on_sync(self, command):
        """Resend everything after the client's last seq, then say where it ends."""
        await self.session.catch_up(command.after)
        done = {"type": "sync.done", "last_seq": self.session.cursor.delivered}
        await self.send(text_data=events.dumps(done))

    async def on_typing(self, command):
        """Tell the others, at most once per TYPING_INTERVAL; never stored."""
        if typing_throttle().allow(str(self.conversation.id), self.user_id):
            event = events.typing(user_id=self.user_id, name=self.user.display_name)
            await self.publish(room_group(self.conversation.id), event)

    async def chat_message(self, event):
        """A message was saved: the session sends it in seq order."""
        await self.session.message(event)

    async def conversation_updated(self, event):
        """This room's group changed: close with 4403 if the user was removed, else follow its members."""
        if event["conversation_id"] != str(self.conversation.id):
            return
        if self.user_id in event["removed"]:
            return await self.lose_membership()
        self.session.members_changed(event["member_ids"])

    async def conversation_blocked(self, event):
        """A block between this direct conversation's members was made or lifted: the session hides or shows."""
        await self.session.block_changed(event["user_ids"], event["closed"])

    async def lose_membership(self):
        """Removed from the conversation (or left it): close with 4403."""
        await self.close(code=CLOSE_FORBIDDEN)

    async def presence_refresh(self, online: set[str], taken_at: float):
        """Report presence changes nobody announced (a crashed process's users)."""
        await self.session.presence_snapshot(online, taken_at)


class OriginalClientRoomConsumer(RoomConsumer):
    """
    ``ws/<id>/``: the tutorial client. It shows every frame with a ``name``
    and a ``body`` as a message and ignores the rest, so it gets messages
    only, and errors carry a name and body it shows. It cannot renew a token
    on an open socket, so its socket is authorised by the token's session:
    it stays open past the access token's expiry, reconnects with that token
    while the session lives, and closes at logout, deactivation, a password
    change or the session's end. A refused or ended socket stays open
    ORIGINAL_CLIENT_REFUSAL_GRACE seconds (a setting), answering each
    message the client sends (it queues what the user typed while
    disconnected) with a notice that it was not sent, then closes with its
    code.
    """

    profile = profiles.ORIGINAL
    refused_with: int | None = None
    _session_ends = 0.0
    _grace: asyncio.Task | None = None
    _notices = 0
    REFUSAL_NOTICES = 20
    REFUSALS = {
        CLOSE_UNAUTHENTICATED: ApplicationError(
            "You are signed out (logged out, or the session ended); sign in again.", code="not_authenticated"
        ),
        CLOSE_FORBIDDEN: ApplicationError("You are not in this conversation.", code="not_a_member"),
        CLOSE_TOO_MANY: ApplicationError(
            "You have too many chats open; close one and reload this page.", code="too_many_sockets"
        ),
    }

    async def connect(self):
        """Authorise by the token's session (expired access tokens count while it lives), then as a room."""
        if self.scope["user"].is_authenticated:
            # TokenAuthMiddleware found a valid access token: only its session's end is new.
            ends = await db(session_end)(self.scope["token"])
            found = (self.scope["user"], self.scope["token"], ends) if ends is not None else None
        else:
            raw = token_from_scope(self.scope)
            found = await db(authenticate_session_token)(raw) if raw else None
        if found is None:
            self.scope["user"], self.scope["token"] = AnonymousUser(), None
        else:
            self.scope["user"], self.scope["token"], ends = found
            self._session_ends = ends.timestamp()
        await super().connect()

    async def dispatch(self, message):
        """Once refused, only the socket's own messages (frames, disconnect) are handled."""
        if self.refused_with is None or message["type"].startswith("websocket."):
            await super().dispatch(message)

    def authority_ends(self) -> float:
        """The session's end, not the access token's."""
        return self._session_ends

    async def on_auth(self, command):
        """Nothing to renew here: the socket lasts as long as its session."""
        raise InvalidInput("This path follows the session; use ws/chat/<id>/ to renew tokens.", code="unsupported")

    async def refuse(self, code: int):
        """Accept, tell each message sent in the grace period that it was not sent, then close with ``code``."""
        await self.accept()
        self._refuse_after_grace(code)

    async def lose_authority(self):
        """Leave the rooms and presence at once, then refuse like a connect would."""
        await self.end_session(leave_groups=True)
        self._refuse_after_grace(CLOSE_UNAUTHENTICATED)

    async def lose_membership(self):
        """Removed from the conversation: leave at once, then refuse like a connect would (4403)."""
        await self.end_session(leave_groups=True)
        self._refuse_after_grace(CLOSE_FORBIDDEN)

    def _refuse_after_grace(self, code: int):
        self.refused_with = code
        self._grace = asyncio.ensure_future(self._close_after_grace())

    async def _close_after_grace(self):
        await asyncio.sleep(settings.ORIGINAL_CLIENT_REFUSAL_GRACE)
        await self.close(code=self.refused_with)

    async def receive(self, text_data=None, bytes_data=None):
        """While refused: answer each message with a notice (at most REFUSAL_NOTICES), saving nothing."""
        if self.refused_with is None:
            return await super().receive(text_data, bytes_data)
        self._notices += 1
        if self._notices > self.REFUSAL_NOTICES:
            self._grace.cancel()
            return await self.close(code=self.refused_with)
        try:
            frame = commands.decode(text_data)
            command = self.parse(frame)
        except ApplicationError:
            return
        if isinstance(command, commands.SendMessage):
            await self.send_error(self.REFUSALS[self.refused_with], commands.client_id_of(frame), command)

    async def send_error(self, error: ApplicationError, client_id: str | None = None, command=None):
        """An error frame the tutorial client shows, quoting the message it is about."""
        body = command.body if isinstance(command, commands.SendMessage) else None
        await self.send(text_data=events.original_client_error(error.as_dict(), client_id=client_id, body=body))

    async def disconnect(self, code):
        """The socket closed: no grace left to wait out."""
        if self._grace is not None:
            self._grace.cancel()
        await super().disconnect(code)


class NotificationsConsumer(Consumer):
    """``ws/notifications/``: one user's feed across all their conversations."""

    profile = profiles.NOTIFICATIONS
    parse = staticmethod(commands.parse_notifications_frame)

    async def connect(self):
        """Check the token, join the user's group and their conversations' groups, accept."""
        user = self.scope["user"]
        if not user.is_authenticated:
            return await self.refuse(CLOSE_UNAUTHENTICATED)
        conversation_ids = await db(selectors.conversation_ids_for_user)(user_id=user.id)
        await self.join(user_group(user.id), *map(conversation_group, conversation_ids))
        # Read after joining: a block or mute from now on arrives as an event.
        blocked, muted = await db(selectors.quiet_list)(user=user)
        self.session = NotificationsSession(
            profile=self.profile, viewer_id=str(user.id), send=self.send_text,
            quiet=QuietList(blocked=blocked, muted=muted),
        )
        if not await self.admit():
            return await self.refuse(CLOSE_TOO_MANY)
        await self.accept()
        await self.open_session()

    async def on_sync(self, command):
        """What changed since the client's per-conversation seqs, a page of conversations per frame."""
        def result():
            return sync_result_data(*selectors.changes_since(
                user=self.user, known=command.known, limit=settings.SYNC_MESSAGES_PER_CONVERSATION,
                max_conversations=settings.SYNC_PAGE_CONVERSATIONS, max_body_chars=settings.SYNC_PAGE_BODY_CHARS,
            ))

        await self.send(text_data=events.dumps(await db(result)()))

    _left: set[str] = frozenset()

    async def deliver(self, event):
        """Nothing more of a conversation the user has left, however late the layer stops sending it."""
        if event.get("conversation_id") not in self._left:
            await self.session.event(event)

    chat_message = chat_message_updated = chat_message_deleted = unread = block_updated = conversation_muted = deliver

    async def conversation_created(self, event):
        """The user joined a conversation: follow it from now on."""
        await self.join(conversation_group(event["conversation_id"]))
        await self.session.event(event)

    async def conversation_updated(self, event):
        """A group changed: follow it if the user was added, stop if they were removed, and say so."""
        conversation_id, group = event["conversation_id"], conversation_group(event["conversation_id"])
        if self.user_id in event["added"]:
            self._left = self._left - {conversation_id}
            if group not in self.groups:
                await self.join(group)
        elif self.user_id in event["removed"]:
            self._left = self._left | {conversation_id}
            if group in self.groups:
                self.groups.remove(group)
                await self.channel_layer.group_discard(group, self.channel_name)
        await self.session.event(event)


class NotFoundConsumer(Consumer):
    """Any other ws/ path: accept and close with 4404 instead of a server error."""

    async def connect(self):
        """Refuse with 4404."""
        await self.refuse(CLOSE_NOT_FOUND)
