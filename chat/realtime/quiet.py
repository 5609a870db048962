"""
What a notifications socket stays quiet about, decided per event with no
query (chat.audience's rule): kept by chat.realtime.session's
NotificationsSession.
"""

import time
from collections.abc import Callable, Iterable

from chat.audience import ALL, notified


class QuietList:
    """
    What a notifications socket stays quiet about (chat.audience's rule, as
    pushes): messages of users its user blocked, in conversations they muted
    (mentions get through) or whose level they lowered. Loaded at the open,
    kept current by the user's ``block.updated``, ``conversation.muted`` and
    ``conversation.notifications``: deciding costs no query per frame.

        quiet = QuietList(blocked={"b1"}, muted={"c1": None}, levels={"c3": "mentions"})
        quiet.silences(event, viewer_id=me)   # True for a message from b1, or in c1 or c3 not mentioning me
    """

    __slots__ = ("blocked", "muted", "levels", "_clock")

    def __init__(
        self, *, blocked: Iterable[str] = (), muted: dict[str, float | None] | None = None,
        levels: dict[str, str] | None = None, clock: Callable[[], float] = time.time,
    ):
        self.blocked = set(blocked)
        # conversation id -> when the mute ends (a Unix time), None: until unmuted.
        self.muted = dict(muted or {})
        # conversation id -> notification level (those at the default, "all", need not be there).
        self.levels = dict(levels or {})
        self._clock = clock

    def muted_now(self, conversation_id: str) -> bool:
        if conversation_id not in self.muted:
            return False
        until = self.muted[conversation_id]
        if until is None or self._clock() < until:
            return True
        del self.muted[conversation_id]  # the mute ran out
        return False

    def silences(self, event: dict, *, viewer_id: str = "") -> bool:
        """Whether a ``chat.message`` or ``chat.mention`` event goes unannounced to ``viewer_id``."""
        conversation_id, sender, mentioned = event["conversation_id"], event["sender_id"], is_mentioned(event, viewer_id)
        if event["type"] == "chat.mention" and not mentioned:  # an edit's new mentions: for them only
            return True
        return not notified(
            user_id=viewer_id, sender_id=sender, level=self.levels.get(conversation_id, ALL),
            muted=self.muted_now(conversation_id), blocks_sender=sender in self.blocked,
            followers=event.get("follower_ids"), mentioned=mentioned,
        )

    def block_changed(self, user_id: str, blocked: bool) -> None:
        if blocked:
            self.blocked.add(user_id)
        else:
            self.blocked.discard(user_id)

    def mute_changed(self, conversation_id: str, muted: bool, until: float | None) -> None:
        if muted:
            self.muted[conversation_id] = until
        else:
            self.muted.pop(conversation_id, None)

    def level_changed(self, conversation_id: str, level: str) -> None:
        self.levels[conversation_id] = level


def is_mentioned(event: dict, viewer_id: str) -> bool:
    """Whether a message event mentions ``viewer_id`` (by name, or through @all)."""
    return bool(event.get("mentions_all")) or viewer_id in event.get("mentioned", ())
