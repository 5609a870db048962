"""
What one test must not leave to the next: Redis counted as up, attachments
in the test's own folder, no request counted by the REST rate limits, no
delivered positions waiting; and
the settings every test runs with (a fast password hasher) or may change
(``rest_settings``).
"""

import functools

import pytest


@pytest.fixture(autouse=True)
def redis_assumed_up():
    """Each test starts with Redis counted as up (core.outages), whatever the last one did."""
    from core.outages import REDIS

    REDIS.down_since, REDIS.failures = None, 0


@pytest.fixture(autouse=True)
def database_assumed_up():
    """Each test ends with the database counted as up (core.outages), and its pool waiting as configured."""
    from core import outages

    yield
    if outages.DATABASE.down:
        outages.DATABASE.down_since, outages.DATABASE.failures = None, 0
        outages._wait_as_configured()


@pytest.fixture(autouse=True)
def attachment_files(settings, tmp_path):
    """Attachments (and data exports' archives, under exports/) go to the test's own folder (the returned path), never the project's."""
    root = tmp_path / "attachments"
    settings.STORAGES = {
        **settings.STORAGES,
        "attachments": {"BACKEND": "django.core.files.storage.FileSystemStorage",
                        "OPTIONS": {"location": root, "base_url": None}},
        "exports": {"BACKEND": "django.core.files.storage.FileSystemStorage",
                    "OPTIONS": {"location": root / "exports", "base_url": None}},
    }
    return root


@pytest.fixture(autouse=True)
def presence_at_once(settings):
    """
    In-process sockets hear each presence change at once, in order, and no
    test inherits the last one's pending announcements; the tests of the
    announcer (and the server processes tests start) use the default window.
    """
    from chat.realtime.announcer import process_announcer

    settings.PRESENCE_COALESCE_SECONDS = 0
    process_announcer.cache_clear()


@pytest.fixture(autouse=True)
def deliveries_held(settings):
    """
    In-process sockets' delivered positions wait for the test to flush them
    (``await process_deliveries().flush()``): an hour's interval, so no test
    gets a ``chat.delivered`` frame it did not ask for, nor inherits the last
    one's positions. The server processes tests start use the default.
    """
    from chat.realtime import delivery_flush
    from chat.realtime.delivery_flush import process_deliveries

    settings.CHAT_DELIVERY_FLUSH_SECONDS = 3600
    process_deliveries.cache_clear()
    delivery_flush._push_deliveries = None
    yield
    if process_deliveries.cache_info().currsize:
        process_deliveries()._cancel_timer()
    process_deliveries.cache_clear()
    if delivery_flush._push_deliveries is not None and delivery_flush._push_deliveries._timer is not None:
        delivery_flush._push_deliveries._timer.cancel()
    delivery_flush._push_deliveries = None


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # Django's default hasher takes a quarter of a second per user.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def rest_settings(settings):
    """Override REST_FRAMEWORK keys and throttle rates: ``rest_settings(rates={"register": "2/min"})``."""

    def override(*, rates: dict | None = None, **keys) -> None:
        current = settings.REST_FRAMEWORK
        settings.REST_FRAMEWORK = {
            **current,
            **keys,
            "DEFAULT_THROTTLE_RATES": {**current["DEFAULT_THROTTLE_RATES"], **(rates or {})},
        }

    return override


@pytest.fixture(autouse=True)
def fresh_rate_limits():
    """
    Every test starts with no request counted by the REST rate limits, also in
    the server processes it starts (they share Redis). On Redis only the
    throttles' keys go: the database may hold other things.
    """
    from django.conf import settings
    from django.core.cache import caches

    cache = caches["default"]
    if settings.REDIS_URL:
        client = redis_client(settings.REDIS_URL)
        keys = list(client.scan_iter(match=cache.make_key("throttle_*"), count=1000))
        if keys:
            client.delete(*keys)
    else:
        cache.clear()


@functools.cache
def redis_client(url: str):
    import redis

    return redis.Redis.from_url(url)


@pytest.fixture(autouse=True)
def no_queue_worker_left():
    """
    No test leaves the queue worked by threads of this process (chat.push.queue's
    in-process worker, which the embedded default and some tests start): with
    Redis it would take the next tests' jobs from the queue's worker process
    they start, under this process's settings.
    """
    yield
    from chat.push import queue

    queue.local_worker_stop()
