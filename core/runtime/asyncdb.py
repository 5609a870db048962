"""
Running ORM code from async consumers.

Channels' ``database_sync_to_async`` is thread-sensitive by default: every
query of the process runs on one thread, one at a time. Socket work is many
small independent transactions, so ``db`` runs them on a pool of
``DATABASE_THREADS`` worker threads instead, each with its own connection
(from the connection pool on PostgreSQL). Correctness never relied on that
one thread: seq numbering is serialised by a row lock in the database
(chat.rules).

    await db(selectors.message_list)(conversation=c, after=0)

On PostgreSQL the socket's send path is one statement, run from the event
loop on a connection of ``loop_connections()`` (chat.messages.send).
"""

import asyncio
import weakref
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from functools import cache

from channels.db import database_sync_to_async
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections

from core.outages import DATABASE


@cache
def executor() -> ThreadPoolExecutor:
    """The pool of DATABASE_THREADS workers, made on first use (not at import)."""
    return ThreadPoolExecutor(max_workers=settings.DATABASE_THREADS, thread_name_prefix="db")


def db(func):
    """``func`` as an awaitable that runs on a worker thread, old connections closed."""
    return database_sync_to_async(func, thread_sensitive=False, executor=executor())


class LoopConnections:
    """
    PostgreSQL connections used straight from the event loop, for the few
    hot paths that are one statement (chat.messages.send): no thread hop, no ORM.
    At most ``size`` per event loop; a broken connection is dropped, never
    given out again, and so is one opened before the last database outage
    ended (core.outages.DATABASE), which that outage may have ended too.
    The ORM keeps its own pool for everything else.
    """

    def __init__(self, size: int):
        self.size = size
        self._idle: list = []  # (connection, DATABASE.outages when it was opened)
        self._slots = None

    @asynccontextmanager
    async def connection(self):
        import psycopg

        if self._slots is None:
            self._slots = asyncio.Semaphore(self.size)
        async with self._slots:
            conn, opened_after = self._idle.pop() if self._idle else (None, None)
            if conn is not None and opened_after != DATABASE.outages:
                await _close_quietly(conn)
                conn = None
            if conn is None or conn.closed:
                opened_after = DATABASE.outages
                conn = await psycopg.AsyncConnection.connect(**_connect_kwargs(), autocommit=True)
                _opened.add(conn)
            try:
                yield conn
            except BaseException as error:
                if (
                    conn.closed or conn.broken or conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE
                    or _plan_outdated(error)
                ):
                    await _close_quietly(conn)
                else:
                    self._idle.append((conn, opened_after))
                raise
            else:
                self._idle.append((conn, opened_after))
                DATABASE.succeeded()


def _plan_outdated(error: BaseException) -> bool:
    """
    PostgreSQL refused a prepared statement whose result type a schema change
    altered ("cached plan must not change result type", 0A000: a migration
    changed a column's type). The connection would refuse it on every run;
    closed, the next one prepares it anew.
    """
    cause = error if getattr(error, "sqlstate", None) else error.__cause__
    return getattr(cause, "sqlstate", None) == "0A000"


async def _close_quietly(conn) -> None:
    try:
        await conn.close()
    except Exception:
        pass


def _connect_kwargs() -> dict:
    """Django's connection settings for the default database, as psycopg's connect() takes them."""
    database = compiling_connection()
    params = database.get_connection_params()
    for name in ("cursor_factory", "pool"):  # Django's own; "context" (its adapters) is kept
        params.pop(name, None)
    # Django passes prepare_threshold=None (its server-side binding is off),
    # which turns psycopg's prepared statements off altogether, even
    # ``execute(..., prepare=True)``: the hot statements were parsed and
    # planned by PostgreSQL on every run. Loop connections prepare them (and,
    # psycopg's default, any query run five times), unless
    # DATABASE_LOOP_PREPARED is off (a pooler without prepared statements).
    params["prepare_threshold"] = 5 if settings.DATABASE_LOOP_PREPARED else None
    if database.timezone_name:  # as Django sets its own connections
        params["options"] = f"{params.get('options', '')} -c TimeZone={database.timezone_name}".strip()
    return params


async def _fetch_all(sql: str, params) -> list:
    """The rows of one query on this loop's connection; a failure is Django's DatabaseError, as the ORM's."""
    import psycopg

    try:
        async with loop_connections().connection() as conn:
            return await (await conn.execute(sql, params)).fetchall()
    except psycopg.Error as error:
        raise DatabaseError(str(error)) from error


def loop_queries() -> bool:
    """Whether the hot paths query from the event loop: PostgreSQL, unless DATABASE_LOOP_QUERIES is off."""
    return bool(settings.DATABASE_LOOP_QUERIES) and compiling_connection().vendor == "postgresql"


def loop_or_db(on_loop, func):
    """
    ``on_loop`` (a coroutine function querying from the event loop) where
    ``loop_queries()``, else ``func`` on a worker thread (``db``).
    """
    return on_loop if loop_queries() else db(func)


@cache
def compiling_connection():
    """
    The database wrapper loop queries are compiled with (and their
    connections' parameters and ``loop_queries``' vendor read from), one per
    process; it never connects. Django's ``connections[alias]`` keeps one per
    asyncio task context: compiling with it (or reading its vendor) made a
    wrapper for every socket, about 2.7 KB kept for the socket's life
    (docs/benchmarks.md, "Memory").
    """
    return connections.create_connection(DEFAULT_DB_ALIAS)


async def loop_rows(queryset) -> list[tuple]:
    """
    Run a ``values_list`` queryset on this loop's connection: the ORM writes
    the SQL and converts the values, the event loop runs it (no thread hop).
    """
    compiler = queryset.query.get_compiler(connection=compiling_connection())
    rows = await _fetch_all(*compiler.as_sql())
    return [tuple(row) for row in compiler.results_iter([rows])]


async def loop_models(queryset) -> list:
    """
    Run a model queryset (its own fields and annotations, no select_related)
    on this loop's connection, as Django's ModelIterable would build the objects.
    """
    compiler = queryset.query.get_compiler(connection=compiling_connection())
    rows = await _fetch_all(*compiler.as_sql())
    klass_info, select = compiler.klass_info, compiler.select
    if klass_info.get("related_klass_infos"):
        raise ValueError("loop_models does not follow relations (select_related)")
    fields = klass_info["select_fields"]
    start, end = fields[0], fields[-1] + 1
    names = [column[0].target.attname for column in select[start:end]]
    found = []
    for row in compiler.results_iter([rows]):
        obj = klass_info["model"].from_db(queryset.db, names, row[start:end])
        for name, position in compiler.annotation_col_map.items():
            setattr(obj, name, row[position])
        found.append(obj)
    return found


_opened: "weakref.WeakSet" = weakref.WeakSet()
_loop_connections: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, LoopConnections]" = (
    weakref.WeakKeyDictionary()
)


def loop_connections() -> LoopConnections:
    """The running event loop's connections (made on first use)."""
    loop = asyncio.get_running_loop()
    found = _loop_connections.get(loop)
    if found is None:
        found = _loop_connections[loop] = LoopConnections(settings.DATABASE_LOOP_CONNECTIONS)
    return found


def close_loop_connections() -> None:
    """
    Close every connection the event loops opened, without a loop (theirs may
    be gone): tests, before the test database is dropped.
    """
    _loop_connections.clear()
    for conn in list(_opened):
        if not conn.closed:
            conn.pgconn.finish()


_converters_of: dict = {}


def converted(connection, fields, values) -> list:
    """
    Values read with raw SQL, as the ORM would give them for ``fields``: each
    field's converters on ``connection``'s database (SQLite's text ids and
    times become UUIDs and datetimes; PostgreSQL's mostly pass through).
    """
    out = []
    for field, value in zip(fields, values):
        key = (connection.vendor, field)
        converters = _converters_of.get(key)
        if converters is None:
            expression = field.cached_col
            converters = _converters_of[key] = [
                *connection.ops.get_db_converters(expression), *field.get_db_converters(connection)
            ]
        if value is not None or converters:
            for converter in converters:
                value = converter(value, field.cached_col, connection)
        out.append(value)
    return out
