"""core.outages: one log line when a service goes away, one when it is back."""

import logging
import sys

from core.outages import Dependency, OncePerOutage
from tests.plugins.clocks import FakeClock


def test_an_outage_is_logged_once_when_it_starts_and_once_when_it_ends(caplog):
    clock = FakeClock()
    redis = Dependency("Redis", clock=clock)
    for _ in range(500):
        redis.failed(ConnectionError("Connection refused"))
    assert redis.down
    clock.advance(12.5)
    redis.succeeded()
    redis.succeeded()
    assert not redis.down
    assert caplog.messages == [
        "Redis is unreachable (ConnectionError: Connection refused); carrying on without it until it is back",
        "Redis is back after 12.5 s (500 calls failed meanwhile)",
    ]
    assert all(record.exc_info is None for record in caplog.records)


def test_a_second_outage_is_logged_again(caplog):
    redis = Dependency("Redis", clock=FakeClock())
    for _ in range(2):
        redis.failed(TimeoutError("timed out"))
        redis.succeeded()
    assert len(caplog.messages) == 4


def record_with_traceback(message: str) -> logging.LogRecord:
    try:
        raise ConnectionError("Connection refused")
    except ConnectionError:
        exc_info = sys.exc_info()
    return logging.LogRecord("channels_redis.pubsub", logging.ERROR, __file__, 1, message, None, exc_info)


def test_a_library_retrying_every_second_is_let_through_once_a_minute_in_one_line():
    clock = FakeClock()
    once = OncePerOutage(interval=60, clock=clock)
    passed = []
    for _ in range(120):
        record = record_with_traceback("Unexpected exception in receive task")
        if once.filter(record):
            passed.append(record)
        clock.advance(1)
    assert len(passed) == 2
    assert passed[0].getMessage() == "Unexpected exception in receive task: ConnectionError: Connection refused"
    assert passed[0].exc_info is None
