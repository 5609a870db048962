"""Socket rate limits: the in-process limiter on a fake clock, the Redis limiter and its fail-open (the rate syntax: tests/core/test_rates.py)."""

import asyncio
import logging
import os
import time
import uuid

import pytest

from chat.realtime.ratelimit import MemoryRateLimiter, Rate, RedisRateLimiter, rate_limiter
from tests.plugins.clocks import FakeClock

NOTHING_LISTENS = "redis://127.0.0.1:6399/0"
LOGGER = "core.outages"


# --- In-process limiter ---------------------------------------------------------------------


async def hits(limiter, n, action="message", user="ann", rate=Rate(3, 3.0)):
    return [(await limiter.hit(action, user, rate=rate)).allowed for _ in range(n)]


async def test_a_burst_of_count_is_allowed_then_refused():
    limiter = MemoryRateLimiter(clock=FakeClock())
    assert await hits(limiter, 3) == [True, True, True]
    verdict = await limiter.hit("message", "ann", rate=Rate(3, 3.0))
    assert not verdict.allowed and not verdict.degraded


async def test_retry_after_is_exactly_the_wait_for_one_more():
    clock = FakeClock()
    limiter = MemoryRateLimiter(clock=clock)
    rate = Rate(3, 3.0)  # one more every second once the burst is spent
    await hits(limiter, 3)
    clock.advance(0.25)
    verdict = await limiter.hit("message", "ann", rate=rate)
    assert verdict.retry_after == pytest.approx(0.75)
    clock.advance(verdict.retry_after - 0.01)
    assert not (await limiter.hit("message", "ann", rate=rate)).allowed, "a little early"
    clock.advance(0.01)
    assert (await limiter.hit("message", "ann", rate=rate)).allowed, "waited retry_after"
    assert (await limiter.hit("message", "ann", rate=rate)).retry_after == pytest.approx(1.0)


@pytest.mark.parametrize("rate", [Rate(3, 1.0), Rate(5, 0.3), Rate(7, 60.0)], ids=str)
async def test_a_burst_is_whole_despite_float_rounding(rate):
    # count × (period / count) comes out a hair over period for these.
    limiter = MemoryRateLimiter(clock=FakeClock())
    assert await hits(limiter, rate.count + 1, rate=rate) == [True] * rate.count + [False]


async def test_retry_after_is_honoured_at_a_real_wall_clock_time(clock):
    # A rate whose interval is not exact in binary, at a large clock value.
    limiter = MemoryRateLimiter(clock=clock)
    rate = Rate(3, 10.0)
    assert await hits(limiter, 3, rate=rate) == [True, True, True]
    for _ in range(5):
        verdict = await limiter.hit("message", "ann", rate=rate)
        assert not verdict.allowed and verdict.retry_after > 0
        clock.advance(verdict.retry_after)
        assert (await limiter.hit("message", "ann", rate=rate)).allowed


async def test_refused_hits_do_not_use_capacity():
    clock = FakeClock()
    limiter = MemoryRateLimiter(clock=clock)
    await hits(limiter, 3)
    assert await hits(limiter, 100) == [False] * 100
    clock.advance(1.0)
    assert await hits(limiter, 2) == [True, False]
    clock.advance(3.0)
    assert await hits(limiter, 4) == [True, True, True, False], "full capacity back after a period"


async def test_users_and_actions_are_limited_separately():
    limiter = MemoryRateLimiter(clock=FakeClock())
    await hits(limiter, 3)
    assert await hits(limiter, 1) == [False]
    assert await hits(limiter, 3, user="ben") == [True] * 3
    assert await hits(limiter, 3, action="typing") == [True] * 3


async def test_no_rate_means_unlimited():
    limiter = MemoryRateLimiter(clock=FakeClock())
    assert await hits(limiter, 1000, rate=None) == [True] * 1000
    assert len(limiter) == 0


async def test_memory_stays_bounded_by_forgetting_expired_entries():
    clock = FakeClock()
    limiter = MemoryRateLimiter(clock=clock, max_entries=100)
    for n in range(100):
        await limiter.hit("message", f"user{n}", rate=Rate(3, 3.0))
    assert len(limiter) == 100
    clock.advance(1.0)  # one hit's interval: every entry is back to full capacity
    await limiter.hit("message", "late", rate=Rate(3, 3.0))
    assert len(limiter) == 1


async def test_pruning_keeps_entries_still_limited():
    clock = FakeClock()
    limiter = MemoryRateLimiter(clock=clock, max_entries=10)
    for n in range(10):
        await hits(limiter, 3, user=f"user{n}")
    await limiter.hit("message", "late", rate=Rate(3, 3.0))
    assert len(limiter) == 11
    assert await hits(limiter, 1, user="user0") == [False], "a full dict does not forgive"


def test_the_embedded_default_is_in_memory(settings):
    settings.REDIS_URL = ""
    rate_limiter.cache_clear()
    try:
        assert isinstance(rate_limiter(), MemoryRateLimiter)
        assert rate_limiter() is rate_limiter()
    finally:
        rate_limiter.cache_clear()


# --- Redis limiter ---------------------------------------------------------------------------


@pytest.fixture
async def redis_limiter():
    """A limiter on the real Redis; each test uses fresh user ids, so nothing needs deleting."""
    if not os.environ.get("REDIS_URL"):
        pytest.skip("needs REDIS_URL")
    limiter = RedisRateLimiter(os.environ["REDIS_URL"])
    yield limiter
    await limiter.aclose()


async def test_redis_allows_a_burst_then_refuses_until_time_passes(redis_limiter):
    user, rate = uuid.uuid4(), Rate(2, 0.3)
    assert await hits(redis_limiter, 2, user=user, rate=rate) == [True, True]
    verdict = await redis_limiter.hit("message", user, rate=rate)
    assert not verdict.allowed and not verdict.degraded
    assert 0.1 < verdict.retry_after <= 0.15
    assert await hits(redis_limiter, 20, user=user, rate=rate) == [False] * 20, "refusals use nothing"
    await asyncio.sleep(verdict.retry_after)
    assert await hits(redis_limiter, 2, user=user, rate=rate) == [True, False]


async def test_redis_limits_are_shared_between_processes_and_separate_per_user_and_action(redis_limiter):
    other_process = RedisRateLimiter(os.environ["REDIS_URL"])
    user, rate = uuid.uuid4(), Rate(2, 10.0)
    try:
        assert await hits(redis_limiter, 1, user=user, rate=rate) == [True]
        assert await hits(other_process, 2, user=user, rate=rate) == [True, False]
        assert await hits(redis_limiter, 1, user=user, rate=rate) == [False]
        assert await hits(redis_limiter, 2, user=uuid.uuid4(), rate=rate) == [True, True]
        assert await hits(redis_limiter, 2, action="typing", user=user, rate=rate) == [True, True]
    finally:
        await other_process.aclose()



async def test_redis_hits_asked_at_once_share_a_script_call_and_each_gets_its_verdict(redis_limiter):
    """Many sockets' frames in one loop pass: one round trip, the same verdicts as one at a time."""
    calls = []
    script = redis_limiter._redis.script

    def counted(lua):
        run = script(lua)

        async def call(**kwargs):
            calls.append(kwargs["keys"])
            return await run(**kwargs)

        return call

    redis_limiter._redis.script = counted
    busy, calm, rate = uuid.uuid4(), uuid.uuid4(), Rate(2, 10.0)
    asks = [busy, calm, busy, busy, calm]
    verdicts = await asyncio.gather(*(redis_limiter.hit("message", user, rate=rate) for user in asks))
    assert [verdict.allowed for verdict in verdicts] == [True, True, True, False, True]
    assert 4.9 < verdicts[3].retry_after <= 5.0
    assert len(calls) == 1 and len(calls[0]) == 5


async def test_redis_keys_expire_once_back_to_full_capacity(redis_limiter):
    user = uuid.uuid4()
    await hits(redis_limiter, 2, user=user, rate=Rate(2, 0.3))
    client = redis_limiter._redis.client()
    ttl = await client.pttl(f"ratelimit:message:{user}")
    assert 0 < ttl <= 300


async def test_redis_recovery_is_logged_once(redis_limiter, caplog):
    caplog.set_level(logging.INFO, logger=LOGGER)
    redis_limiter._redis.url = NOTHING_LISTENS
    assert (await redis_limiter.hit("message", uuid.uuid4(), rate=Rate(1, 10.0))).degraded
    await redis_limiter.aclose()
    redis_limiter._redis.url = os.environ["REDIS_URL"]
    user = uuid.uuid4()
    assert await hits(redis_limiter, 3, user=user, rate=Rate(1, 10.0)) == [True, False, False]
    messages = [r.getMessage() for r in caplog.records if r.name == LOGGER]
    assert len(messages) == 2 and "unreachable" in messages[0] and "is back" in messages[1]


# --- Failing open ----------------------------------------------------------------------------


async def test_unreachable_redis_allows_quickly_and_warns_once(caplog):
    caplog.set_level(logging.INFO, logger=LOGGER)
    limiter = RedisRateLimiter(NOTHING_LISTENS)
    started = time.monotonic()
    try:
        verdicts = [await limiter.hit("message", "ann", rate=Rate(1, 10.0)) for _ in range(5)]
    finally:
        await limiter.aclose()
    assert time.monotonic() - started < 2
    assert all(v.allowed and v.degraded for v in verdicts)
    warnings = [r for r in caplog.records if r.name == LOGGER]
    assert [r.levelname for r in warnings] == ["WARNING"]
    assert warnings[0].exc_info is None, "one line, not a traceback"


async def test_hung_redis_times_out_and_allows(caplog):
    # Accepts connections and never answers, like a stalled server.
    connections = []

    async def swallow(reader, writer):
        connections.append(writer)
        await reader.read()

    server = await asyncio.start_server(swallow, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    limiter = RedisRateLimiter(f"redis://127.0.0.1:{port}/0", socket_timeout=0.2)
    started = time.monotonic()
    try:
        async with asyncio.timeout(3):
            verdict = await limiter.hit("message", "ann", rate=Rate(1, 10.0))
    finally:
        await limiter.aclose()
        for writer in connections:
            writer.close()
        server.close()
    assert verdict.allowed and verdict.degraded
    assert time.monotonic() - started < 1
