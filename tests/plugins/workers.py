"""
Running the suite on parallel workers (pytest-xdist, ``scripts/test -n 2``).

Each worker its own Redis database: the one REDIS_URL names for
the first worker (gw0), the next numbers for the others (…/13, …/14 with
``-n 2``), so that one worker's tests never clear or count another's keys
(rate limits, presence, the push queue). The test database is already per
worker: pytest-django adds the worker's id to its name.

Tests marked ``slow`` (one takes tens of seconds) are collected first, so
that a worker starts them at once and the others share out the rest around
them, instead of one worker starting them last while the others wait.

Loaded with ``-p tests.plugins.workers`` (pytest.ini) rather than from
conftest.py: it must change the environment before Django reads its
settings, and the server processes a test starts inherit it.
"""

import os
from urllib.parse import urlsplit, urlunsplit

REDIS_DATABASES = 16  # redis-server's default


def redis_url_for_worker(url: str, worker: int) -> str:
    """``url`` with its database number moved on by ``worker``."""
    parts = urlsplit(url)
    database = int(parts.path.strip("/") or 0) + worker
    if database >= REDIS_DATABASES:
        raise RuntimeError(
            f"{url} leaves no Redis database for worker {worker}: use a lower number or fewer workers (-n)"
        )
    return urlunsplit(parts._replace(path=f"/{database}"))


def pytest_collection_modifyitems(items):
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


_worker = os.environ.get("PYTEST_XDIST_WORKER", "")
if _worker.startswith("gw") and os.environ.get("REDIS_URL"):
    os.environ["REDIS_URL"] = redis_url_for_worker(os.environ["REDIS_URL"], int(_worker[2:]))
