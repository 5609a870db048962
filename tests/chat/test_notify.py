"""chat.notify: whether a member is told of a message, every case in one table (sockets and pushes both ask it)."""

import pytest

from chat.notify import notifies

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
    assert notifies(
        level=level, muted=muted, blocked_sender=blocked_sender, is_sender=is_sender, mentioned=mentioned
    ) is told
