"""
Who is notified of a new message: the one rule behind the notifications
socket's ``notification`` frames (chat.realtime.session, through QuietList)
and pushes (chat.push.recipients), in plain Python so that a table-driven
test runs every case through both (tests/chat/test_audience.py,
tests/chat/test_notify.py).

Never of one's own messages nor of those of someone one blocks, nor at the
``none`` level; a mention gets through a mute, the ``mentions`` level and a
thread one does not follow; any other message needs the ``all`` level, no
mute, and for a reply in a thread (chat.threads) that one follows it.

    notified(user_id=me, sender_id=them, muted=False, blocks_sender=False)                          # True
    notified(user_id=me, sender_id=them, muted=False, blocks_sender=False, followers={them})         # False
    notified(user_id=me, sender_id=them, muted=True, blocks_sender=False, level="mentions", mentioned=True)  # True
"""

from collections.abc import Container

# A member's notification level in a conversation (ConversationMember.notification_level).
ALL, MENTIONS, NONE = "all", "mentions", "none"
LEVELS = (ALL, MENTIONS, NONE)


def notified(
    *, user_id: str, sender_id: str, muted: bool, blocks_sender: bool, followers: Container[str] | None = None,
    level: str = ALL, mentioned: bool = False,
) -> bool:
    """
    Whether member ``user_id`` is told of a message by ``sender_id``.
    ``followers``: the ids of a thread's followers for a reply in a thread,
    None for a message of the main timeline; ``mentioned``: the message
    mentions them (by name or through @all). Ids as strings.
    """
    if user_id == sender_id or blocks_sender or level == NONE:
        return False
    if mentioned:
        return True
    if followers is not None and user_id not in followers:
        return False
    return level == ALL and not muted
