"""
Presence: which users have a socket open right now.

Every open socket registers a connection under its user with an expiry
(now + ``PRESENCE_TTL`` seconds), has it refreshed every ``PRESENCE_HEARTBEAT``
seconds (by one task per process for all its sockets, chat.realtime.heartbeat)
and removes it when it closes. A user is online while any of their
connections is unexpired, so the users of a crashed process drop out within
``PRESENCE_TTL`` seconds without anyone cleaning up after it.

Stored in Redis when ``REDIS_URL`` is set (shared by every server process; one
sorted set per user, scored by expiry), else in a dict in this process. The
consumers call ``admit``/``leave`` and broadcast the online/offline transitions
they report; REST adds ``online`` to user objects with ``online_among``.

    store = presence_store()          # this process's store, made on first use
    await store.admit(user_id, channel_name, limit)   # (admitted, came_online, set())
    await store.admit(user_id, channel_name, limit, watch=member_ids)   # and who of them is online, same round trip
"""

import sys
import time
from collections.abc import Iterable
from functools import cache
from typing import NamedTuple

from asgiref.sync import async_to_sync
from django.conf import settings

from core.outages import REDIS, REDIS_ERRORS
from core.runtime.batching import Batched
from core.redis_clients import RedisPerLoop


class Admission(NamedTuple):
    admitted: bool
    came_online: bool  # this was the user's first live connection
    online: set[str]  # who of the watched users is online (once admitted)


class _Presence:
    def __init__(self, ttl: float | None = None, clock=time.time):
        self._ttl = ttl
        # Wall-clock seconds: expiries are shared by every process through Redis.
        self._clock = clock

    @property
    def ttl(self) -> float:
        """The TTL given, else PRESENCE_TTL read at each use, so a settings change applies."""
        return settings.PRESENCE_TTL if self._ttl is None else self._ttl

    async def touch(self, user_id: str, connection_id: str) -> bool:
        """Register or refresh a connection, with no limit; True when the user just came online."""
        return (await self.admit(user_id, connection_id, sys.maxsize))[1]


class MemoryPresence(_Presence):
    """One process's presence; for the embedded default."""

    def __init__(self, ttl: float | None = None, clock=time.time):
        super().__init__(ttl, clock)
        self.connections: dict[str, dict[str, float]] = {}

    def _live(self, user_id: str, now: float) -> dict[str, float]:
        connections = self.connections.get(user_id, {})
        for connection_id in [c for c, expiry in connections.items() if expiry <= now]:
            del connections[connection_id]
        return connections

    async def refresh(self, connections: list[tuple[str, str]]) -> None:
        """Extend the expiry of many ``(user_id, connection_id)`` at once."""
        expiry = self._clock() + self.ttl
        for user_id, connection_id in connections:
            self.connections.setdefault(user_id, {})[connection_id] = expiry

    async def leave(self, user_id: str, connection_id: str) -> bool:
        """Forget a connection; True when it was the user's last one."""
        connections = self._live(user_id, self._clock())
        removed = connections.pop(connection_id, None) is not None
        if not connections:
            self.connections.pop(user_id, None)
        return removed and not connections

    async def online(self, user_ids: Iterable[str]) -> set[str]:
        now = self._clock()
        return {user_id for user_id in user_ids if self._live(user_id, now)}

    async def admit(self, user_id: str, connection_id: str, limit: int, watch: Iterable[str] = ()) -> Admission:
        """
        Register a connection unless the user already has ``limit`` live ones,
        in one step (so a burst of connects cannot pass the limit together),
        and, once admitted, read who of ``watch`` is online.
        """
        now = self._clock()
        live = len(self._live(user_id, now))
        if live >= limit:
            return Admission(False, False, set())
        self.connections.setdefault(user_id, {})[connection_id] = now + self.ttl
        return Admission(True, live == 0, {watched for watched in watch if self._live(watched, now)})


# For each admission asked (ARGV[4] of them; each with its limit, connection
# id and number of watched keys, KEYS holding its own key then the watched
# users'): drop its expired connections, add this one only if fewer than the
# limit are live, then the positions (from 1) of the watched keys holding a
# live connection. One reply per admission: {admitted, came online, positions...}.
_ADMIT_LUA = """
local now, until_, expire = ARGV[1], ARGV[2], ARGV[3]
local k, a, out = 1, 5, {}
for r = 1, tonumber(ARGV[4]) do
    local limit, connection, watched = tonumber(ARGV[a]), ARGV[a + 1], tonumber(ARGV[a + 2])
    local key = KEYS[k]
    redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
    local live = redis.call('ZCARD', key)
    local found = {0, 0}
    if live < limit then
        redis.call('ZADD', key, until_, connection)
        redis.call('EXPIRE', key, expire)
        found[1] = 1
        if live == 0 then found[2] = 1 end
        for i = 1, watched do
            if redis.call('ZCOUNT', KEYS[k + i], now, '+inf') > 0 then found[#found + 1] = i end
        end
    end
    out[r] = found
    k, a = k + 1 + watched, a + 3
end
return out
"""
# Admissions per script call: each reads its members' keys (a room's size), so
# a call stays short on Redis's single thread.
ADMIT_BATCH = 50


class RedisPresence(_Presence):
    """Presence shared through Redis by every server process."""

    def __init__(self, url: str, ttl: float | None = None, clock=time.time):
        super().__init__(ttl, clock)
        self._redis = RedisPerLoop(
            url, max_connections=50, timeout=settings.REDIS_TIMEOUT, **settings.REDIS_CONNECTION_OPTIONS,
            health_check_interval=settings.REDIS_HEALTH_CHECK_INTERVAL,
        )
        # A connect burst's admissions share script calls (core.runtime.batching).
        self._admissions = Batched(self._admit_many, max_size=ADMIT_BATCH, concurrency=2)

    @staticmethod
    def _key(user_id: str) -> str:
        return f"presence:{user_id}"

    async def refresh(self, connections: list[tuple[str, str]]) -> None:
        if not connections:
            return
        expiry = self._clock() + self.ttl
        async with self._redis.client().pipeline(transaction=False) as pipe:
            for user_id, connection_id in connections:
                pipe.zadd(self._key(user_id), {connection_id: expiry})
                pipe.expire(self._key(user_id), int(self.ttl) + 1)
            await pipe.execute()

    async def leave(self, user_id: str, connection_id: str) -> bool:
        key = self._key(user_id)
        async with self._redis.client().pipeline(transaction=True) as pipe:
            pipe.zrem(key, connection_id)
            pipe.zremrangebyscore(key, "-inf", self._clock())
            pipe.zcard(key)
            removed, _, live_after = await pipe.execute()
        return bool(removed) and live_after == 0

    async def admit(self, user_id: str, connection_id: str, limit: int, watch: Iterable[str] = ()) -> Admission:
        return await self._admissions((user_id, connection_id, limit, list(watch)))

    async def _admit_many(self, asks: list[tuple]) -> list[Admission]:
        now = self._clock()
        keys, args = [], [now, now + self.ttl, int(self.ttl) + 1, len(asks)]
        for user_id, connection_id, limit, watch in asks:
            keys += [self._key(user_id), *map(self._key, watch)]
            args += [limit, connection_id, len(watch)]
        replies = await self._redis.script(_ADMIT_LUA)(keys=keys, args=args)
        return [
            Admission(bool(admitted), bool(came_online), {watch[position - 1] for position in online})
            for (_, _, _, watch), (admitted, came_online, *online) in zip(asks, replies, strict=True)
        ]

    async def online(self, user_ids: Iterable[str]) -> set[str]:
        user_ids = list(user_ids)
        if not user_ids:
            return set()
        async with self._redis.client().pipeline(transaction=False) as pipe:
            for user_id in user_ids:
                pipe.zcount(self._key(user_id), self._clock(), "+inf")
            counts = await pipe.execute()
        return {user_id for user_id, count in zip(user_ids, counts) if count}


@cache
def presence_store() -> MemoryPresence | RedisPresence:
    """This process's presence store, made on first use: Redis when REDIS_URL is set."""
    if settings.REDIS_URL:
        return RedisPresence(settings.REDIS_URL)
    return MemoryPresence()


class Unknown(frozenset):
    """Presence that could not be read (Redis unreachable): shown to clients as ``null``."""


UNKNOWN = Unknown()


def online_among(user_ids: Iterable) -> set[str] | Unknown:
    """
    The ids (as strings) of the given users who are online, for sync code;
    ``UNKNOWN`` while the presence store is unreachable, so that what asked
    for presence still answers, without it.
    """
    user_ids = [str(user_id) for user_id in user_ids]
    if not user_ids:
        return set()
    try:
        online = async_to_sync(presence_store().online)(user_ids)
    except REDIS_ERRORS as error:
        REDIS.failed(error)
        return UNKNOWN
    REDIS.succeeded()
    return online
