"""
Who gets a push for a message: plain Python, no database, network or clock of
its own, so the rules are tested in milliseconds (tests/chat/push/test_push.py). The
worker (chat.push.queue) reads the facts and asks here.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from chat.audience import ALL, notified


@dataclass(frozen=True)
class Member:
    user_id: UUID
    muted: bool = False
    muted_until: datetime | None = None
    level: str = ALL

    def muted_at(self, now: datetime) -> bool:
        """Muted for good (no end), or until a time still to come."""
        return self.muted and (self.muted_until is None or self.muted_until > now)


def push_recipients(
    members: Iterable[Member], *, sender_id: UUID, online: set[str] | None, blocked_sender: set[UUID],
    now: datetime, followers: set[str] | None = None, mentioned: set[UUID] = frozenset(), mentions_all: bool = False,
) -> list[UUID]:
    """
    The members to push a message of ``sender_id`` to: those chat.audience
    says are notified of it (never the sender or those who block them; a
    mention, ``mentioned`` or ``mentions_all``, gets through a mute and the
    "mentions" level; for a reply in a thread, only its ``followers``, ids
    as strings, unless mentioned), but not those online (``online``: ids as
    strings). ``online=None`` means presence is unknown (Redis unreachable):
    then nobody is taken for online, since a notification twice is better
    than none.
    """
    sender = str(sender_id)
    return [
        member.user_id
        for member in members
        if notified(
            user_id=str(member.user_id), sender_id=sender, level=member.level, muted=member.muted_at(now),
            blocks_sender=member.user_id in blocked_sender, followers=followers,
            mentioned=mentions_all or member.user_id in mentioned,
        )
        and (online is None or str(member.user_id) not in online)
    ]
