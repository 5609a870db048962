"""
Health checks for load balancers, orchestrators and the Docker HEALTHCHECK.

- ``/health/live``: the process answers HTTP. Restart it when this fails.
- ``/health/ready`` (and ``/health/``, its older name): PostgreSQL (or
  SQLite) answers ``SELECT 1`` and, when ``REDIS_URL`` is set, Redis answers
  ``PING``, each within ``HEALTH_CHECK_TIMEOUT`` seconds; else 503 naming
  what failed. Send traffic only while this is 200.

    {"status": "ok", "checks": {"database": "ok", "redis": "ok"}}
    {"status": "unavailable", "checks": {"database": "ok", "redis": "failed: ConnectionError"}}

A database that hangs holds one thread for as long as it hangs: a check finds
the previous one still running and reports that instead of starting another,
so a stream of probes never piles up threads. Answers are never cached
(``Cache-Control: no-store``) and name only the failing dependency and the
kind of failure (the endpoint is public: a driver's message can hold host
names); the full error goes to the log.
"""

import asyncio
import logging
import threading

from django.conf import settings
from django.db import connections
from django.http import JsonResponse
from django.views.decorators.http import require_safe

from core.redis_clients import RedisPerLoop

logger = logging.getLogger(__name__)
_database_check_running = threading.Lock()
_redis: RedisPerLoop | None = None


def _database_answers() -> None:
    """``SELECT 1`` on a connection of this thread's own, closed after (returned to the pool)."""
    try:
        connection = connections["default"]
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    finally:
        connections.close_all()
        _database_check_running.release()


async def _database() -> None:
    if not _database_check_running.acquire(blocking=False):
        raise TimeoutError("the previous check has not returned")
    loop = asyncio.get_running_loop()
    await asyncio.wait_for(
        asyncio.shield(loop.run_in_executor(None, _database_answers)), settings.HEALTH_CHECK_TIMEOUT
    )


async def _redis_answers() -> None:
    global _redis
    if _redis is None:
        timeout = settings.HEALTH_CHECK_TIMEOUT
        _redis = RedisPerLoop(settings.REDIS_URL, socket_timeout=timeout, socket_connect_timeout=timeout,
                              max_connections=2, timeout=timeout)
    await asyncio.wait_for(_redis.client().ping(), settings.HEALTH_CHECK_TIMEOUT)


def _outcome(name: str, result) -> str:
    if result is None:
        return "ok"
    if isinstance(result, TimeoutError):
        outcome = f"failed: no answer within {settings.HEALTH_CHECK_TIMEOUT} s"
        if str(result):
            outcome += f" ({result})"
    else:
        outcome = f"failed: {type(result).__name__}"
    logger.warning("Readiness check: %s %s: %s", name, outcome, result)
    return outcome


def _answer(data: dict, status: int) -> JsonResponse:
    response = JsonResponse(data, status=status)
    response["Cache-Control"] = "no-store"
    return response


@require_safe
async def live(request):
    """The process is up and its event loop answers."""
    return _answer({"status": "ok"}, 200)


@require_safe
async def ready(request):
    """Every dependency answers in time: 200, else 503 with which one did not."""
    names, checks = ["database"], [_database()]
    if settings.REDIS_URL:
        names.append("redis")
        checks.append(_redis_answers())
    results = await asyncio.gather(*checks, return_exceptions=True)
    outcomes = {name: _outcome(name, result) for name, result in zip(names, results)}
    healthy = all(result is None for result in results)
    return _answer({"status": "ok" if healthy else "unavailable", "checks": outcomes}, 200 if healthy else 503)
