"""
Who is notified of a new message: the one rule behind the notifications
socket's ``notification`` frames (chat.realtime.session.NotificationsSession)
and pushes (chat.push.recipients), in plain Python so it is tested without
sockets or a database.

A member is notified of a message unless they sent it, muted its
conversation (and the mute has not run out), or block its sender; and a
reply in a thread (chat.threads) only reaches the thread's followers.

    notified(user_id=me, sender_id=them, muted=False, blocks_sender=False, followers=None)     # True
    notified(user_id=me, sender_id=them, muted=False, blocks_sender=False, followers={them})   # False
"""

from collections.abc import Container


def notified(
    *, user_id: str, sender_id: str, muted: bool, blocks_sender: bool, followers: Container[str] | None
) -> bool:
    """
    Whether member ``user_id`` is told of a message by ``sender_id``.
    ``followers``: the ids of a thread's followers for a reply in a thread,
    None for a message of the main timeline. Ids as strings.
    """
    if user_id == sender_id or muted or blocks_sender:
        return False
    return followers is None or user_id in followers
