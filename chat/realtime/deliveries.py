"""
Delivered positions, held in memory per process until they are written.

Every frame carrying a message that a socket sends (and every push a push
service accepts) moves its member's "delivered up to seq". Writing that per
frame would put a database write on the fan-out path, once per message per
socket. Instead each process notes the highest seq per (conversation,
member) here, a dict operation per frame, and a flusher
(chat.realtime.delivery_flush) takes what waits at most once per
``interval`` and writes it in one statement. Past ``max_pending`` entries a
flush is due at once, so memory stays bounded however many conversations a
burst touches. Plain Python with an injected clock: no Channels, no
database.

    tracker = DeliveryTracker(interval=1.0, max_pending=100_000, clock=time.monotonic)
    tracker.record("c1", "u1", 7)     # False: nothing to do but wait
    tracker.wait()                    # seconds until the next flush may run
    tracker.take()                    # {"c1": {"u1": 7}}, emptied
"""

import time
from collections.abc import Callable


class DeliveryTracker:
    """The highest seq sent to each member per conversation, not yet written."""

    __slots__ = ("interval", "max_pending", "_clock", "_pending", "_size", "_last_take")

    def __init__(self, *, interval: float, max_pending: int, clock: Callable[[], float] = time.monotonic):
        self.interval = interval
        self.max_pending = max_pending
        self._clock = clock
        self._pending: dict[str, dict[str, int]] = {}  # conversation id -> user id -> seq
        self._size = 0
        self._last_take = clock()

    def __len__(self) -> int:
        """How many (conversation, member) positions wait."""
        return self._size

    def record(self, conversation_id: str, user_id: str, seq: int) -> bool:
        """
        ``seq`` was delivered to ``user_id`` in ``conversation_id``; a lower
        seq than one already noted changes nothing. True when the positions
        waiting have reached ``max_pending``: flush now rather than at
        ``flush_at``.
        """
        members = self._pending.get(conversation_id)
        if members is None:
            members = self._pending[conversation_id] = {}
        known = members.get(user_id)
        if known is None:
            self._size += 1
        elif known >= seq:
            return False
        members[user_id] = seq
        return self._size >= self.max_pending

    def flush_at(self) -> float:
        """The clock time from which the next ``take`` keeps to one write per interval."""
        return self._last_take + self.interval

    def wait(self) -> float:
        """Seconds from now until ``flush_at`` (0: a flush may run now)."""
        return max(0.0, self.flush_at() - self._clock())

    def take(self) -> dict[str, dict[str, int]]:
        """Everything waiting, by conversation, and start a new interval; the tracker is left empty."""
        pending, self._pending, self._size = self._pending, {}, 0
        self._last_take = self._clock()
        return pending
