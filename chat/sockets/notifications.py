"""
The notifications socket (``ws/notifications/``): new messages of every
conversation of the user's as ``notification`` frames, unread counts (of
conversations and threads), presence of contacts, and ``sync``; and the consumer that refuses unknown paths (4404).
"""


from django.conf import settings

from chat.conversations.selectors import conversation_ids_for_user, quiet_list
from chat.conversations.serializers import sync_result_data
from chat.messages.selectors import changes_since
from chat.realtime import commands, events, profiles
from chat.realtime.delivery_flush import process_deliveries
from chat.realtime.groups import conversation_group, user_group
from chat.realtime.quiet import QuietList
from chat.realtime.session import NotificationsSession
from chat.threads.selectors import unread_threads
from chat.sockets.base import (
    CLOSE_NOT_FOUND,
    CLOSE_TOO_MANY,
    CLOSE_UNAUTHENTICATED,
    Consumer,
)
from core.runtime.asyncdb import db, loop_or_db
from useraccount.tokens import authenticate_claims, authenticate_claims_on_loop, unexpired


def _delivered_to(user_id: str):
    """What the session calls with (conversation id, seq) for each notification sent: the process notes it."""
    record = process_deliveries().record
    return lambda conversation_id, seq: record(conversation_id, user_id, seq)


class NotificationsConsumer(Consumer):
    """``ws/notifications/``: one user's feed across all their conversations."""

    profile = profiles.NOTIFICATIONS
    parse = staticmethod(commands.parse_notifications_frame)

    async def connect(self):
        """Check the token, join the user's group and their conversations' groups, accept."""
        claims = self.scope["token"]
        found = await loop_or_db(authenticate_claims_on_loop, authenticate_claims)(claims) if (
            claims is not None and unexpired(claims)
        ) else None
        if found is None:
            return await self.refuse(CLOSE_UNAUTHENTICATED)
        self.scope["user"] = user = found[0]
        conversation_ids = await db(conversation_ids_for_user)(user_id=user.id)
        await self.join(user_group(user.id), *map(conversation_group, conversation_ids))
        # Read after joining: a block or mute from now on arrives as an event.
        blocked, muted, levels = await db(quiet_list)(user=user)
        self.session = NotificationsSession(
            profile=self.profile, viewer_id=str(user.id), send=self.send_text,
            quiet=QuietList(blocked=blocked, muted=muted, levels=levels), delivered_to=_delivered_to(str(user.id)),
        )
        if not (await self.admit()).admitted:
            return await self.refuse(CLOSE_TOO_MANY)
        await self.accept()
        await self.open_session()

    async def on_sync(self, command):
        """What changed since the client's per-conversation seqs, a page of conversations per frame, and unread threads."""
        def result():
            changes = changes_since(
                user=self.user, known=command.known, limit=settings.SYNC_MESSAGES_PER_CONVERSATION,
                max_conversations=settings.SYNC_PAGE_CONVERSATIONS, max_body_chars=settings.SYNC_PAGE_BODY_CHARS,
            )
            return sync_result_data(*changes, threads=unread_threads(user=self.user, limit=settings.SYNC_PAGE_THREADS))

        await self.send(text_data=events.dumps(await db(result)()))

    _left: set[str] = frozenset()

    async def deliver(self, event):
        """Nothing more of a conversation the user has left, however late the layer stops sending it."""
        if event.get("conversation_id") not in self._left:
            await self.session.event(event)

    chat_message = chat_message_updated = chat_message_deleted = unread = block_updated = conversation_muted = deliver
    conversation_join_requested = deliver
    chat_mention = conversation_notifications = thread_state = deliver
    export_updated = deliver  # the user's data export is ready or failed

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
