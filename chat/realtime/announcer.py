"""
Presence announcements, gathered per process during bursts.

A user coming online or going offline is announced to each conversation of
theirs, and every open socket of those conversations sends a frame. After a
deploy every user reconnects within seconds, and each connect made every
other member's socket send a frame of its own. Here a process announces a
change at once when it has announced nothing for ``PRESENCE_COALESCE_SECONDS``
(a setting; 0 announces every change at once); otherwise the change waits
for the end of that window, and everything that waited goes out then, one
event per conversation listing every change (``presence.changes``; a single
change stays a ``presence`` event). The last change of a user in a window
wins. Best effort, as presence is: a change that cannot be published (Redis
down) is dropped, and the heartbeat reports the truth later.

    announcer = process_announcer()
    await announcer.announce(user_id, online=True, conversation_ids=ids)
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from functools import cache

from django.conf import settings

from core import outbox
from core.outages import REDIS, REDIS_ERRORS

from . import events
from .groups import conversation_group

logger = logging.getLogger(__name__)

Publish = Callable[[str, dict], Awaitable[None]]


class PresenceAnnouncer:
    def __init__(self, *, window: float | None = None, publish: Publish = outbox.publish):
        self._window = window
        self._publish = publish
        self._pending: dict[str, dict[str, bool]] = {}  # conversation id -> user id -> online
        self._quiet_from = float("-inf")  # loop time from which a change goes out at once
        self._flush: asyncio.TimerHandle | None = None

    @property
    def window(self) -> float:
        return settings.PRESENCE_COALESCE_SECONDS if self._window is None else self._window

    async def announce(self, user_id: str, *, online: bool, conversation_ids: Iterable) -> None:
        loop = asyncio.get_running_loop()
        now, window = loop.time(), self.window
        if window <= 0 or (not self._pending and now >= self._quiet_from):
            self._quiet_from = now + window
            event = events.presence(user_id=user_id, online=online)
            await self._send({conversation_id: event for conversation_id in conversation_ids})
            return
        for conversation_id in conversation_ids:
            # As text: a connect gives its conversations' ids as text, a disconnect as UUIDs.
            self._pending.setdefault(str(conversation_id), {})[user_id] = online
        if self._flush is None:
            self._flush = loop.call_at(max(self._quiet_from, now), lambda: asyncio.ensure_future(self.flush()))

    async def flush(self) -> None:
        """Announce everything that waited, one event per conversation."""
        pending, self._pending = self._pending, {}
        if self._flush is not None:
            self._flush.cancel()
            self._flush = None
        self._quiet_from = asyncio.get_running_loop().time() + self.window
        await self._send({
            conversation_id: events.presence_changes(changes.items()) for conversation_id, changes in pending.items()
        })

    async def _send(self, by_conversation: dict) -> None:
        for conversation_id, event in by_conversation.items():
            try:
                await self._publish(conversation_group(conversation_id), event)
            except REDIS_ERRORS as error:
                REDIS.failed(error)
                return
            except Exception:
                logger.warning("Could not announce presence", exc_info=True)
                return


@cache
def process_announcer() -> PresenceAnnouncer:
    """This process's announcer, made on first use."""
    return PresenceAnnouncer()
