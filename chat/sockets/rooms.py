"""
Room sockets: ``RoomConsumer`` (``ws/chat/<id>/``, the rich protocol) and
``OriginalClientRoomConsumer`` (``ws/<id>/``, the original tutorial
client's, which lives as long as its session rather than its access token
and is told in its own terms about every message it sent that was not saved).
"""











import asyncio
import logging
import time
from urllib.parse import parse_qs

from django.conf import settings
from django.contrib.auth.models import AnonymousUser

from chat.conversations.membership import conversation_mark_read
from chat.conversations.selectors import (
    conversation_last_seq,
    conversation_last_seq_on_loop,
    room_for_user,
    room_for_user_on_loop,
)
from chat.messages.reactions import reaction_add, reaction_remove
from chat.messages.selectors import message_list
from chat.messages.send import message_send_from_loop
from chat.messages.services import message_delete, message_edit
from chat.realtime import commands, events, profiles
from chat.realtime.groups import conversation_group, room_group, user_group
from chat.realtime.presence import presence_store
from chat.realtime.session import RoomSession
from chat.realtime.throttle import typing_throttle
from chat.sockets.base import (
    CLOSE_FORBIDDEN,
    CLOSE_TOO_MANY,
    CLOSE_UNAUTHENTICATED,
    Consumer,
)
from core import metrics
from core.errors import ApplicationError, InvalidInput, ServerError
from core.outages import database_failed, REDIS, REDIS_ERRORS
from core.runtime.asyncdb import db, loop_or_db
from core.validation import whole_number
from useraccount.middleware import token_from_scope
from useraccount.tokens import authenticate_session_token, session_end

logger = logging.getLogger(__name__)


class RoomConsumer(Consumer):
    """``ws/chat/<conversation_id>/``: one conversation, in seq order, none missing, none twice."""

    profile = profiles.RICH

    async def connect(self):
        """Check the token and membership, join the groups, accept, catch up."""
        if not self.scope["user"].is_authenticated:
            return await self.refuse(CLOSE_UNAUTHENTICATED)
        conversation_id = self.scope["url_route"]["kwargs"]["conversation_id"]
        try:
            room, member_ids, hidden = await loop_or_db(room_for_user_on_loop, room_for_user)(
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
        last_seq_of = loop_or_db(conversation_last_seq_on_loop, conversation_last_seq)
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
        messages = await db(message_list)(
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
            message, created = await self.carry_out(
                message_send_from_loop, conversation_id=self.conversation.id, sender=self.user,
                body=command.body, client_id=command.client_id, reply_to=command.reply_to,
                attachment_ids=command.attachment_ids,
            )
        except ApplicationError:
            raise
        except Exception as error:
            if not database_failed(error):
                logger.exception("Could not save a message in %s", self.conversation.id)
            raise ServerError("The message could not be saved; send it again.", code="save_failed")
        metrics.SEND_SECONDS.observe(time.perf_counter() - started)
        if not created:
            await self.send(text_data=events.message_frame(message))

    async def on_message_edit(self, command):
        """The author edits a message."""
        await self.carry_out(message_edit, conversation_id=self.conversation.id, user=self.user,
                         message_id=command.message_id, body=command.body)

    async def on_message_delete(self, command):
        """The author deletes a message (a tombstone keeps its seq)."""
        await self.carry_out(message_delete, conversation_id=self.conversation.id, user=self.user,
                         message_id=command.message_id)

    async def on_reaction(self, command):
        """Add or remove the caller's reaction to a message."""
        service = reaction_add if command.added else reaction_remove
        await self.carry_out(service, conversation_id=self.conversation.id, user=self.user,
                             message_id=command.message_id, emoji=command.emoji)

    async def on_read(self, command):
        """Record the caller's read position."""
        await self.carry_out(conversation_mark_read, conversation_id=self.conversation.id,
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
