"""
Room sockets: ``RoomConsumer`` (``ws/chat/<id>/``, the rich protocol) and
``OriginalClientRoomConsumer`` (``ws/<id>/``, the original tutorial
client's, which lives as long as its session rather than its access token
and is told in its own terms about every message it sent that was not saved).
"""

import asyncio
import logging
import time
from functools import partial
from urllib.parse import parse_qs

from django.conf import settings

from chat.conversations.membership import conversation_mark_read
from chat.conversations.opening import RoomOpening, room_opening, room_opening_on_loop
from chat.messages.reactions import reaction_add, reaction_remove
from chat.messages.selectors import message_list
from chat.messages.send import message_send_from_loop
from chat.messages.services import message_delete, message_edit
from chat.realtime import commands, events, profiles
from chat.realtime.delivery_flush import process_deliveries
from chat.realtime.groups import conversation_group, room_group, user_group
from chat.realtime.session import RoomSession
from chat.realtime.throttle import typing_throttle
from chat.threads.selectors import thread_roots_replied_after
from chat.threads.services import thread_mark_read
from chat.sockets.base import (
    CLOSE_FORBIDDEN,
    CLOSE_TOO_MANY,
    CLOSE_UNAUTHENTICATED,
    Consumer,
)
from core import metrics
from core.errors import ApplicationError, InvalidInput, ServerError
from core.outages import database_failed
from core.runtime.asyncdb import db, loop_or_db
from core.validation import uuid_or_none, whole_number
from useraccount.tokens import SESSION_CLAIM, claims_user_id, session_end_from, token_holds, unexpired

logger = logging.getLogger(__name__)


class RoomConsumer(Consumer):
    """``ws/chat/<conversation_id>/``: one conversation, in seq order, none missing, none twice."""

    profile = profiles.RICH

    async def connect(self):
        """
        Join the groups, read everything a connect needs in one statement
        (chat.conversations.opening), authorise, admit, accept, catch up.
        """
        claims = self.scope["token"]
        user_id = claims_user_id(claims)
        if user_id is None or not self.in_time(claims):
            return await self.refuse(CLOSE_UNAUTHENTICATED)
        conversation_id = uuid_or_none(self.scope["url_route"]["kwargs"]["conversation_id"])
        # Join before the statement reads the last seq: every message
        # committed from then on has a greater seq, and its event reaches
        # this socket. A refusal leaves the groups again.
        groups = [user_group(user_id)]
        if conversation_id is not None:
            groups.append(conversation_group(conversation_id))
            if self.profile.follows_room:
                groups.append(room_group(conversation_id))
        await self.join(*groups)
        opening = await loop_or_db(room_opening_on_loop, room_opening)(
            user_id=user_id, conversation_id=conversation_id, session=claims.get(SESSION_CLAIM)
        )
        if opening is None or not self.authorise(opening, claims):
            return await self.refuse(CLOSE_UNAUTHENTICATED)
        self.scope["user"] = opening.user
        if opening.conversation is None:
            return await self.refuse(CLOSE_FORBIDDEN)
        self.conversation = room = opening.conversation
        self.session = RoomSession(
            profile=self.profile, viewer_id=str(user_id), member_ids=opening.member_ids,
            delivered=room.last_seq, send=self.send_text, fetch=self.fetch, drained=self.scope.get("send_drained"),
            hidden=opening.hidden, shares_reads=opening.user.read_receipts,
            delivered_to=partial(process_deliveries().record, str(room.id), str(user_id)),
            fetch_summaries=self.fetch_summaries,
        )
        admission = await self.admit(watch=self.session.watched_user_ids)
        if not admission.admitted:
            return await self.refuse(CLOSE_TOO_MANY)
        await self.accept()
        await self.open_session(announced_in=opening.announced_in, session_noted=opening.session_noted)
        try:
            after = parse_qs(self.scope["query_string"].decode("latin1")).get("after")
            if after:
                await self.session.resume(whole_number(after[0], name="after", from_text=True))
        except ApplicationError as error:
            await self.send_error(error)
        # Read with the admission: presence events since then follow this frame (they wait for connect to end).
        await self.session.presence_state(admission.online)

    def in_time(self, claims: dict) -> bool:
        """Whether the token's expiry lets it open this socket (before the database is asked)."""
        return unexpired(claims)

    def authorise(self, opening: RoomOpening, claims: dict) -> bool:
        """Whether the token, read with its user and session, authorises this socket."""
        return token_holds(claims, opening.user, revoked=opening.revoked)

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

    async def fetch_summaries(self, after: int, above: int) -> list[tuple[int, str]]:
        """A page (CATCH_UP_PAGE roots) of the thread summaries a client resuming from ``after`` is owed."""
        roots = await db(thread_roots_replied_after)(
            conversation_id=self.conversation.id, after=after, above=above, limit=settings.CATCH_UP_PAGE
        )
        return [(root.seq, events.thread_updated(root)["text"]) for root in roots]

    async def on_message_send(self, command):
        """Save and publish a message; a resent client_id is acknowledged to the sender only."""
        started = time.perf_counter()
        try:
            message, created = await self.carry_out(
                message_send_from_loop, conversation_id=self.conversation.id, sender=self.user,
                body=command.body, client_id=command.client_id, reply_to=command.reply_to,
                attachment_ids=command.attachment_ids, thread_id=command.thread_id, metadata=command.metadata,
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
        changes = {name: value for name in ("body", "metadata") if (value := getattr(command, name)) is not commands.UNCHANGED}
        await self.carry_out(message_edit, conversation_id=self.conversation.id, user=self.user,
                             message_id=command.message_id, **changes)

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
        """Record the caller's read position of the conversation, or of one of its threads."""
        if command.thread_id is not None:
            return await self.carry_out(thread_mark_read, conversation_id=self.conversation.id, user=self.user,
                                        root_id=command.thread_id, seq=command.seq)
        await self.carry_out(conversation_mark_read, conversation_id=self.conversation.id,
                         user=self.user, seq=command.seq)

    async def on_sync(self, command):
        """Resend everything after the client's last seq and the thread summaries it changed, then say where it ends."""
        await self.session.resume(command.after)
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

    async def thread_state(self, event):
        """The user read, followed or unfollowed a thread (their group carries it): sent if it is of this room."""
        if event["conversation_id"] == str(self.conversation.id):
            await self.session.event(event)

    async def draft_updated(self, event):
        """The user's draft changed (their group carries every conversation's): this room's only."""
        if event["conversation_id"] == str(self.conversation.id):
            await self.session.event(event)

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

    def in_time(self, claims: dict) -> bool:
        """Any signed access token, expired or not: its session decides."""
        return True

    def authorise(self, opening: RoomOpening, claims: dict) -> bool:
        """The token's session must live (its end is this socket's); the user and password as for any token."""
        ends = session_end_from(claims, expires_at=opening.session_ends, revoked=opening.revoked)
        if ends is None or not token_holds(claims, opening.user, revoked=opening.revoked):
            return False
        self._session_ends = ends.timestamp()
        return True

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
        await self.leave_groups()
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
