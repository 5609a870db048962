"""
The presence heartbeat: one task per process, not one per socket.

Every ``PRESENCE_HEARTBEAT`` seconds it refreshes the presence of every open
socket of the process in one round trip to the presence store, reads who is
online among the members the sockets watch, and hands each socket that
snapshot (``await socket.presence_refresh(online, taken_at)``) so it can report
changes nobody announced. Idle sockets stay small and Redis sees one pipeline
per beat. A socket is anything with ``user_id``, ``channel_name``,
``watched_user_ids`` and ``presence_refresh``.

    heartbeat = process_heartbeat()
    heartbeat.add(consumer)      # after accepting; starts the task if needed
    heartbeat.discard(consumer)  # in disconnect; stops it with the last socket
"""

import asyncio
import logging
import time
from collections.abc import Callable
from functools import cache

from django.conf import settings

from core.outages import REDIS, REDIS_ERRORS

from .presence import presence_store

logger = logging.getLogger(__name__)


class Heartbeat:
    def __init__(self, *, store=None, interval: float | None = None, clock: Callable[[], float] = time.monotonic):
        self.sockets: set = set()
        self._store = store
        self._interval = interval
        self._clock = clock
        self._task: asyncio.Task | None = None

    @property
    def store(self):
        return self._store if self._store is not None else presence_store()

    @property
    def interval(self) -> float:
        return settings.PRESENCE_HEARTBEAT if self._interval is None else self._interval

    def add(self, socket) -> None:
        self.sockets.add(socket)
        if self._task is None or self._task.done():
            self._task = asyncio.ensure_future(self._run())

    def discard(self, socket) -> None:
        self.sockets.discard(socket)
        if not self.sockets and self._task is not None:
            self._task.cancel()
            self._task = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            await self.beat()

    async def beat(self) -> None:
        """One beat: refresh, snapshot, hand the snapshot to each socket still open."""
        sockets = list(self.sockets)
        try:
            await self.store.refresh([(s.user_id, s.channel_name) for s in sockets])
            taken_at = self._clock()
            online = await self.store.online({u for s in sockets for u in s.watched_user_ids})
        except REDIS_ERRORS as error:
            REDIS.failed(error)
            return
        except Exception:
            logger.warning("Presence heartbeat failed", exc_info=True)
            return
        REDIS.succeeded()
        for socket in sockets:
            if socket not in self.sockets:  # closed meanwhile
                continue
            try:
                await socket.presence_refresh(online, taken_at)
            except Exception:  # the client went away mid-send
                logger.debug("Presence refresh failed", exc_info=True)


@cache
def process_heartbeat() -> Heartbeat:
    """This process's heartbeat, made on first use."""
    return Heartbeat()
