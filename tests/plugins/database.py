"""
The test database: its own SQLite file per run (server processes open it
too), the URL that points a server process at it, and the event loops'
PostgreSQL connections closed before it is dropped.
"""

import os
import shutil
import tempfile

import pytest
from django.db import connection

from core.runtime.asyncdb import close_loop_connections


def pytest_configure(config):
    """
    Give each run its own SQLite test database file, in a fresh temporary
    folder: server processes started by the tests open it too (so it cannot
    live in memory), and two runs side by side must not share it.
    """
    from django.db import connections

    database = connections["default"].settings_dict
    if database["ENGINE"].endswith("sqlite3"):
        folder = tempfile.mkdtemp(prefix="chat-tests-")
        database["TEST"]["NAME"] = os.path.join(folder, "test_db.sqlite3")
        config.add_cleanup(lambda: shutil.rmtree(folder, ignore_errors=True))


@pytest.fixture(scope="session", autouse=True)
def loop_connections_closed(django_db_setup):
    """The event loops' PostgreSQL connections (chat.messages.send) end before the test database is dropped."""
    yield
    close_loop_connections()


def database_url_for_tests() -> str:
    """A DATABASE_URL pointing a server process at the test database."""
    settings = connection.settings_dict
    if settings["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{settings['NAME']}"
    auth = settings["USER"] or ""
    if settings.get("PASSWORD"):
        auth += f":{settings['PASSWORD']}"
    host = settings["HOST"] or "127.0.0.1"
    port = settings["PORT"] or 5432
    return f"postgres://{auth}@{host}:{port}/{settings['NAME']}"
