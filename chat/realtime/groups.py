"""
Channel-layer group names, built from primary keys only (never user text).

- ``conversation.<hex>``: messages, edits, deletions and members' presence.
  Followed by every room socket of the conversation and by the
  notifications sockets of its members, so a message costs one publish.
- ``room.<hex>``: typing notices, read positions, reactions and thread
  summaries (``chat.thread.updated``); room sockets only, so
  notifications sockets are not sent events they would drop.
- ``user.<hex>``: every socket of one user: new conversations and unread
  counts (for notifications sockets), and revoked sessions (for all);
  named in core.groups, since account changes below this app use it too.
"""

from uuid import UUID

from core.groups import user_group


def _hex(value: UUID | str) -> str:
    return UUID(str(value)).hex


def conversation_group(conversation_id: UUID | str) -> str:
    return f"conversation.{_hex(conversation_id)}"


def room_group(conversation_id: UUID | str) -> str:
    return f"room.{_hex(conversation_id)}"


__all__ = ["conversation_group", "room_group", "user_group"]
