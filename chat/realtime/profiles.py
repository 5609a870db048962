"""
Client profiles: one place answers "does this client want this event?".

    ORIGINAL.accepts(event, viewer_id=...)   # the tutorial client on ws/<id>/

- ``RICH`` (``ws/chat/<id>/``): every room event (messages, edits,
  deletions, reactions, thread summaries, pins, read and delivered
  positions, typing, presence, members' statuses), the user's own status,
  their draft and their thread states of the room's conversation, except the
  viewer's own typing notices (and read positions ``read_position_shown``
  withholds: the room session asks it).
- ``ORIGINAL`` (``ws/<id>/``): that client shows every frame it gets as a
  message, so it gets messages only (and answers to its own requests:
  errors, pong).
- ``NOTIFICATIONS`` (``ws/notifications/``): messages others send, edits and
  deletions, unread counts, new and changed conversations, contacts'
  presence and statuses, mentions an edit adds, the user's data export's
  state, and the user's own blocks, mutes, notification levels (which its
  session also filters messages by: chat.realtime.session.QuietList), thread
  states, status, drafts and scheduled messages refused at their time; never
  typing or read positions, and never the viewer's own messages or presence.
"""

from dataclasses import dataclass
from typing import Callable

_ROOM_ONLY = frozenset({
    "chat.read", "chat.delivered", "chat.typing", "chat.reaction", "chat.thread.updated", "chat.pinned", "chat.unpinned",
})
_MESSAGES = frozenset({"chat.message", "chat.message.updated", "chat.message.deleted"})


def _status_once(event: dict, viewer_id: str) -> bool:
    """
    A ``user.status`` comes to a user's sockets twice when it is their own
    (their group's copy, marked ``own``, and their conversations'): one's own
    is sent from the first, anyone else's from the second.
    """
    return event["own"] == (event["user_id"] == viewer_id)


def _not_own_typing(event: dict, viewer_id: str) -> bool:
    if event["type"] == "user.status":
        return _status_once(event, viewer_id)
    return event["type"] != "chat.typing" or event["user_id"] != viewer_id


def _not_own_message_or_presence(event: dict, viewer_id: str) -> bool:
    kind = event["type"]
    if kind in ("chat.message", "chat.mention"):  # first: the one asked of every message, per socket
        return event["sender_id"] != viewer_id
    if kind == "user.status":
        return _status_once(event, viewer_id)
    if kind == "presence":
        return event["user_id"] != viewer_id
    return True


def read_position_shown(*, reader_id: str, viewer_id: str, reader_shares: bool, viewer_shares: bool) -> bool:
    """
    Whether ``viewer_id`` is shown ``reader_id``'s read position: always their
    own; someone else's only while both keep ``read_receipts`` on (off, a
    user neither shows their reads nor sees others'). The receipts
    selectors ask the same in SQL (chat.receipts.selectors.read_shown_q).
    """
    return reader_id == viewer_id or (reader_shares and viewer_shares)


@dataclass(frozen=True)
class ClientProfile:
    name: str
    event_types: frozenset[str]
    rule: Callable[[dict, str], bool] = lambda event, viewer_id: True

    def accepts(self, event: dict, *, viewer_id: str) -> bool:
        """Whether a socket of this profile, of user ``viewer_id``, is sent ``event``."""
        return event["type"] in self.event_types and self.rule(event, viewer_id)

    @property
    def sees_presence(self) -> bool:
        return "presence" in self.event_types

    @property
    def follows_room(self) -> bool:
        """Whether it wants the room group's events (typing, read positions)."""
        return bool(self.event_types & _ROOM_ONLY)


RICH = ClientProfile(
    "rich",
    _MESSAGES | {
        "chat.read", "chat.delivered", "chat.typing", "chat.reaction", "chat.thread.updated", "chat.pinned",
        "chat.unpinned", "presence", "presence.changes", "presence.state", "thread.state", "user.status",
        "draft.updated",
    },
    _not_own_typing,
)
ORIGINAL = ClientProfile("original", frozenset({"chat.message"}))
NOTIFICATIONS = ClientProfile(
    "notifications",
    _MESSAGES | {
        "unread", "presence", "presence.changes", "conversation.created", "conversation.updated", "conversation.muted", "block.updated",
        "conversation.join_requested",
        "chat.mention", "conversation.notifications", "export.updated", "thread.state", "user.status",
        "draft.updated", "scheduled.failed",
    },
    _not_own_message_or_presence,
)
