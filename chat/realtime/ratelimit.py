"""
Per-user rate limits for WebSocket actions ("at most 20 messages per 10
seconds"), shared by every server process when ``REDIS_URL`` is set.

The algorithm is GCRA (the generic cell rate algorithm, a token bucket kept as
one timestamp): each (action, user) has a theoretical arrival time ``tat``;
every allowed hit pushes it ``period / count`` seconds further, and a hit is
refused while that would put it more than ``period`` ahead of now. So a burst
of ``count`` passes at once, then one more every ``period / count`` seconds;
a refused hit changes nothing, and ``retry_after`` is exactly how long to wait.

Stored in Redis when ``REDIS_URL`` is set (one key per action and user,
updated by a Lua script on the Redis server's clock, so processes whose clocks
disagree still agree; the key expires once it is back to full capacity), else
in a dict in this process. If Redis is unreachable the limiter fails open:
actions are allowed (``degraded=True``) rather than the chat stopping.

    limiter = rate_limiter()          # this process's limiter, made on first use
    verdict = await limiter.hit("message", user_id, rate=Rate.parse("20/10s"))  # core.rates' syntax
    if not verdict.allowed:
        ...  # tell the client to retry in verdict.retry_after seconds

No Channels here: consumers call ``hit`` and turn a refusal into an error frame.
"""

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

from django.conf import settings

from core.outages import REDIS, REDIS_ERRORS, Dependency
# The rate syntax is core's: one parser for these limits and the REST throttles.
from core.rates import Rate
from core.redis_clients import RedisPerLoop
from core.runtime.batching import Batched


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after: float = 0.0  # seconds until one more hit would be allowed; 0 when allowed
    degraded: bool = False  # allowed only because the shared store could not be asked


ALLOWED = Verdict(True)

# Float rounding: 3 × (10/3) s comes out a hair over 10 s. A microsecond of
# slack keeps a burst whole and lets in a client that waits exactly retry_after.
_SLACK = 1e-6


class MemoryRateLimiter:
    """One process's rate limits; for the embedded default."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic, max_entries: int = 10_000):
        self._clock = clock
        self._max_entries = max_entries
        self._prune_at = max_entries
        # (action, user) -> theoretical arrival time; at or before now means full capacity.
        self._tat: dict[tuple[str, str], float] = {}

    async def hit(self, action: str, user_id, *, rate: Rate | None) -> Verdict:
        """Count one ``action`` by ``user_id`` against ``rate`` (None: unlimited)."""
        if rate is None:
            return ALLOWED
        now = self._clock()
        key = (action, str(user_id))
        new_tat = max(self._tat.get(key, now), now) + rate.interval
        retry_after = new_tat - rate.period - now
        if retry_after > _SLACK:
            return Verdict(False, retry_after)
        if len(self._tat) >= self._prune_at:
            self._tat = {k: tat for k, tat in self._tat.items() if tat > now}
            # Live entries are never dropped (that would forgive their hits); if
            # many remain, prune again only once the dict has doubled.
            self._prune_at = max(self._max_entries, 2 * len(self._tat))
        self._tat[key] = new_tat
        return ALLOWED

    def __len__(self) -> int:
        return len(self._tat)


# The same algorithm in integer microseconds on the Redis server's clock, for
# several hits at once (the frames of many sockets that came in one loop pass;
# core.runtime.batching). KEYS[i]: hit i's key; ARGV[2i-1], ARGV[2i]: its
# microseconds per hit and count. Returns, for each hit in order, {1, 0} when
# allowed, {0, microseconds to wait} when refused. A key expires (PX,
# milliseconds) when its tat is reached: that would mean full capacity.
_GCRA_LUA = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local out = {}
for i = 1, #KEYS do
    local interval = tonumber(ARGV[2 * i - 1])
    local limit = interval * tonumber(ARGV[2 * i])
    local tat = tonumber(redis.call('GET', KEYS[i])) or now
    if tat < now then tat = now end
    local new_tat = tat + interval
    local wait = new_tat - limit - now
    if wait > 0 then
        out[i] = {0, wait}
    else
        redis.call('SET', KEYS[i], string.format('%.0f', new_tat), 'PX', math.ceil((new_tat - now) / 1000))
        out[i] = {1, 0}
    end
end
return out
"""
# Hits per script call.
HIT_BATCH = 100


class RedisRateLimiter:
    """Rate limits shared through Redis by every server process; allows all while Redis is down."""

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "ratelimit:",
        socket_timeout: float = 0.5,
        connect_timeout: float = 0.5,
        redis: Dependency = REDIS,
    ):
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff

        self.prefix = prefix
        self.redis = redis
        # Short timeouts and no retries: a hung Redis must not stall the
        # socket that asked; failing open is better than waiting.
        self._redis = RedisPerLoop(
            url,
            max_connections=50,
            timeout=connect_timeout,
            socket_connect_timeout=connect_timeout,
            socket_timeout=socket_timeout,
            retry=Retry(NoBackoff(), 0),
        )
        # Hits asked while others are on their way share a script call.
        self._hits = Batched(self._hit_many, max_size=HIT_BATCH, concurrency=2)

    async def _hit_many(self, hits: list[tuple]) -> list:
        args = []
        for _, interval_us, count in hits:
            args += [interval_us, count]
        return await self._redis.script(_GCRA_LUA)(keys=[key for key, _, _ in hits], args=args)

    async def hit(self, action: str, user_id, *, rate: Rate | None) -> Verdict:
        """Count one ``action`` by ``user_id`` against ``rate`` (None: unlimited)."""
        if rate is None:
            return ALLOWED
        interval_us = math.ceil(rate.interval * 1_000_000)
        try:
            allowed, wait_us = await self._hits((f"{self.prefix}{action}:{user_id}", interval_us, rate.count))
        except REDIS_ERRORS as error:
            self.redis.failed(error)
            return Verdict(True, degraded=True)
        self.redis.succeeded()
        return ALLOWED if allowed else Verdict(False, wait_us / 1_000_000)

    async def aclose(self) -> None:
        """Close this limiter's Redis clients (for tests and shutdown)."""
        await self._redis.aclose()


@cache
def rate_limiter() -> MemoryRateLimiter | RedisRateLimiter:
    """This process's rate limiter, made on first use: Redis when REDIS_URL is set."""
    if settings.REDIS_URL:
        return RedisRateLimiter(settings.REDIS_URL)
    return MemoryRateLimiter()
