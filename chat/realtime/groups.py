"""
Channel-layer group names, built from primary keys only (never user text).

- ``conversation.<hex>``: messages, edits, deletions and members' presence.
  Followed by every room socket of the conversation and by the
  notifications sockets of its members, so a message costs one publish.
- ``room.<hex>``: typing notices and read positions; room sockets only, so
  notifications sockets are not sent events they would drop.
- ``user.<hex>``: every socket of one user: new conversations and unread
  counts (for notifications sockets), and revoked sessions (for all).
"""

from uuid import UUID


def _hex(value: UUID | str) -> str:
    return UUID(str(value)).hex


def conversation_group(conversation_id: UUID | str) -> str:
    return f"conversation.{_hex(conversation_id)}"


def room_group(conversation_id: UUID | str) -> str:
    return f"room.{_hex(conversation_id)}"


def user_group(user_id: UUID | str) -> str:
    return f"user.{_hex(user_id)}"
