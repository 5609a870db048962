"""
The channel-layer group every socket of one user follows, ``user.<hex>``
(built from the primary key only): the one group below the chat app, since
account changes (a session revoked, a block) reach the user's sockets
through it. The chat app's own groups are in chat.realtime.groups.
"""

from uuid import UUID


def user_group(user_id: UUID | str) -> str:
    return f"user.{UUID(str(user_id)).hex}"
