"""
WebSocket consumers, the transport only (docs/protocol.md has every frame,
docs/architecture.md the path): ``connect`` authorises, ``receive`` parses a
frame into a command (chat.realtime.commands) and carries out a service
(``Consumer.carry_out``), and event handlers hand events to the socket's
session (chat.realtime.session), which decides what to send. Refusals are
accepted, then closed (a close before accepting reaches the client as a bare
HTTP 403): 4401 no valid access token (or it expired on an open socket),
4403 not a member or no such conversation, 4404 unknown path, 4429 too many
sockets for one user, 4503 Redis or the database failed (try again later).
Once open, a socket outlives a Redis outage: presence is left out, and what
its own commands could not broadcast is still sent to it.
"""

import asyncio
import logging
import math
import time
from datetime import datetime, timezone

from channels.consumer import get_handler_name
from channels.exceptions import StopConsumer
from channels.layers import get_channel_layer
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.db import DatabaseError

from chat.conversations.selectors import (
    presence_conversation_ids,
    presence_conversation_ids_on_loop,
)
from chat.messages.serializers import timestamp
from chat.realtime import commands, events, profiles
from chat.realtime.announcer import process_announcer
from chat.realtime.heartbeat import process_heartbeat
from chat.realtime.presence import Admission, presence_store
from chat.realtime.ratelimit import rate_limiter
from core import metrics, outbox
from core.errors import ApplicationError, InvalidInput, ServerError, TooManyRequests
from core.outages import CLOSE_TRY_AGAIN, REDIS, REDIS_ERRORS, database_failed, refuse_socket_for_now
from core.rates import configured_rate
from core.runtime.asyncdb import db, loop_or_db
from core.runtime.lean_queue import LeanQueue
from useraccount.sessions import session_touch, socket_touches
from useraccount.tokens import SESSION_CLAIM, authenticate_access_token

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
        """Leave the groups joined while connecting, accept, then close with ``code`` so the client can read it."""
        await self.leave_groups()
        await self.accept()
        await self.close(code=code)

    async def leave_groups(self):
        groups, self.groups = self.groups, []
        for group in groups:
            await self.channel_layer.group_discard(group, self.channel_name)

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

    async def admit(self, watch=()) -> Admission:
        """
        Before accepting: register the socket under its user unless they
        already have SOCKET_MAX_CONNECTIONS_PER_USER open (on any process),
        and read who of ``watch`` is online, in one round trip.
        """
        user_id = str(self.scope["user"].id)
        admission = await presence_store().admit(
            user_id, self.channel_name, settings.SOCKET_MAX_CONNECTIONS_PER_USER, watch=watch
        )
        REDIS.succeeded()
        self._came_online = admission.came_online
        if admission.admitted:
            self.user, self.user_id = self.scope["user"], user_id
        return admission

    async def open_session(self, announced_in=None, session_noted=False):
        """
        After accepting: watch the token's expiry, keep the socket counted,
        note the session's use (unless ``session_noted`` already), announce
        the user online (in ``announced_in``, when already read).
        """
        metrics.SOCKET_CONNECTS.labels(self.profile.name).inc()
        metrics.SOCKETS_OPEN.labels(self.profile.name).inc()
        self._counted_open = True
        self._schedule_expiry(self.authority_ends())
        process_heartbeat().add(self)
        if not session_noted:
            await self.note_session_used()
        if self._came_online:
            await self.announce_presence(online=True, conversation_ids=announced_in)

    async def note_session_used(self):
        """The token's session was used ("last used" in GET /api/auth/sessions/): written at most once a SESSION_LAST_USED_SECONDS."""
        sid = (self.scope.get("token") or {}).get(SESSION_CLAIM)
        if sid and socket_touches.due(sid):
            try:
                await db(session_touch)(sid=sid)
            except DatabaseError:  # a note, not the socket's business: it stays open
                logger.warning("Could not note the use of a session", exc_info=True)

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
        Carry out a service (core.outbox.carry_out) and publish what it
        changed. Events the channel layer could not take (Redis down) still
        reach this socket's client.
        """
        result, box = await outbox.carry_out(service, **kwargs)
        for _, event in box.failed:
            await self.dispatch(event)
        return result

    async def __call__(self, scope, receive, send):
        """Run the consumer; clean up however it ends (closed, crashed, or killed by the server)."""
        try:
            await self._serve(scope, receive, send)
        except REDIS_ERRORS as error:
            # Redis failed outside a handler (making this socket's channel,
            # joining groups or counting the socket while connecting, or
            # receiving): close with "try again later".
            REDIS.failed(error)
            await refuse_socket_for_now(send, accepted=self._accepted)
        except DatabaseError as error:
            # The database failed outside a frame's handler (authorising while
            # connecting, catching up): the same, counted as a database error.
            if not database_failed(error):
                logger.exception("Closed a socket with %s: the database failed", CLOSE_TRY_AGAIN)
            await refuse_socket_for_now(send, accepted=self._accepted)
        finally:
            await asyncio.shield(self.end_session(leave_groups=True))

    async def _serve(self, scope, receive, send):
        """
        Channels' consumer loop, with one queue where the channel layer can
        put events into it (core.runtime.channel_layer): the socket's inbox in
        the server (its frames and its events, in the order they came), or
        else a queue of its own fed by ``receive``. Channels' own loop waits on
        both sources with a new task per message, two tasks per socket for
        its whole life and an ``asyncio.wait`` per event (docs/benchmarks.md).
        Other layers get Channels' loop.
        """
        layer = get_channel_layer(self.channel_layer_alias)
        if not hasattr(layer, "attach"):
            return await super().__call__(scope, receive, send)
        self.scope, self.channel_layer, self.base_send = scope, layer, send
        inbox = getattr(receive, "__self__", None)
        feeder = None
        if not isinstance(inbox, LeanQueue):
            inbox = LeanQueue()
            feeder = asyncio.ensure_future(_feed(receive, inbox))
        self.channel_name = layer.attach(inbox)
        deserialize = layer.deserialize
        try:
            while True:
                message = await inbox.get()
                if type(message) is bytes:
                    message = deserialize(message)
                elif isinstance(message, BaseException):  # receive() failed (_feed)
                    raise message
                await self.dispatch(message)
        except StopConsumer:
            pass
        finally:
            layer.detach(self.channel_name)
            if feeder is not None:
                feeder.cancel()

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
            if leave_groups and hasattr(self, "channel_name"):
                await self.leave_groups()
            if self.user is not None and await presence_store().leave(self.user_id, self.channel_name):
                await self.announce_presence(online=False)
        except REDIS_ERRORS as error:  # presence expires by its TTL
            REDIS.failed(error)
        except Exception:
            logger.warning("Could not end the session of %s cleanly", self.channel_name, exc_info=True)

    async def announce_presence(self, *, online: bool, conversation_ids=None):
        """
        Tell the user's conversations (``conversation_ids``, else read now)
        that they came online or went offline, through the process's
        announcer (chat.realtime.announcer: gathered during bursts).
        """
        if conversation_ids is None:
            # Not in a direct conversation a block closes (docs/protocol.md, "Blocking").
            announced_in = loop_or_db(presence_conversation_ids_on_loop, presence_conversation_ids)
            conversation_ids = await announced_in(user_id=self.user.id)
        await process_announcer().announce(self.user_id, online=online, conversation_ids=conversation_ids)

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
            # A failure of ours must not kill the consumer: disconnect() would
            # never run, and the user would stay "online" with groups joined.
            if not database_failed(error):
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

    chat_message_updated = chat_message_deleted = chat_read = chat_delivered = chat_typing = chat_reaction = unread = deliver
    chat_thread_updated = deliver
    thread_state = deliver  # the user's group: room sockets keep their own conversation's (chat.sockets.rooms)
    chat_pinned = chat_unpinned = deliver
    presence = presence_changes = deliver
    # The user's blocks, mutes and notification levels (their group carries them to every socket of theirs),
    # and mentions an edit adds (the conversation's group: only notifications sessions send them).
    block_updated = conversation_muted = conversation_notifications = chat_mention = deliver
    # Statuses (the user's own through their group, others' through the conversations) and the user's drafts.
    user_status = draft_updated = scheduled_failed = deliver

    async def read_receipts_changed(self, event):
        """The user turned read receipts on or off (their group carries it): a room session shows others' reads or not."""
        if hasattr(self.session, "shares_reads"):
            self.session.shares_reads = event["enabled"]

    async def session_revoked(self, event):
        """Logged out, deactivated or a new password: close with 4401 if this socket's session is one of them."""
        if event["user_id"] == self.user_id and event["session"] in (None, self.scope["token"].get(SESSION_CLAIM)):
            await self.lose_authority()

    async def conversation_created(self, event):
        """For notifications sockets (the user's group also carries it to room sockets)."""

    async def conversation_updated(self, event):
        """A group changed (the user's group carries it to every socket of theirs); see the subclasses."""

    async def conversation_join_requested(self, event):
        """For notifications sockets (the user's group also carries it to room sockets)."""

    async def export_updated(self, event):
        """For notifications sockets (the user's group also carries it to room sockets)."""


async def _feed(receive, queue: LeanQueue) -> None:
    """Put what ``receive`` gives into ``queue`` (a server whose inbox is not a LeanQueue)."""
    try:
        while True:
            queue.put_nowait(await receive())
    except Exception as error:
        queue.put_nowait(error)
