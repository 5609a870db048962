"""
The typing throttle: a typing notice per user and room is relayed at most
once per ``TYPING_INTERVAL`` seconds (per server process).

    throttle = TypingThrottle(interval=2, clock=fake_clock)
    throttle.allow("room", "alice")  # True, then False until 2 s have passed
"""

import time
from collections.abc import Callable
from functools import cache

from django.conf import settings


class TypingThrottle:
    def __init__(
        self,
        *,
        interval: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        max_entries: int = 10_000,
    ):
        self._interval = interval
        self._clock = clock
        self._max_entries = max_entries
        self._last: dict[tuple[str, str], float] = {}

    @property
    def interval(self) -> float:
        """The interval given, else TYPING_INTERVAL read at each use."""
        return settings.TYPING_INTERVAL if self._interval is None else self._interval

    def allow(self, conversation_id: str, user_id: str) -> bool:
        """True (and remembered) when this user's notice in this room may be relayed now."""
        now = self._clock()
        interval = self.interval
        key = (conversation_id, user_id)
        if now - self._last.get(key, float("-inf")) < interval:
            return False
        if len(self._last) >= self._max_entries:
            self._last = {k: t for k, t in self._last.items() if now - t < interval}
        self._last[key] = now
        return True

    def __len__(self) -> int:
        return len(self._last)


@cache
def typing_throttle() -> TypingThrottle:
    """This process's throttle, made on first use."""
    return TypingThrottle()
