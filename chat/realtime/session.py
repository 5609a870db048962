"""
Per-socket state, in plain Python: what a socket has delivered and what it
has told its client about presence. The consumers own one of these each and
ask it what to do; it never sends anything itself.

    cursor = DeliveryCursor(delivered=5)
    cursor.missing_before(9)    # range(6, 9): fetch 6..8 from the database first
    cursor.missing_before(4)    # None: already delivered, skip
"""

import time
from collections.abc import Callable, Iterable


class DeliveryCursor:
    """
    The last seq a room socket sent. Messages reach its client in seq order
    with none missing and none twice: a repeat is skipped, a jump (an event
    the channel layer dropped, or two processes' events crossing) is filled
    from the database before the new message goes out.
    """

    def __init__(self, delivered: int = 0):
        self.delivered = delivered

    def missing_before(self, seq: int) -> range | None:
        """None when ``seq`` was delivered already; else the seqs to fill before it (often none)."""
        if seq <= self.delivered:
            return None
        return range(self.delivered + 1, seq)

    def advance(self, seq: int) -> None:
        """``seq`` (and everything below it) has been sent."""
        self.delivered = max(self.delivered, seq)


class RoomPresence:
    """
    Who a room socket has told its client is online, reconciled with the
    presence store's snapshot at every heartbeat so that changes nobody
    announced (the users of a crashed process) still reach the client.
    An announcement newer than a snapshot wins over it.
    """

    def __init__(self, member_ids: Iterable[str], *, clock: Callable[[], float] = time.monotonic):
        self.member_ids = frozenset(member_ids)
        self.online: set[str] = set()
        self._announced_at: dict[str, float] = {}
        self._clock = clock

    def start(self, online: Iterable[str]) -> list[str]:
        """The members online when the socket opened, sorted, for ``presence.state``."""
        self.online = set(online) & self.member_ids
        return sorted(self.online)

    def announce(self, user_id: str, online: bool) -> None:
        """A presence event arrived for ``user_id``."""
        self._announced_at[user_id] = self._clock()
        if online:
            self.online.add(user_id)
        else:
            self.online.discard(user_id)

    def reconcile(self, snapshot: set[str], taken_at: float) -> list[tuple[str, bool]]:
        """
        The changes to report, given who was online at ``taken_at`` (a clock
        reading), as ``(user_id, online)``; the view is updated to match.
        """
        changes = []
        for user_id in sorted((snapshot & self.member_ids) ^ self.online):
            if self._announced_at.get(user_id, float("-inf")) > taken_at:
                continue
            now_online = user_id in snapshot
            changes.append((user_id, now_online))
            if now_online:
                self.online.add(user_id)
            else:
                self.online.discard(user_id)
        return changes


class ContactPresence:
    """What a notifications socket has told its client of contacts' presence: each change once."""

    def __init__(self):
        self._known: dict[str, bool] = {}

    def changed(self, user_id: str, online: bool) -> bool:
        """Record a presence event; True when the client has not been told this yet."""
        if self._known.get(user_id) == online:
            return False
        self._known[user_id] = online
        return True
