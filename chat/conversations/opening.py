"""
What a room socket reads to open, in one statement.

A connect needs the token's user (active, password unchanged), its
session (not logged out; when it ends), the conversation if the user is a
member, its member ids, whether a block closes it (a direct conversation),
its last seq, and the conversations where the user's presence is announced;
on PostgreSQL the same statement notes the session's last use (at most once
a SESSION_LAST_USED_SECONDS, as useraccount.sessions does), where a connect
otherwise made a second trip, on a thread, for that write.
Read one query at a time, with the ORM compiling each, that was six round
trips and most of a connect's cost (docs/benchmarks.md, "Connects"). Here it
is one SQL statement over the user's row, built from the posting rule's
parts (chat.rules: membership, "direct", "blocked"), written once for both
databases and run two ways: on PostgreSQL from the event loop, prepared on
each loop connection, for all the connects of a burst at once
(``room_opening_on_loop``: a hundred handshakes in flight share a few
statements, core.runtime.batching); elsewhere on a database thread
(``room_opening``). No row: no such active user.

    opening = await loop_or_db(room_opening_on_loop, room_opening)(
        user_id=uid, conversation_id=cid, session=claims.get("sid"))
    opening.user, opening.conversation, opening.member_ids, opening.last_seq
"""

import json
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from uuid import UUID

from django.db import DatabaseError, connection
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from chat.models import Conversation, ConversationMember
from chat.rules import rule_params, rule_parts
from core.runtime.asyncdb import compiling_connection, converted, loop_connections
from core.runtime.batching import Batched
from useraccount.models import LoginSession, User
from useraccount.sessions import last_used_params


@dataclass(slots=True)
class RoomOpening:
    user: User
    revoked: bool  # the token's session was logged out
    session_ends: datetime | None  # None: no session row for the token's session claim
    conversation: Conversation | None  # None: no such conversation, or the user is not a member
    member_ids: list[str]
    hidden: list[str]  # the other member of a direct conversation a block closes
    announced_in: list[str]  # conversation ids where the user's presence is announced (not where a block closes it)
    session_noted: bool  # the statement noted the session's last use (PostgreSQL)


_USER_FIELDS = tuple(User._meta.concrete_fields)
_CONVERSATION_FIELDS = tuple(Conversation._meta.concrete_fields)
_EXPIRES = OutstandingToken._meta.get_field("expires_at")


def _id_list(vendor: str, column: str, source: str) -> str:
    """
    Every id ``column`` of ``source`` as one value: on PostgreSQL an array of
    their text (the driver then makes no UUID object to turn back into text,
    which was most of reading a room's member ids), elsewhere a JSON array.
    """
    aggregate = f"array_agg({column}::text)" if vendor == "postgresql" else f"json_group_array({column})"
    return f"(SELECT {aggregate} {source})"


def _select(vendor: str) -> str:
    """The reading part, for one user; parameters as the posting rule's (``sender``, ``sender_hex``) plus ``conversation``, ``session``."""
    part = rule_parts(vendor)
    users, conversations = User._meta.db_table, Conversation._meta.db_table
    members = ConversationMember._meta.db_table
    outstanding, blacklisted = OutstandingToken._meta.db_table, BlacklistedToken._meta.db_table
    user_columns = ", ".join(f"u.{field.column}" for field in _USER_FIELDS)
    conversation_columns = ", ".join(f"c.{field.column}" for field in _CONVERSATION_FIELDS)
    closed = f"({part['direct']} AND {part['blocked']})"
    revoked = (
        f"EXISTS (SELECT 1 FROM {blacklisted} bt JOIN {outstanding} ot ON ot.id = bt.token_id "
        f"WHERE ot.jti = %(session)s)"
    )
    # The user's conversations where their presence is announced, found from
    # their memberships; the inner ``c`` stands for each, so the rule's parts read it.
    announced_in = _id_list(
        vendor, "c.id",
        f"FROM {members} mine JOIN {conversations} c ON c.id = mine.conversation_id "
        f"WHERE mine.user_id = %(sender)s AND NOT {closed}",
    )
    return (
        f"SELECT {user_columns}, {revoked}, "
        f"(SELECT ot.expires_at FROM {outstanding} ot WHERE ot.jti = %(session)s), "
        f"{conversation_columns}, "
        f"{_id_list(vendor, 'm.user_id', f'FROM {members} m WHERE m.conversation_id = c.id')}, "
        f"CASE WHEN c.id IS NULL THEN NULL ELSE {closed} END, "
        f"{announced_in} "
        f"FROM {users} u LEFT JOIN {conversations} c ON c.id = %(conversation)s AND {part['member']} "
        f"WHERE u.id = %(sender)s AND u.is_active"
    )


# Notes the session's last use as useraccount.sessions.session_touch does
# (a connect that reaches the database uses its session, refused or not); a
# data-modifying WITH runs whether or not the query reads it (PostgreSQL
# only). Rows another transaction holds are skipped, not waited for: a batch
# of connects must not wait on, or deadlock with, a note.
_NOTED = (
    f"noted AS (UPDATE {LoginSession._meta.db_table} SET last_used_at = %(used_at)s WHERE id IN ("
    f"SELECT id FROM {LoginSession._meta.db_table} "
    "WHERE sid {sessions} AND last_used_at < %(stale_before)s FOR UPDATE SKIP LOCKED))"
)


@cache
def statement(vendor: str) -> str:
    """
    The statement for one connect; parameters as ``_select``'s, and on
    PostgreSQL ``used_at``, ``stale_before`` (useraccount.sessions.last_used_params).
    """
    if vendor != "postgresql":
        return _select(vendor)
    return f"WITH {_NOTED.replace('{sessions}', '= %(session)s')} {_select(vendor)}"


@cache
def batch_statement() -> str:
    """
    The same for several connects at once (PostgreSQL): ``_select`` run for
    each row of the arrays ``senders``, ``conversations``, ``sessions``
    (LATERAL), one row each in their order, a missing user's columns NULL
    after a leading ``found``; plus ``used_at``, ``stale_before``.
    """
    one = (
        _select("postgresql")
        .replace("%(sender_hex)s", "replace(r.sender::text, '-', '')")
        .replace("%(sender)s", "r.sender")
        .replace("%(conversation)s", "r.conversation")
        .replace("%(session)s", "r.session")
    )
    return (
        "WITH r AS (SELECT * FROM unnest(%(senders)s::uuid[], %(conversations)s::uuid[], %(sessions)s::text[]) "
        "WITH ORDINALITY AS r(sender, conversation, session, i)), "
        f"{_NOTED.replace('{sessions}', 'IN (SELECT session FROM r)')} "
        f"SELECT o.* FROM r LEFT JOIN LATERAL (SELECT true AS found, one.* FROM ({one}) one) o ON true ORDER BY r.i"
    )


def _params(db, *, user_id: UUID, conversation_id: UUID | None, session: str | None) -> dict:
    """The posting rule's parameters (``sender``, ``sender_hex``, ``conversation``) and the session's."""
    params = {
        **rule_params(conversation_id=conversation_id, sender_id=user_id, db=db),
        "session": session if isinstance(session, str) else None,
    }
    if db.vendor == "postgresql":
        params.update(last_used_params())
    return params


def _ids(value) -> list[str]:
    """An aggregated id list as text (``str(uuid)``), as either database gives it (text[], or JSON of hex ids)."""
    if value is None:
        return []
    if isinstance(value, str):
        return [str(UUID(item)) for item in json.loads(value) if item is not None]
    return [item for item in value if item is not None]


def _opening(db, row) -> RoomOpening | None:
    if row is None:
        return None
    row = list(row)
    user_end = len(_USER_FIELDS)
    user = User.from_db("default", [f.attname for f in _USER_FIELDS], converted(db, _USER_FIELDS, row[:user_end]))
    revoked, expires = bool(row[user_end]), converted(db, (_EXPIRES,), row[user_end + 1 : user_end + 2])[0]
    start = user_end + 2
    values = row[start : start + len(_CONVERSATION_FIELDS)]
    member_ids, closed, announced_in = row[start + len(_CONVERSATION_FIELDS) :]
    conversation = None
    hidden: list[str] = []
    if values[0] is not None:
        conversation = Conversation.from_db(
            "default", [f.attname for f in _CONVERSATION_FIELDS], converted(db, _CONVERSATION_FIELDS, values)
        )
    members = _ids(member_ids) if conversation is not None else []
    if closed:
        own = str(user.id)
        hidden = [user_id for user_id in members if user_id != own]
    return RoomOpening(
        user=user, revoked=revoked, session_ends=expires, conversation=conversation,
        member_ids=members, hidden=hidden, announced_in=_ids(announced_in), session_noted=db.vendor == "postgresql",
    )  # fmt: skip


def room_opening(*, user_id: UUID, conversation_id: UUID | None, session: str | None) -> RoomOpening | None:
    """What a room socket needs to open, on a database thread; None when the user is not an active user."""
    params = _params(connection, user_id=user_id, conversation_id=conversation_id, session=session)
    with connection.cursor() as cursor:
        cursor.execute(statement(connection.vendor), params)
        return _opening(connection, cursor.fetchone())


async def room_opening_on_loop(
    *, user_id: UUID, conversation_id: UUID | None, session: str | None
) -> RoomOpening | None:
    """
    ``room_opening`` from the event loop (PostgreSQL), no thread hop: with
    the connects that ask while others' are on their way, one prepared
    statement (``batch_statement``; core.runtime.batching).
    """
    return await _openings((user_id, conversation_id, session if isinstance(session, str) else None))


async def _run_openings(requests: list[tuple]) -> list[RoomOpening | None]:
    import psycopg

    db = compiling_connection()
    params = {
        "senders": [user_id for user_id, _, _ in requests],
        "conversations": [conversation_id for _, conversation_id, _ in requests],
        "sessions": [session for _, _, session in requests],
        **last_used_params(),
    }
    try:
        async with loop_connections().connection() as conn:
            rows = await (await conn.execute(batch_statement(), params, prepare=True)).fetchall()
    except psycopg.Error as error:
        raise DatabaseError(str(error)) from error
    return [_opening(db, row[1:] if row[0] else None) for row in rows]


# Two batches out at once leaves the loop's other connections (DATABASE_LOOP_CONNECTIONS) to sends.
_openings = Batched(_run_openings, max_size=50, concurrency=2)
