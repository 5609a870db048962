"""
Whether a member is told of a message: the one rule behind both the
notifications socket's ``notification`` frames (chat.realtime.session) and
pushes (chat.push.recipients), in plain Python so that a table-driven test
runs every case (tests/chat/test_notify.py).

    notifies(level="mentions", muted=False, blocked_sender=False, is_sender=False, mentioned=True)  # True
"""

# A member's notification level in a conversation (ConversationMember.notification_level).
ALL, MENTIONS, NONE = "all", "mentions", "none"
LEVELS = (ALL, MENTIONS, NONE)


def notifies(*, level: str, muted: bool, blocked_sender: bool, is_sender: bool, mentioned: bool) -> bool:
    """
    Never of one's own messages nor of those of someone one blocked; a
    mention gets through a mute and the ``mentions`` level, only ``none``
    stops it; any other message needs the ``all`` level and no mute.
    """
    if is_sender or blocked_sender or level == NONE:
        return False
    if mentioned:
        return True
    return level == ALL and not muted
