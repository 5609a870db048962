"""
Presence: which users have a socket open right now.

Every open socket registers a connection under its user with an expiry
(now + ``PRESENCE_TTL`` seconds), has it refreshed every ``PRESENCE_HEARTBEAT``
seconds (by one task per process for all its sockets, chat.consumers.Heartbeat)
and removes it when it closes. A user is online while any of their
connections is unexpired, so the users of a crashed process drop out within
``PRESENCE_TTL`` seconds without anyone cleaning up after it.

Stored in Redis when ``REDIS_URL`` is set (shared by every server process; one
sorted set per user, scored by expiry), else in a dict in this process. The
consumers call ``touch``/``leave`` and broadcast the online/offline transitions
they report; REST adds ``online`` to user objects with ``online_among``.
"""

import asyncio
import time
from collections.abc import Iterable

from asgiref.sync import async_to_sync
from django.conf import settings


class _Presence:
    def __init__(self, ttl: float | None = None):
        self._ttl = ttl

    @property
    def ttl(self) -> float:
        """The TTL given, else PRESENCE_TTL read at each use, so a settings change applies."""
        return settings.PRESENCE_TTL if self._ttl is None else self._ttl


class MemoryPresence(_Presence):
    """One process's presence; for the embedded default."""

    def __init__(self, ttl: float | None = None):
        super().__init__(ttl)
        self.connections: dict[str, dict[str, float]] = {}

    def _live(self, user_id: str, now: float) -> dict[str, float]:
        connections = self.connections.get(user_id, {})
        for connection_id in [c for c, expiry in connections.items() if expiry <= now]:
            del connections[connection_id]
        return connections

    async def touch(self, user_id: str, connection_id: str) -> bool:
        """Register or refresh a connection; True when the user just came online."""
        now = time.time()
        connections = self.connections.setdefault(user_id, {})
        was_online = bool(self._live(user_id, now))
        connections[connection_id] = now + self.ttl
        return not was_online

    async def refresh(self, connections: list[tuple[str, str]]) -> None:
        """Extend the expiry of many ``(user_id, connection_id)`` at once."""
        expiry = time.time() + self.ttl
        for user_id, connection_id in connections:
            self.connections.setdefault(user_id, {})[connection_id] = expiry

    async def leave(self, user_id: str, connection_id: str) -> bool:
        """Forget a connection; True when it was the user's last one."""
        connections = self._live(user_id, time.time())
        removed = connections.pop(connection_id, None) is not None
        if not connections:
            self.connections.pop(user_id, None)
        return removed and not connections

    async def online(self, user_ids: Iterable[str]) -> set[str]:
        now = time.time()
        return {user_id for user_id in user_ids if self._live(user_id, now)}


class RedisPresence(_Presence):
    """Presence shared through Redis by every server process."""

    def __init__(self, url: str, ttl: float | None = None):
        super().__init__(ttl)
        self.url = url
        # redis.asyncio clients belong to the event loop that made them.
        self._clients: dict[asyncio.AbstractEventLoop, object] = {}

    def _client(self):
        import redis.asyncio

        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            for old_loop in [old for old in self._clients if old.is_closed()]:
                del self._clients[old_loop]
            # Blocking pool: a burst of connecting sockets waits for a free
            # connection instead of failing once the pool is full.
            pool = redis.asyncio.BlockingConnectionPool.from_url(
                self.url, max_connections=50, timeout=10
            )
            client = self._clients[loop] = redis.asyncio.Redis(connection_pool=pool)
        return client

    @staticmethod
    def _key(user_id: str) -> str:
        return f"presence:{user_id}"

    async def touch(self, user_id: str, connection_id: str) -> bool:
        now = time.time()
        key = self._key(user_id)
        async with self._client().pipeline(transaction=True) as pipe:
            pipe.zremrangebyscore(key, "-inf", now)
            pipe.zcard(key)
            pipe.zadd(key, {connection_id: now + self.ttl})
            pipe.expire(key, int(self.ttl) + 1)
            _, live_before, _, _ = await pipe.execute()
        return live_before == 0

    async def refresh(self, connections: list[tuple[str, str]]) -> None:
        if not connections:
            return
        expiry = time.time() + self.ttl
        async with self._client().pipeline(transaction=False) as pipe:
            for user_id, connection_id in connections:
                pipe.zadd(self._key(user_id), {connection_id: expiry})
                pipe.expire(self._key(user_id), int(self.ttl) + 1)
            await pipe.execute()

    async def leave(self, user_id: str, connection_id: str) -> bool:
        key = self._key(user_id)
        async with self._client().pipeline(transaction=True) as pipe:
            pipe.zrem(key, connection_id)
            pipe.zremrangebyscore(key, "-inf", time.time())
            pipe.zcard(key)
            removed, _, live_after = await pipe.execute()
        return bool(removed) and live_after == 0

    async def online(self, user_ids: Iterable[str]) -> set[str]:
        user_ids = list(user_ids)
        if not user_ids:
            return set()
        async with self._client().pipeline(transaction=False) as pipe:
            for user_id in user_ids:
                pipe.zcount(self._key(user_id), time.time(), "+inf")
            counts = await pipe.execute()
        return {user_id for user_id, count in zip(user_ids, counts) if count}


def _make_presence():
    if settings.REDIS_URL:
        return RedisPresence(settings.REDIS_URL)
    return MemoryPresence()


presence = _make_presence()


def online_among(user_ids: Iterable) -> set[str]:
    """The ids (as strings) of the given users who are online; for sync code."""
    return async_to_sync(presence.online)([str(user_id) for user_id in user_ids])
