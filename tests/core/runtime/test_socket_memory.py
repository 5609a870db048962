"""
What each socket keeps for its life, kept small (docs/benchmarks.md,
"Memory"): queues that hold nothing while empty, one copy of each user id
per process, no database wrapper per socket.
"""

import asyncio
import contextvars
import sys

import pytest

from core.runtime.lean_queue import LeanQueue
from chat.realtime import profiles
from chat.realtime.session import ContactPresence, RoomSession


async def test_a_lean_queue_is_first_in_first_out_and_wakes_its_reader():
    queue = LeanQueue()
    reader = asyncio.ensure_future(queue.get())
    await asyncio.sleep(0)
    queue.put_nowait("a")
    queue.put_nowait("b")
    assert await reader == "a"
    assert queue.qsize() == 1 and not queue.empty()
    assert await queue.get() == "b"
    assert queue.empty() and queue.qsize() == 0
    with pytest.raises(asyncio.QueueEmpty):
        queue.get_nowait()


async def test_a_cancelled_get_takes_nothing_and_holds_nothing_while_empty():
    queue = LeanQueue()
    reader = asyncio.ensure_future(queue.get())
    await asyncio.sleep(0)
    queue.put_nowait("kept")  # wakes the reader, which is cancelled before it runs
    reader.cancel()
    with pytest.raises(asyncio.CancelledError):
        await reader
    assert await asyncio.wait_for(queue.get(), 1) == "kept"
    # Empty, it keeps no deque (asyncio.Queue keeps three, about 1.8 KB).
    assert queue._items is None and queue._waiter is None
    assert sys.getsizeof(queue) < 100


async def test_a_lean_queue_has_one_reader():
    queue = LeanQueue()
    first = asyncio.ensure_future(queue.get())
    await asyncio.sleep(0)
    with pytest.raises(RuntimeError, match="one reader"):
        await queue.get()
    first.cancel()


def test_sessions_keep_one_copy_of_each_user_id():
    # Ids as each socket reads them: equal strings, distinct objects.
    def fresh(user_id: str) -> str:
        return "".join(list(user_id))

    ids = [f"{n:08d}-0000-0000-0000-000000000000" for n in range(3)]
    sessions = [
        RoomSession(
            profile=profiles.RICH, viewer_id=ids[0], member_ids=[fresh(i) for i in ids], delivered=0,
            send=None, fetch=None,
        )
        for _ in range(2)
    ]
    for session in sessions:
        session.presence.start([fresh(ids[1])])
        session.presence.announce(fresh(ids[2]), True)
    first, second = (s.presence for s in sessions)
    assert all(a is b for a, b in zip(first.member_ids, second.member_ids))
    assert {id(u) for u in first.online} == {id(u) for u in second.online} == {id(u) for u in first.member_ids[1:]}
    assert [id(u) for u in first._announced_at] == [id(u) for u in second._announced_at]
    contacts = [ContactPresence(), ContactPresence()]
    for known in contacts:
        known.changed(fresh(ids[1]), True)
    assert [id(u) for u in contacts[0]._known] == [id(u) for u in contacts[1]._known]


@pytest.mark.django_db
async def test_loop_queries_make_no_database_wrapper_for_the_socket_task():
    from django.db import connections

    from core.runtime.asyncdb import loop_queries, loop_rows
    from useraccount.models import User

    if not loop_queries():
        pytest.skip("queries from the event loop are PostgreSQL's")

    async def a_socket():
        await loop_rows(User.objects.values_list("id")[:1])
        return getattr(connections._connections, "default", None)

    # A socket's task starts from a context of its own, as daphne's do.
    assert await asyncio.get_running_loop().create_task(a_socket(), context=contextvars.Context()) is None


@pytest.mark.django_db(transaction=True)
async def test_a_send_from_the_event_loop_makes_no_database_wrapper_for_the_socket_task(direct, alice):
    from django.db import connections

    from chat.messages.send import message_send_from_loop
    from core.outbox import carry_out
    from core.runtime.asyncdb import loop_queries

    if not loop_queries():
        pytest.skip("queries from the event loop are PostgreSQL's")

    async def a_socket():
        (message, created), _ = await carry_out(message_send_from_loop, conversation_id=direct.id, sender=alice, body="hi")
        assert created and message.seq == 1
        return getattr(connections._connections, "default", None)

    assert await asyncio.get_running_loop().create_task(a_socket(), context=contextvars.Context()) is None


def test_a_room_view_keeps_who_is_online_as_bits_over_its_members():
    from chat.realtime.session import RoomPresence

    members = [f"{n:08d}-0000-0000-0000-000000000000" for n in range(20)]
    view = RoomPresence(members, clock=lambda: 0.0)
    assert view.start(members[:15]) == sorted(members[:15])
    assert isinstance(view._online, int) and sys.getsizeof(view._online) <= 32, "one small int, not a set of ids"
    assert view._announced_at is None, "no table of announcement times until there is one"
    view.announce(members[3], False)
    assert view.online == set(members[:15]) - {members[3]}
