"""
Delivered positions over real sockets: moved by what a room socket, the
original path's socket and a notifications socket were sent (and by
reading), written only when the process flushes, and announced to the room
sockets as ``chat.delivered`` (never to the original path). Read-receipt
privacy on sockets: ``chat.read`` neither from nor to a user whose read
receipts are off, their own sockets excepted.
"""

import pytest
from channels.db import database_sync_to_async

from chat.models import ConversationMember
from chat.realtime.delivery_flush import process_deliveries
from tests.plugins.conversations import send, send_many
from tests.plugins.sockets import assert_silent, drain, notifications, receive, receive_many, room
from useraccount.services import user_update_profile

pytestmark = pytest.mark.django_db(transaction=True)

asend = database_sync_to_async(send)
asend_many = database_sync_to_async(send_many)


@database_sync_to_async
def positions(conversation) -> dict[str, tuple[int, int]]:
    """Every member's stored (delivered_seq, last_read_seq)."""
    return {
        str(user_id): (delivered, read)
        for user_id, delivered, read in ConversationMember.objects.filter(conversation=conversation).values_list(
            "user_id", "delivered_seq", "last_read_seq"
        )
    }


@database_sync_to_async
def nobody_has_read(conversation):
    """The senders' read positions back to 0 (a send moves its sender's), so that anyone may read."""
    ConversationMember.objects.filter(conversation=conversation).update(last_read_seq=0)


@database_sync_to_async
def set_read_receipts(user, enabled: bool):
    user_update_profile(user=user, read_receipts=enabled)


def counting_writes(monkeypatch) -> list:
    """The process flusher's writes, counted (each is one statement: test_deliveries_write)."""
    deliveries = process_deliveries()
    writes = []
    original = deliveries._write

    async def write(*, positions):
        writes.append(positions)
        if original is not None:
            return await original(positions=positions)
        from chat.receipts.deliveries import deliveries_record, deliveries_record_on_loop
        from core.runtime.asyncdb import loop_or_db

        return await loop_or_db(deliveries_record_on_loop, deliveries_record)(positions=positions)

    monkeypatch.setattr(deliveries, "_write", write)
    return writes


# --- Delivered positions --------------------------------------------------------------


async def test_a_room_socket_moves_its_members_delivered_position_at_the_flush(alice, bob, direct, monkeypatch):
    writes = counting_writes(monkeypatch)
    async with room(direct, alice) as a, room(direct, bob) as b:
        await drain(a), await drain(b)
        for n in range(1, 21):
            await asend(direct, alice, f"m{n}")
        await receive_many(b, 20)
        await receive_many(a, 20)
        # Twenty messages on two sockets: nothing written yet.
        assert writes == []
        assert (await positions(direct))[str(bob.id)] == (0, 0)
        await process_deliveries().flush()
        assert len(writes) == 1
        expected = {"type": "chat.delivered", "positions": {str(alice.id): 20, str(bob.id): 20}}
        assert await receive(a) == expected
        assert await receive(b) == expected
        await assert_silent(b)
    stored = await positions(direct)
    assert stored[str(bob.id)] == (20, 0)


async def test_catch_up_delivers_what_it_sends(alice, bob, direct):
    await asend_many(direct, alice, 4)
    async with room(direct, bob, after=1) as b:
        frames = await receive_many(b, 3)
        assert [frame["seq"] for frame in frames] == [2, 3, 4]
        await process_deliveries().flush()
        assert await receive(b) == {"type": "chat.delivered", "positions": {str(bob.id): 4}}
    assert (await positions(direct))[str(bob.id)] == (4, 0)


async def test_a_notifications_socket_delivers_what_it_announces(alice, bob, group, carol):
    async with notifications(bob) as feed, room(group, carol) as c:
        await drain(feed), await drain(c)
        await asend_many(group, alice, 2)
        assert [frame["type"] for frame in await receive_many(feed, 2)] == ["notification"] * 2
        await receive_many(c, 2)
        await process_deliveries().flush()
        delivered = await receive(c)
        assert delivered == {"type": "chat.delivered", "positions": {str(bob.id): 2, str(carol.id): 2}}
        await assert_silent(feed)  # the notifications socket is not told delivered positions
    stored = await positions(group)
    assert stored[str(bob.id)][0] == stored[str(carol.id)][0] == 2
    assert stored[str(alice.id)][0] == 0  # nothing was sent to her (the sender's read position is hers)


async def test_the_original_path_delivers_and_is_never_sent_chat_delivered(alice, bob, direct):
    async with room(direct, bob, original=True) as legacy, room(direct, alice) as a:
        await drain(a)
        await asend_many(direct, alice, 2)
        assert [frame["body"] for frame in await receive_many(legacy, 2)] == ["message 1", "message 2"]
        await receive_many(a, 2)
        await process_deliveries().flush()
        assert (await receive(a))["type"] == "chat.delivered"
        await assert_silent(legacy, skip=())
    assert (await positions(direct))[str(bob.id)][0] == 2


async def test_reading_moves_the_delivered_position_too(alice, bob, direct):
    await asend_many(direct, alice, 5)
    async with room(direct, bob) as b:
        await b.send_json_to({"type": "read", "seq": 4})
        assert (await receive(b))["type"] == "chat.read"
    assert (await positions(direct))[str(bob.id)] == (4, 4)


async def test_a_socket_that_was_sent_nothing_delivers_nothing(alice, bob, direct, monkeypatch):
    writes = counting_writes(monkeypatch)
    await asend_many(direct, alice, 3)
    async with room(direct, bob) as b:
        await drain(b)
        await process_deliveries().flush()
        await assert_silent(b)
    assert writes == []
    assert (await positions(direct))[str(bob.id)] == (0, 0)


# --- Read-receipt privacy ---------------------------------------------------------------


async def test_a_reader_with_read_receipts_off_is_not_shown_to_others(alice, bob, direct):
    await set_read_receipts(alice, False)
    await asend_many(direct, bob, 3)
    async with room(direct, alice) as a, room(direct, bob) as b:
        await drain(a), await drain(b)
        await a.send_json_to({"type": "read", "seq": 3})
        assert await receive(a) == {"type": "chat.read", "user_id": str(alice.id), "seq": 3}  # her own devices
        await assert_silent(b)
    assert (await positions(direct))[str(alice.id)] == (3, 3)


async def test_a_viewer_with_read_receipts_off_sees_no_one_elses_reads(alice, bob, direct):
    await set_read_receipts(bob, False)
    await asend_many(direct, alice, 3)
    await nobody_has_read(direct)
    async with room(direct, alice) as a, room(direct, bob) as b:
        await drain(a), await drain(b)
        await a.send_json_to({"type": "read", "seq": 2})
        assert (await receive(a))["seq"] == 2
        await assert_silent(b)
        await b.send_json_to({"type": "read", "seq": 3})
        assert await receive(b) == {"type": "chat.read", "user_id": str(bob.id), "seq": 3}
        await assert_silent(a)  # nor is his shown to her


async def test_turning_read_receipts_off_and_on_reaches_open_sockets(alice, bob, direct):
    await asend_many(direct, alice, 3)
    await nobody_has_read(direct)
    async with room(direct, alice) as a, room(direct, bob) as b:
        await drain(a), await drain(b)
        await set_read_receipts(bob, False)
        await a.send_json_to({"type": "read", "seq": 1})
        assert (await receive(a))["seq"] == 1
        await assert_silent(b)
        await set_read_receipts(bob, True)
        await a.send_json_to({"type": "read", "seq": 2})
        assert (await receive(a))["seq"] == 2
        assert await receive(b) == {"type": "chat.read", "user_id": str(alice.id), "seq": 2}


async def test_delivered_receipts_stay_with_read_receipts_off(alice, bob, direct):
    await set_read_receipts(bob, False)
    async with room(direct, alice) as a, room(direct, bob) as b:
        await drain(a), await drain(b)
        await asend(direct, alice, "hi")
        await receive(a), await receive(b)
        await process_deliveries().flush()
        expected = {"type": "chat.delivered", "positions": {str(alice.id): 1, str(bob.id): 1}}
        assert await receive(a) == expected
        assert await receive(b) == expected
