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
        self, name: str, *, clock: Callable[[], float] = time.monotonic, log: logging.Logger = logger, counter=None
    ):
        self.name = name
        self.counter = counter  # a metric counting every failed call
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
        self._log.warning(
            "%s is unreachable (%s: %s); carrying on without it until it is back",
            self.name, type(error).__name__, error,
        )

    def succeeded(self) -> None:
        """A call worked; if the service was down, its return is logged."""
        if self.down_since is None:
            return
        with self._lock:
            if self.down_since is None:
                return
            lasted, failures = self._clock() - self.down_since, self.failures
            self.down_since, self.failures = None, 0
        self._log.warning("%s is back after %.1f s (%d calls failed meanwhile)", self.name, lasted, failures)


REDIS = Dependency("Redis", counter=metrics.REDIS_ERRORS)


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
