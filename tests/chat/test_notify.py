"""chat.audience with notification levels and mentions: every case in one table (sockets and pushes both ask it)."""

import pytest

from chat.audience import notified

# level, muted, blocked the sender, is the sender, mentioned -> told
CASES = [
    ("all", False, False, False, False, True),
    ("all", False, False, False, True, True),
    ("all", True, False, False, False, False),
    ("all", True, False, False, True, True),
    ("mentions", False, False, False, False, False),
    ("mentions", False, False, False, True, True),
    ("mentions", True, False, False, True, True),
    ("mentions", True, False, False, False, False),
    ("none", False, False, False, False, False),
    ("none", False, False, False, True, False),
    ("none", True, False, False, True, False),
    ("all", False, True, False, False, False),
    ("all", False, True, False, True, False),
    ("mentions", True, True, False, True, False),
    ("all", False, False, True, False, False),
    ("all", False, False, True, True, False),
]


@pytest.mark.parametrize("level, muted, blocked_sender, is_sender, mentioned, told", CASES)
def test_who_is_told_of_a_message(level, muted, blocked_sender, is_sender, mentioned, told):
    assert notified(
        user_id="me", sender_id="me" if is_sender else "them", level=level, muted=muted,
        blocks_sender=blocked_sender, mentioned=mentioned,
    ) is told


@pytest.mark.parametrize("following, mentioned, told", [(True, False, True), (False, False, False), (False, True, True)])
def test_a_mention_reaches_a_member_who_does_not_follow_the_thread(following, mentioned, told):
    followers = {"me"} if following else {"someone"}
    assert notified(
        user_id="me", sender_id="them", muted=False, blocks_sender=False, followers=followers, mentioned=mentioned
    ) is told
