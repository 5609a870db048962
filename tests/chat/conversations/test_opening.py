"""
What a room socket reads to open (chat.conversations.opening), run both
ways: on a database thread (any database) and from the event loop
(PostgreSQL), with the same answer expected of both.
"""

import asyncio
import uuid
import weakref
from unittest.mock import patch

import psycopg
import pytest
from channels.db import database_sync_to_async
from django.db import connection
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from chat.conversations.opening import room_opening, room_opening_on_loop
from core.runtime import asyncdb
from core.runtime.asyncdb import loop_connections
from tests.plugins.conversations import send
from useraccount.models import Block
from useraccount.tokens import SESSION_CLAIM, token_pair_for_user

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(params=["thread", "loop"])
def opening(request):
    if request.param == "thread":
        return database_sync_to_async(room_opening)
    if connection.vendor != "postgresql":
        pytest.skip("queries from the event loop are PostgreSQL's")
    return room_opening_on_loop


def ids(users) -> list[str]:
    return sorted(str(user.id) for user in users)


async def test_a_member_reads_the_room_its_members_and_where_it_is_announced(opening, alice, bob, carol, group, direct):
    await database_sync_to_async(send)(group, bob, "one")
    await database_sync_to_async(send)(group, bob, "two")
    found = await opening(user_id=alice.id, conversation_id=group.id, session=None)
    assert found.user == alice and found.user.email == alice.email
    assert found.conversation.id == group.id and found.conversation.last_seq == 2
    assert sorted(found.member_ids) == ids([alice, bob, carol]) and found.hidden == []
    assert sorted(found.announced_in) == sorted([str(group.id), str(direct.id)])
    assert (found.revoked, found.session_ends) == (False, None)


@pytest.mark.parametrize("conversation", ["outsider", "unknown", "none"])
async def test_no_conversation_unless_a_member(opening, alice, carol, direct, conversation):
    user, conversation_id = {
        "outsider": (carol, direct.id), "unknown": (alice, uuid.uuid4()), "none": (alice, None),
    }[conversation]
    found = await opening(user_id=user.id, conversation_id=conversation_id, session=None)
    assert found.user == user and found.conversation is None and found.member_ids == []


async def test_no_opening_for_an_unknown_or_inactive_user(opening, alice, direct):
    assert await opening(user_id=uuid.uuid4(), conversation_id=direct.id, session=None) is None
    alice.is_active = False
    await database_sync_to_async(alice.save)()
    assert await opening(user_id=alice.id, conversation_id=direct.id, session=None) is None


async def test_a_block_hides_the_other_member_and_stops_announcing_there(opening, alice, bob, direct, group):
    await database_sync_to_async(Block.objects.create)(blocker=bob, blocked=alice)
    found = await opening(user_id=alice.id, conversation_id=direct.id, session=None)
    assert found.conversation.id == direct.id and found.hidden == [str(bob.id)]
    assert found.announced_in == [str(group.id)]


async def test_the_session_is_read_with_its_end_and_whether_it_was_logged_out(opening, alice, direct):
    refresh = await database_sync_to_async(lambda: RefreshToken(token_pair_for_user(alice)["refresh"]))()
    session = refresh[SESSION_CLAIM]
    found = await opening(user_id=alice.id, conversation_id=direct.id, session=session)
    expires = await database_sync_to_async(lambda: OutstandingToken.objects.get(jti=session).expires_at)()
    assert (found.revoked, found.session_ends) == (False, expires)
    await database_sync_to_async(refresh.blacklist)()
    assert (await opening(user_id=alice.id, conversation_id=direct.id, session=session)).revoked is True
    unknown = await opening(user_id=alice.id, conversation_id=direct.id, session="no-such-session")
    assert (unknown.revoked, unknown.session_ends) == (False, None)
    assert await database_sync_to_async(BlacklistedToken.objects.count)() == 1




async def test_connects_asking_at_once_each_get_their_own_opening_in_one_statement(alice, bob, carol, direct, group):
    """A burst's openings go in one statement (chat.conversations.opening.batch_statement), each answered as alone."""
    if connection.vendor != "postgresql":
        pytest.skip("queries from the event loop are PostgreSQL's")
    await database_sync_to_async(Block.objects.create)(blocker=bob, blocked=alice)
    asks = [
        (alice.id, group.id), (carol.id, direct.id), (uuid.uuid4(), group.id), (bob.id, direct.id),
        (alice.id, None), (carol.id, group.id), (alice.id, direct.id),
    ]  # fmt: skip
    statements = []
    execute = psycopg.AsyncConnection.execute

    async def counted(conn, query, *args, **kwargs):
        statements.append(query)
        return await execute(conn, query, *args, **kwargs)

    with patch.object(psycopg.AsyncConnection, "execute", counted):
        together = await asyncio.gather(
            *(room_opening_on_loop(user_id=user, conversation_id=room, session=None) for user, room in asks)
        )
    assert len(statements) == 1
    for (user, room), found in zip(asks, together, strict=True):
        alone = await database_sync_to_async(room_opening)(user_id=user, conversation_id=room, session=None)
        assert (found is None) == (alone is None)
        if found is not None:
            assert found.user == alone.user and found.conversation == alone.conversation
            assert (sorted(found.member_ids), found.hidden, sorted(found.announced_in)) == (
                sorted(alone.member_ids), alone.hidden, sorted(alone.announced_in)
            )
            assert (found.revoked, found.session_ends) == (alone.revoked, alone.session_ends)


async def prepared_openings() -> int:
    """How many statements the loop connection next given out has prepared that read where presence is announced."""
    async with loop_connections().connection() as conn:
        found = await conn.execute(
            "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s", ["%mine.user_id%"]
        )
        return (await found.fetchone())[0]


@pytest.fixture
def own_loop_connections(monkeypatch):
    """This test's event-loop connections, none shared with an earlier test's."""
    monkeypatch.setattr(asyncdb, "_loop_connections", weakref.WeakKeyDictionary())


async def test_the_statement_is_prepared_once_per_loop_connection(alice, direct, own_loop_connections):
    """PostgreSQL plans the opening statement once per connection, not on every connect (DATABASE_LOOP_PREPARED)."""
    if connection.vendor != "postgresql":
        pytest.skip("queries from the event loop are PostgreSQL's")
    for _ in range(3):
        assert await room_opening_on_loop(user_id=alice.id, conversation_id=direct.id, session=None) is not None
    assert await prepared_openings() == 1


async def test_nothing_is_prepared_when_the_setting_is_off(alice, direct, settings, own_loop_connections):
    """Behind a pooler that does not keep prepared statements (DATABASE_LOOP_PREPARED=0), the statement is sent whole."""
    if connection.vendor != "postgresql":
        pytest.skip("queries from the event loop are PostgreSQL's")
    settings.DATABASE_LOOP_PREPARED = False
    for _ in range(6):
        assert await room_opening_on_loop(user_id=alice.id, conversation_id=direct.id, session=None) is not None
    assert await prepared_openings() == 0
