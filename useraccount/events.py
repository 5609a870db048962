"""
The events account changes send to a user's sockets (core.groups.user_group):
a session ended, a block made or lifted. Built here, below the chat app,
which delivers them (docs/protocol.md).
"""

from core.events import dumps


def session_revoked(*, user_id, session: str | None) -> dict:
    """A user's session (or, with ``session`` None, every one of theirs) no longer holds: its sockets close."""
    return {"type": "session.revoked", "user_id": str(user_id), "session": session}


def block_updated(*, user_id, blocked: bool) -> dict:
    """For the blocker's user group: they blocked (or unblocked) ``user_id``; their notifications sockets filter by it."""
    frame = {"type": "block.updated", "user_id": str(user_id), "blocked": blocked}
    return {"type": "block.updated", "user_id": str(user_id), "blocked": blocked, "text": dumps(frame)}


def read_receipts_changed(*, user_id, enabled: bool) -> dict:
    """For the user's group: they turned read receipts on or off; their room sockets show others' reads or not."""
    return {"type": "read_receipts.changed", "user_id": str(user_id), "enabled": enabled}


def user_status(*, user_id, status: dict | None) -> dict:
    """
    ``user.status``: the user's status as it is now (None: none). For the
    groups of their conversations and, marked ``own``, for their own group:
    sessions send others' from the first and one's own from the second.
    """
    frame = {"type": "user.status", "user_id": str(user_id), "status": status}
    return {"type": "user.status", "user_id": str(user_id), "own": False, "text": dumps(frame)}
