"""
Outages of the services the backend leans on (Redis above all), as one
process sees them: every caller that can carry on without a service reports
its failures and successes here, and the log gets one warning when an outage
starts and one line when it ends, instead of a traceback per failed call.

    try:
        await publish(group, event)
    except REDIS_ERRORS as error:
        REDIS.failed(error)        # "Redis is unreachable (...)", once per outage
    else:
        REDIS.succeeded()          # "Redis is back after 12.3 s (417 calls failed)", once

``REDIS`` is shared by the channel layer, presence, the rate limiters and the
cache, which all talk to the one Redis of ``REDIS_URL``.

``DATABASE`` is PostgreSQL, which nothing can carry on without: a caller hands
any error to ``database_failed``, which tells an unreachable database (down,
restarting, refusing, no pooled connection free in time) from a query that
failed. The first is counted and logged once per outage, and the caller
answers "try again later" (REST: 503 with Retry-After, core.rest) without a
traceback; the second is counted, and the caller logs it with its traceback.
Every query that works reports the database up (``watch_queries``).

    except Exception as error:
        if not database_failed(error):
            logger.exception("Could not ...")

A socket that cannot be opened because Redis or the database failed is
closed with ``CLOSE_TRY_AGAIN`` (``refuse_socket_for_now``).
"""

import asyncio
import logging
import threading
import time
from collections.abc import Callable

from redis.exceptions import RedisError

from core import metrics

logger = logging.getLogger(__name__)

# What a Redis call raises when Redis is down, refusing, or not answering in time.
REDIS_ERRORS = (RedisError, OSError, asyncio.TimeoutError)
# "Try again later": autobahn (daphne) sends only 1000 and 3000-4999, so not 1013.
CLOSE_TRY_AGAIN = 4503


async def refuse_socket_for_now(send, *, accepted: bool) -> None:
    """
    Close a socket with CLOSE_TRY_AGAIN, accepting it first if it was not
    (a close before accepting reaches the client as a bare HTTP 403).
    """
    if not accepted:
        await send({"type": "websocket.accept"})
    metrics.SOCKET_CLOSES.labels(str(CLOSE_TRY_AGAIN)).inc()
    await send({"type": "websocket.close", "code": CLOSE_TRY_AGAIN})


class Dependency:
    """One service, up or down as its callers last found it."""

    def __init__(
        self, name: str, *, clock: Callable[[], float] = time.monotonic, log: logging.Logger = logger, counter=None,
        meanwhile: str = "carrying on without it until it is back",
        on_down: Callable[[], None] | None = None, on_back: Callable[[], None] | None = None,
    ):
        self.name = name
        self.counter = counter  # a metric counting every failed call
        self.meanwhile = meanwhile  # what the server does while the service is down, for the log
        self.on_down, self.on_back = on_down, on_back  # called once when an outage starts, and when it ends
        self.outages = 0  # outages ended so far: a connection opened before the last one may be dead
        self._clock = clock
        self._log = log
        self._lock = threading.Lock()  # REST threads and the event loop report alike
        self.down_since: float | None = None
        self.failures = 0

    @property
    def down(self) -> bool:
        return self.down_since is not None

    def failed(self, error: BaseException) -> None:
        """A call failed; the first failure of an outage is logged, with what went wrong in one line."""
        if self.counter is not None:
            self.counter.inc()
        with self._lock:
            self.failures += 1
            if self.down_since is not None:
                return
            self.down_since = self._clock()
        self._log.warning("%s is unreachable (%s: %s); %s", self.name, type(error).__name__, error, self.meanwhile)
        if self.on_down is not None:
            self.on_down()

    def succeeded(self) -> None:
        """A call worked; if the service was down, its return is logged."""
        if self.down_since is None:
            return
        with self._lock:
            if self.down_since is None:
                return
            lasted, failures = self._clock() - self.down_since, self.failures
            self.down_since, self.failures = None, 0
            self.outages += 1
        self._log.warning("%s is back after %.1f s (%d calls failed meanwhile)", self.name, lasted, failures)
        if self.on_back is not None:
            self.on_back()


REDIS = Dependency("Redis", counter=metrics.REDIS_ERRORS)

# While the database is down, a request waits this long for a pooled
# connection (instead of the pool's timeout, 10 s) before its 503: Django's
# synchronous views take turns on one thread, and would queue behind each other.
POOL_TIMEOUT_WHILE_DOWN = 1.0


def _orm_pool():
    """The ORM's connection pool (PostgreSQL with DATABASE_POOL), or None."""
    from django.db import DEFAULT_DB_ALIAS, connections

    return getattr(connections[DEFAULT_DB_ALIAS], "pool", None)


def _configured_pool_timeout() -> float:
    from django.conf import settings
    from django.db import DEFAULT_DB_ALIAS

    options = settings.DATABASES[DEFAULT_DB_ALIAS].get("OPTIONS", {}).get("pool")
    return options.get("timeout", 30.0) if isinstance(options, dict) else 30.0  # 30: psycopg_pool's own


def _wait_less_for_connections() -> None:
    pool = _orm_pool()
    if pool is not None:
        pool.timeout = min(_configured_pool_timeout(), POOL_TIMEOUT_WHILE_DOWN)


def _wait_as_configured() -> None:
    pool = _orm_pool()
    if pool is not None:
        pool.timeout = _configured_pool_timeout()


def _check_pooled_connections() -> None:
    """
    When the database is back: the pool waits as long as before, and tests
    its idle connections, replacing those the outage ended (a restart ends
    every session), on a thread of its own, so no request is handed one and
    fails after the outage.
    """
    _wait_as_configured()
    pool = _orm_pool()
    if pool is None:
        return

    def check():
        try:
            pool.check()
        except Exception as error:  # down again: the next outage is reported by its callers
            logger.info("Could not check the pooled connections: %s: %s", type(error).__name__, error)

    threading.Thread(target=check, name="database-pool-check", daemon=True).start()


DATABASE = Dependency(
    "PostgreSQL", counter=metrics.DATABASE_ERRORS, on_down=_wait_less_for_connections,
    on_back=_check_pooled_connections,
    meanwhile="answering 503 and closing new sockets with 4503 until it is back",
)

# SQLSTATEs of a server that ended the session or cannot take one: class 08
# (connection exceptions) and the shutdowns of class 57 (not 57014, a
# cancelled query: a statement timeout is the query's failure, not an outage).
_UNREACHABLE_STATES = ("57P01", "57P02", "57P03")


def database_unreachable(error: BaseException) -> bool:
    """
    Whether ``error`` (Django's or psycopg's, or one raised from either) says
    the database cannot be reached: a connection refused or lost, a server
    shutting down or starting up, or no pooled connection free within the
    pool's timeout. A query that failed on a working connection (a
    constraint, a deadlock, a timeout) is not.
    """
    import psycopg

    while error is not None:  # Django raises its errors from the driver's
        if isinstance(error, psycopg.InterfaceError):  # "the connection is closed"
            return True
        if isinstance(error, psycopg.OperationalError):
            state = error.sqlstate
            return state is None or state.startswith("08") or state in _UNREACHABLE_STATES
        if isinstance(error, psycopg.Error):
            return False
        error = error.__cause__
    return False


def database_failed(error: BaseException) -> bool:
    """
    Count ``error`` if it is a database error. True if it says the database
    is unreachable: ``DATABASE`` logged it (once per outage) and the caller
    logs nothing. False otherwise: the caller logs it, with its traceback.
    """
    from django.db import DatabaseError

    if database_unreachable(error):
        DATABASE.failed(error)
        return True
    if isinstance(error, DatabaseError):
        metrics.DATABASE_ERRORS.inc()
    return False


def _query_worked(execute, sql, params, many, context):
    result = execute(sql, params, many, context)
    DATABASE.succeeded()
    return result


def watch_queries(sender, connection, **kwargs) -> None:
    """
    On ``connection_created``: every query of the ORM that works on this
    connection reports the database up (a name check when it was not down).
    """
    if _query_worked not in connection.execute_wrappers:
        connection.execute_wrappers.append(_query_worked)


class OncePerOutage(logging.Filter):
    """
    For a library's logger that reports every failed retry with a traceback
    (channels_redis's receive loop logs one a second while Redis is down):
    let one record through per ``interval`` seconds, without its traceback.
    """

    def __init__(self, interval: float = 60.0, clock: Callable[[], float] = time.monotonic):
        super().__init__()
        self.interval = interval
        self._clock = clock
        self._last = float("-inf")

    def filter(self, record: logging.LogRecord) -> bool:
        now = self._clock()
        if now - self._last < self.interval:
            return False
        self._last = now
        if record.exc_info:
            error = record.exc_info[1]
            record.msg = f"{record.getMessage()}: {type(error).__name__}: {error}"
            record.args, record.exc_info, record.exc_text = None, None, None
        return True
