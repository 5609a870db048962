"""
Writing delivered positions: a batch of (conversation, member, seq) in one
statement, whatever its size. The process's flusher
(chat.realtime.delivery_flush) calls it at most once per
CHAT_DELIVERY_FLUSH_SECONDS with what its sockets and pushes delivered
(chat.realtime.deliveries); nothing writes a delivered position per frame.

A position never moves backwards and never passes the conversation's last
seq: the statement takes the greater of the stored and the new position,
the new one capped at ``last_seq``, and touches only the rows that move,
which it returns so that the room can be told (``chat.delivered``).

The batch goes in as arrays (PostgreSQL, three parameters) or one JSON
text (SQLite), so the statement's text is the same for every batch: on
PostgreSQL it is prepared once per loop connection, and no batch is too
large for the databases' parameter limits.

    moved = deliveries_record(positions={"<conversation id>": {"<user id>": 7}})
    moved   # {"<conversation id>": {"<user id>": 7}}: only the positions that moved
"""

import json
from functools import cache
from uuid import UUID

from django.db import DatabaseError, connection

from chat.models import Conversation, ConversationMember
from core.runtime.asyncdb import loop_connections

Positions = dict[str, dict[str, int]]  # conversation id -> user id -> seq, ids as text


@cache
def statement(vendor: str) -> str:
    """The batch write for ``vendor``; its one parameter set is ``_params(vendor, positions)``."""
    members, conversations = ConversationMember._meta.db_table, Conversation._meta.db_table
    if vendor == "postgresql":
        batch = "SELECT * FROM unnest(%s::uuid[], %s::uuid[], %s::bigint[])"
        greatest, least = "GREATEST", "LEAST"
    else:
        batch = (
            "SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]') "
            "FROM json_each(%s)"
        )
        greatest, least = "MAX", "MIN"
    capped = f"{least}(v.seq, c.last_seq)"
    # RETURNING names the row's columns unqualified: SQLite does not take the table there.
    return (
        f"WITH v (cid, uid, seq) AS ({batch}) "
        f"UPDATE {members} SET delivered_seq = {greatest}({members}.delivered_seq, {capped}) "
        f"FROM v JOIN {conversations} c ON c.id = v.cid "
        f"WHERE {members}.conversation_id = v.cid AND {members}.user_id = v.uid "
        f"AND {members}.delivered_seq < {capped} "
        f"RETURNING conversation_id, user_id, delivered_seq"
    )


def _params(vendor: str, positions: Positions) -> list:
    rows = [
        (conversation_id, user_id, seq)
        for conversation_id, members in positions.items()
        for user_id, seq in members.items()
    ]
    if vendor == "postgresql":
        return [[row[0] for row in rows], [row[1] for row in rows], [row[2] for row in rows]]
    # SQLite stores UUIDs as 32 hex digits.
    return [json.dumps([(UUID(c).hex, UUID(u).hex, seq) for c, u, seq in rows])]


def _moved(rows) -> Positions:
    moved: Positions = {}
    for conversation_id, user_id, seq in rows:
        moved.setdefault(str(UUID(str(conversation_id))), {})[str(UUID(str(user_id)))] = seq
    return moved


def deliveries_record(*, positions: Positions) -> Positions:
    """Write ``positions`` (on a database thread), one statement; the positions that moved."""
    if not positions:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(statement(connection.vendor), _params(connection.vendor, positions))
        return _moved(cursor.fetchall())


async def deliveries_record_on_loop(*, positions: Positions) -> Positions:
    """``deliveries_record`` from the event loop (PostgreSQL): one prepared statement, no thread hop."""
    import psycopg

    if not positions:
        return {}
    try:
        async with loop_connections().connection() as conn:
            cursor = await conn.execute(
                statement("postgresql"), _params("postgresql", positions), prepare=True
            )
            return _moved(await cursor.fetchall())
    except psycopg.Error as error:
        raise DatabaseError(str(error)) from error
