"""The event loop's PostgreSQL connections (core.runtime.asyncdb.LoopConnections)."""

import weakref

import psycopg
import pytest
from asgiref.sync import sync_to_async
from django.db import connection

from core.runtime import asyncdb
from core.runtime.asyncdb import loop_connections

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def probe_table(monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("loop connections are PostgreSQL's")
    monkeypatch.setattr(asyncdb, "_loop_connections", weakref.WeakKeyDictionary())
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE plan_probe (v varchar(10))")
        cursor.execute("INSERT INTO plan_probe VALUES ('x')")
    yield
    asyncdb.close_loop_connections()
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE plan_probe")


async def read_probe():
    async with loop_connections().connection() as conn:
        return await (await conn.execute("SELECT v FROM plan_probe", prepare=True)).fetchall()


async def test_a_prepared_statement_outdated_by_a_migration_fails_once_then_runs_again(probe_table):
    """A column's type changed under a prepared statement (0A000): the connection is replaced, not kept failing."""
    assert await read_probe() == [("x",)]
    await sync_to_async(lambda: connection.cursor().execute("ALTER TABLE plan_probe ALTER COLUMN v TYPE text"))()
    with pytest.raises(psycopg.errors.FeatureNotSupported):
        await read_probe()
    assert await read_probe() == [("x",)]
    assert await read_probe() == [("x",)]
