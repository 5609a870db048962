"""
Real-time features over sockets: catch-up and gap filling, idempotent sends
across transports, read positions, typing, presence, edits and deletions,
and token expiry on open sockets. The REST side is in test_realtime_api.
"""

import asyncio
import math
import os
import time
import uuid
from datetime import datetime

import pytest
from channels.db import database_sync_to_async
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from core import outbox
from chat.models import Conversation, ConversationMember, ConversationMessage
from chat.realtime.presence import MemoryPresence, RedisPresence, presence_store
from chat.messages.services import message_delete
from tests.factories import DirectConversationFactory
from tests.plugins.conversations import UNKNOWN_ID, last_read_seq, post_message, send, send_many
from tests.plugins.sockets import (
    assert_silent,
    close_code,
    drain,
    expect_close,
    notifications,
    open_socket,
    presence_frame,
    receive,
    receive_many,
    room,
    seqs,
)
from tests.plugins.users import access_token
from useraccount.tokens import token_pair_for_user

pytestmark = pytest.mark.django_db(transaction=True)

# --- Data ---------------------------------------------------------------------------


def stored_state(conversation) -> tuple:
    """Everything typing could conceivably write: messages, seq, activity time, read positions."""
    saved = Conversation.objects.get(id=conversation.id)
    members = ConversationMember.objects.filter(conversation=conversation).order_by("user_id")
    return (
        list(ConversationMessage.objects.values_list("id", "body", "edited_at", "deleted_at")),
        saved.last_seq,
        saved.modified_at,
        list(members.values_list("user_id", "last_read_seq")),
    )


asend = database_sync_to_async(send)
asend_many = database_sync_to_async(send_many)
alast_read_seq = database_sync_to_async(last_read_seq)
astored_state = database_sync_to_async(stored_state)
acount_messages = database_sync_to_async(lambda: ConversationMessage.objects.count())
aget_message = database_sync_to_async(lambda message: ConversationMessage.objects.get(id=message.id))


def short_lived_access(user) -> tuple[str, int]:
    """An access token of ``user`` that expires 0.4 to 1.4 s from now, and its ``exp``."""
    token = AccessToken.for_user(user)
    # exp is in whole seconds; rounding up leaves connecting time before it passes.
    token["exp"] = math.ceil(time.time() + 0.4)
    return str(token), token["exp"]


def epoch(value: str) -> float:
    assert value.endswith("Z")
    return datetime.fromisoformat(value).timestamp()


# --- Catch-up -------------------------------------------------------------------------


@pytest.mark.parametrize("original", [False, True], ids=["rich", "original-path"])
async def test_after_query_sends_newer_messages_in_order_then_live_ones(alice, bob, direct, original):
    await asend_many(direct, bob, 12)
    async with room(direct, alice, after=5, original=original) as ws:
        caught_up = await receive_many(ws, 7)
        assert [frame["type"] for frame in caught_up] == ["chat.message"] * 7
        assert seqs(caught_up) == list(range(6, 13))
        assert [frame["body"] for frame in caught_up] == [f"message {n}" for n in range(6, 13)]

        await asend(direct, bob, "live")
        live = await receive(ws)
        assert (live["type"], live["seq"], live["body"]) == ("chat.message", 13, "live")
        assert set(live) == set(caught_up[0]), "catch-up frames are ordinary chat.message frames"
        await assert_silent(ws)


async def test_after_query_at_newest_seq_sends_only_live_messages(alice, bob, direct):
    await asend_many(direct, bob, 3)
    async with room(direct, alice, after=3) as ws:
        await assert_silent(ws)
        await asend(direct, bob, "live")
        assert (await receive(ws))["seq"] == 4


async def test_catch_up_while_messages_arrive_is_gapless_without_repeats(alice, bob, direct, settings):
    settings.CATCH_UP_PAGE = 3
    await asend_many(direct, bob, 12)
    sent_during_connect = 20

    async def keep_sending():
        for n in range(sent_during_connect):
            await asend(direct, bob, f"during {n}")

    # The sender's saves interleave with the consumer's catch-up pages.
    sender = asyncio.create_task(keep_sending())
    async with room(direct, alice, after=0) as ws:
        await sender
        newest = 12 + sent_during_connect
        got = []
        while not got or got[-1] < newest:
            frame = await receive(ws)
            assert frame["type"] == "chat.message"
            got.append(frame["seq"])
        assert got == list(range(1, newest + 1))
        await assert_silent(ws)


@pytest.mark.parametrize("after", ["abc", "-1", "1.5"])
async def test_bad_after_query_gets_invalid_after_and_socket_stays_open(alice, bob, direct, after):
    await asend_many(direct, bob, 2)
    async with room(direct, alice, after=after) as ws:
        error = await receive(ws)
        assert (error["type"], error["code"]) == ("error", "invalid_after")
        await ws.send_json_to({"type": "message.send", "body": "still open"})
        assert (await receive(ws))["seq"] == 3


async def test_sync_frame_sends_messages_after_seq_then_sync_done(alice, bob, direct):
    await asend_many(direct, bob, 5)
    async with room(direct, alice) as ws:
        await ws.send_json_to({"type": "sync", "after": 2})
        frames = await receive_many(ws, 4)
        assert [frame["type"] for frame in frames] == ["chat.message"] * 3 + ["sync.done"]
        assert seqs(frames[:3]) == [3, 4, 5]
        assert frames[3] == {"type": "sync.done", "last_seq": 5}
        await assert_silent(ws)


async def test_sync_frame_when_up_to_date_sends_only_sync_done(alice, bob, direct):
    await asend_many(direct, bob, 2)
    async with room(direct, alice) as ws:
        await ws.send_json_to({"type": "sync", "after": 2})
        assert await receive(ws) == {"type": "sync.done", "last_seq": 2}


@pytest.mark.parametrize("after", ["2", -1, 1.5, True, None], ids=repr)
async def test_sync_frame_with_bad_after_gets_invalid_after(alice, direct, after):
    async with room(direct, alice) as ws:
        await ws.send_json_to({"type": "sync", "after": after})
        error = await receive(ws)
        assert (error["type"], error["code"]) == ("error", "invalid_after")
        await ws.send_json_to({"type": "ping"})
        assert await receive(ws) == {"type": "pong"}


def drop_event_of_seq(monkeypatch, seq: int) -> None:
    """Make the channel layer lose the ``chat.message`` event of message ``seq``."""
    real_publish = outbox.publish

    async def lossy_publish(group, event):
        if event["type"] == "chat.message" and event["seq"] == seq:
            return
        await real_publish(group, event)

    monkeypatch.setattr(outbox, "publish", lossy_publish)


@pytest.mark.parametrize("via", ["service", "socket"])
@pytest.mark.parametrize("original", [False, True], ids=["rich", "original-path"])
async def test_dropped_event_is_sent_before_the_next_live_message(
    alice, bob, direct, monkeypatch, original, via
):
    drop_event_of_seq(monkeypatch, 2)
    async with room(direct, alice, original=original) as ws, room(direct, bob) as bobs:

        async def bob_sends(body):
            if via == "service":
                await asend(direct, bob, body)
            else:  # the socket path: published from the event loop after the worker commits
                await bobs.send_json_to({"type": "message.send", "body": body})

        await bob_sends("one")
        assert (await receive(ws))["seq"] == 1
        await bob_sends("two")
        await assert_silent(ws)  # the event really was lost
        await bob_sends("three")
        frames = await receive_many(ws, 2)
        assert [(f["type"], f["seq"], f["body"]) for f in frames] == [
            ("chat.message", 2, "two"),
            ("chat.message", 3, "three"),
        ]
        await assert_silent(ws)


async def test_event_delivered_twice_reaches_the_socket_once(alice, bob, direct, monkeypatch):
    real_publish = outbox.publish

    async def publish_twice(group, event):
        await real_publish(group, event)
        await real_publish(group, event)

    monkeypatch.setattr(outbox, "publish", publish_twice)
    async with room(direct, alice) as ws:
        for n in range(3):
            await asend(direct, bob, f"m{n}")
        assert seqs(await receive_many(ws, 3)) == [1, 2, 3]
        await assert_silent(ws)


# --- Notifications sync ------------------------------------------------------------------


@pytest.fixture
def quiet(alice, carol):
    """A third conversation of Alice's: the direct one with Carol."""
    return DirectConversationFactory(user=carol, other=alice)


async def test_notifications_sync_returns_new_messages_of_changed_and_unlisted_conversations(
    alice, bob, carol, direct, group, quiet
):
    await asend_many(direct, bob, 5)
    await asend_many(group, carol, 3)
    await asend_many(quiet, carol, 2)
    async with notifications(alice) as ws:
        await ws.send_json_to(
            {"type": "sync", "conversations": {str(direct.id): 2, str(group.id): 3}}
        )
        result = await receive(ws)
        await assert_silent(ws)
    assert result["type"] == "sync.result"
    assert result["unread_total"] == 5 + 3 + 2
    by_id = {item["conversation"]["id"]: item for item in result["conversations"]}
    assert set(by_id) == {str(direct.id), str(quiet.id)}, "group is listed at its last seq"

    changed = by_id[str(direct.id)]
    assert set(changed) == {
        "conversation", "unread_count", "muted", "muted_until", "notification_level", "messages", "has_more"
    }
    assert (changed["unread_count"], changed["has_more"]) == (5, False)
    assert seqs(changed["messages"]) == [3, 4, 5]
    assert changed["messages"][0]["body"] == "message 3"
    assert changed["conversation"]["last_seq"] == 5
    assert {u["id"] for u in changed["conversation"]["users"]} == {str(alice.id), str(bob.id)}

    unlisted = by_id[str(quiet.id)]
    assert (unlisted["unread_count"], unlisted["has_more"]) == (2, False)
    assert seqs(unlisted["messages"]) == [1, 2]


async def test_notifications_sync_pages_conversations_most_recent_first(
    settings, alice, bob, carol, direct, group, quiet
):
    settings.SYNC_PAGE_CONVERSATIONS = 2
    await asend_many(quiet, carol, 1)
    await asend_many(group, carol, 1)
    await asend_many(direct, bob, 1)
    async with notifications(alice) as ws:
        await ws.send_json_to({"type": "sync", "conversations": {}})
        first = await receive(ws)
        known = {item["conversation"]["id"]: item["messages"][-1]["seq"] for item in first["conversations"]}
        await ws.send_json_to({"type": "sync", "conversations": known})
        second = await receive(ws)
    assert [item["conversation"]["id"] for item in first["conversations"]] == [str(direct.id), str(group.id)]
    assert first["more"] is True
    assert [item["conversation"]["id"] for item in second["conversations"]] == [str(quiet.id)]
    assert second["more"] is False
    assert first["unread_total"] == second["unread_total"] == 3


async def test_notifications_sync_without_map_covers_every_conversation(alice, bob, direct, group):
    await asend_many(direct, bob, 1)
    async with notifications(alice) as ws:
        await ws.send_json_to({"type": "sync", "conversations": {}})
        result = await receive(ws)
    by_id = {item["conversation"]["id"]: item for item in result["conversations"]}
    assert set(by_id) == {str(direct.id), str(group.id)}
    assert seqs(by_id[str(direct.id)]["messages"]) == [1]
    assert by_id[str(group.id)]["messages"] == []
    assert result["unread_total"] == 1


async def test_notifications_sync_sends_at_most_50_messages_oldest_first(alice, bob, direct):
    await asend_many(direct, bob, 60)
    async with notifications(alice) as ws:
        await ws.send_json_to({"type": "sync", "conversations": {str(direct.id): 5}})
        [item] = (await receive(ws))["conversations"]
    assert seqs(item["messages"]) == list(range(6, 56))
    assert item["has_more"] is True
    assert item["unread_count"] == 60


async def test_notifications_sync_up_to_date_has_no_conversations(alice, bob, direct):
    await asend_many(direct, bob, 2)
    async with notifications(alice) as ws:
        await ws.send_json_to({"type": "sync", "conversations": {str(direct.id): 2}})
        assert await receive(ws) == {
            "type": "sync.result", "conversations": [], "unread_total": 2, "more": False,
            "unread_threads": 0, "threads": [], "threads_more": False,
        }


@pytest.mark.parametrize(
    "conversations",
    [[], "x", 5, None, {"id": "3"}, {"id": -1}, {"id": True}, {"id": 1.5}, {"id": None}],
    ids=repr,
)
async def test_notifications_sync_with_bad_map_gets_invalid_conversations(alice, direct, conversations):
    async with notifications(alice) as ws:
        await ws.send_json_to({"type": "sync", "conversations": conversations})
        error = await receive(ws)
        assert (error["type"], error["code"]) == ("error", "invalid_conversations")
        await ws.send_json_to({"type": "ping"})
        assert await receive(ws) == {"type": "pong"}


# --- Idempotent send ---------------------------------------------------------------------


apost_message = database_sync_to_async(post_message)


async def test_socket_send_retried_over_rest_returns_the_original(alice, bob, direct, client_for):
    async with room(direct, alice) as a, room(direct, bob) as b:
        await a.send_json_to({"type": "message.send", "body": "once", "client_id": "x-1"})
        ack = await receive(a)
        assert (await receive(b))["id"] == ack["id"]

        response = await apost_message(client_for(alice), direct, "once", client_id="x-1")
        assert response.status_code == 200
        assert (response.json()["id"], response.json()["seq"]) == (ack["id"], ack["seq"])
        await assert_silent(b)
    assert await acount_messages() == 1


async def test_rest_send_retried_over_socket_is_acknowledged_to_the_sender_only(
    alice, bob, direct, client_for
):
    async with room(direct, alice) as a, room(direct, bob) as b:
        response = await apost_message(client_for(alice), direct, "once", client_id="x-1")
        assert response.status_code == 201
        assert (await receive(a))["id"] == (await receive(b))["id"] == response.json()["id"]

        await a.send_json_to({"type": "message.send", "body": "once", "client_id": "x-1"})
        ack = await receive(a)
        assert (ack["type"], ack["id"], ack["seq"]) == ("chat.message", response.json()["id"], 1)
        await assert_silent(b)
    assert await acount_messages() == 1


async def test_senders_use_the_same_client_id_independently(alice, bob, direct):
    async with room(direct, alice) as a, room(direct, bob) as b:
        await a.send_json_to({"type": "message.send", "body": "from Alice", "client_id": "same"})
        from_alice = await receive(a)
        await receive(b)
        await b.send_json_to({"type": "message.send", "body": "from Bob", "client_id": "same"})
        from_bob = await receive(b)
        await receive(a)
        assert from_alice["id"] != from_bob["id"]
        assert (from_alice["seq"], from_bob["seq"]) == (1, 2)

        await a.send_json_to({"type": "message.send", "body": "from Alice", "client_id": "same"})
        retry = await receive(a)
        assert (retry["id"], retry["body"]) == (from_alice["id"], "from Alice")
        await assert_silent(b)
    assert await acount_messages() == 2


# --- Read state ------------------------------------------------------------------------------


async def test_read_frame_records_position_and_tells_rich_room_sockets(alice, bob, direct):
    await asend_many(direct, bob, 5)
    async with room(direct, alice) as a, room(direct, bob) as b:
        await a.send_json_to({"type": "read", "seq": 3})
        expected = {"type": "chat.read", "user_id": str(alice.id), "seq": 3}
        assert await receive(b) == expected
        assert await receive(a) == expected
    assert await alast_read_seq(direct, alice) == 3


async def test_read_is_not_sent_to_the_original_path_socket(alice, bob, direct):
    await asend_many(direct, bob, 5)
    async with room(direct, bob, original=True) as legacy, room(direct, alice) as a:
        await a.send_json_to({"type": "read", "seq": 3})
        assert (await receive(a))["type"] == "chat.read"
        await assert_silent(legacy, skip=())


async def test_read_never_moves_backwards(alice, bob, direct):
    await asend_many(direct, bob, 5)
    async with room(direct, alice) as a, room(direct, bob) as b:
        await a.send_json_to({"type": "read", "seq": 5})
        assert (await receive(b))["seq"] == 5
        await a.send_json_to({"type": "read", "seq": 3})
        await assert_silent(b)
    assert await alast_read_seq(direct, alice) == 5


async def test_read_is_capped_at_the_newest_seq(alice, bob, direct):
    await asend_many(direct, bob, 5)
    async with room(direct, alice) as a:
        await a.send_json_to({"type": "read", "seq": 99})
        assert await receive(a) == {"type": "chat.read", "user_id": str(alice.id), "seq": 5}
    assert await alast_read_seq(direct, alice) == 5


@pytest.mark.parametrize("seq", ["3", -1, 1.5, True, None], ids=repr)
async def test_read_frame_with_bad_seq_gets_invalid_seq(alice, bob, direct, seq):
    await asend_many(direct, bob, 5)
    async with room(direct, alice) as a:
        await a.send_json_to({"type": "read", "seq": seq})
        error = await receive(a)
        assert (error["type"], error["code"]) == ("error", "invalid_seq")
        await a.send_json_to({"type": "ping"})
        assert await receive(a) == {"type": "pong"}
    assert await alast_read_seq(direct, alice) == 0


@pytest.mark.parametrize("transport", ["socket", "rest"])
async def test_read_sends_unread_to_the_readers_notifications_sockets(
    alice, bob, carol, direct, group, client_for, transport
):
    await asend_many(direct, bob, 5)
    await asend_many(group, carol, 3)
    async with notifications(alice) as feed, notifications(bob) as bobs_feed:
        if transport == "socket":
            async with room(direct, alice) as a:
                await a.send_json_to({"type": "read", "seq": 3})
                await receive(a)
        else:
            client = client_for(alice)
            post = database_sync_to_async(client.post)
            response = await post(f"/api/chat/{direct.id}/read/", {"seq": 3}, format="json")
            assert response.status_code == 200
        assert await receive(feed) == {
            "type": "unread",
            "conversation_id": str(direct.id),
            "unread_count": 2,
            "total": 2 + 3,
        }
        await assert_silent(feed)
        await assert_silent(bobs_feed)


async def test_sending_a_message_over_the_socket_marks_it_read_for_the_sender(alice, bob, direct):
    await asend_many(direct, bob, 4)
    async with room(direct, alice) as a:
        await a.send_json_to({"type": "message.send", "body": "reply"})
        assert (await receive(a))["seq"] == 5
    assert await alast_read_seq(direct, alice) == 5
    assert await alast_read_seq(direct, bob) == 4


# --- Groups ------------------------------------------------------------------------------


async def test_typing_and_read_events_never_reach_sockets_that_do_not_show_them(
    alice, bob, direct, monkeypatch
):
    from chat.sockets.notifications import NotificationsConsumer
    from chat.sockets.rooms import OriginalClientRoomConsumer

    handled = []

    async def record(self, event):
        handled.append((type(self).__name__, event["type"]))

    for consumer in (NotificationsConsumer, OriginalClientRoomConsumer):
        monkeypatch.setattr(consumer, "chat_typing", record)
        monkeypatch.setattr(consumer, "chat_read", record)
    await asend(direct, alice, "hello")
    async with notifications(bob), room(direct, bob, original=True) as legacy, room(direct, alice) as a, room(
        direct, bob
    ) as b:
        await a.send_json_to({"type": "typing"})
        assert (await receive(b))["type"] == "chat.typing"
        await b.send_json_to({"type": "read", "seq": 1})
        assert (await receive(a))["type"] == "chat.read"
        await assert_silent(legacy, skip=())
    assert handled == [], "the room group is followed by rich room sockets only"


# --- Typing ------------------------------------------------------------------------------


async def test_typing_reaches_other_members_rich_sockets_but_not_the_sender(alice, bob, carol, group):
    async with room(group, alice) as a, room(group, bob) as b, room(group, carol) as c, room(
        group, carol, original=True
    ) as legacy:
        await a.send_json_to({"type": "typing"})
        expected = {"type": "chat.typing", "user_id": str(alice.id), "name": "Alice"}
        assert await receive(b) == expected
        assert await receive(c) == expected
        await assert_silent(a)
        await assert_silent(legacy, skip=())


async def test_typing_is_relayed_once_per_interval(alice, bob, direct):
    async with room(direct, alice) as a, room(direct, bob) as b:
        await a.send_json_to({"type": "typing"})
        await a.send_json_to({"type": "typing"})
        assert (await receive(b))["type"] == "chat.typing"
        await assert_silent(b)


async def test_typing_is_relayed_again_after_the_interval(alice, bob, direct, settings):
    settings.TYPING_INTERVAL = 0.2
    async with room(direct, alice) as a, room(direct, bob) as b:
        await a.send_json_to({"type": "typing"})
        assert (await receive(b))["type"] == "chat.typing"
        await asyncio.sleep(0.3)
        await a.send_json_to({"type": "typing"})
        assert (await receive(b))["type"] == "chat.typing"


async def test_typing_interval_is_per_user(alice, bob, carol, group):
    async with room(group, alice) as a, room(group, bob) as b, room(group, carol) as c:
        await a.send_json_to({"type": "typing"})
        await b.send_json_to({"type": "typing"})
        typing = [await receive(c), await receive(c)]
        assert {frame["user_id"] for frame in typing} == {str(alice.id), str(bob.id)}


async def test_typing_is_never_stored(alice, bob, direct):
    await asend(direct, bob, "hello")
    before = await astored_state(direct)
    async with room(direct, alice) as a, room(direct, bob) as b:
        await a.send_json_to({"type": "typing"})
        assert (await receive(b))["type"] == "chat.typing"
    assert await astored_state(direct) == before


# --- Presence ----------------------------------------------------------------------------


async def test_rich_room_socket_gets_presence_state_on_connect(alice, bob, carol, group):
    async with notifications(bob):
        async with room(group, alice) as ws:
            state = await receive(ws, skip={"presence"})
    assert state == {"type": "presence.state", "online": sorted([str(alice.id), str(bob.id)])}


@pytest.mark.parametrize(
    "path", ["/ws/notifications/", "/ws/chat/{direct}/", "/ws/{direct}/", "/ws/chat/{group}/"]
)
async def test_member_opening_any_socket_is_announced_online_then_offline(
    alice, bob, carol, direct, group, path
):
    async with room(direct, alice) as ws:
        await drain(ws)
        bobs_path = path.format(direct=direct.id, group=group.id)
        async with open_socket(bobs_path, token=access_token(bob)) as bobs:
            assert bobs.connected_ok
            assert await receive(ws, skip=()) == presence_frame(bob, True)
        assert await receive(ws, skip=()) == presence_frame(bob, False)
        await assert_silent(ws, skip=())


async def test_member_is_offline_only_when_their_last_socket_closes(alice, bob, direct, group):
    async with room(direct, alice) as ws:
        await drain(ws)
        async with notifications(bob):
            assert await receive(ws, skip=()) == presence_frame(bob, True)
            async with room(group, bob):
                await assert_silent(ws, skip=())  # already online: not announced again
            await assert_silent(ws, skip=())  # one socket closed, the other still open
        assert await receive(ws, skip=()) == presence_frame(bob, False)


async def test_original_path_socket_gets_no_presence_frames(alice, bob, direct):
    async with room(direct, alice, original=True) as ws:
        async with notifications(bob):
            await assert_silent(ws, skip=())
        await assert_silent(ws, skip=())


async def test_presence_ttl_setting_expires_a_connection_nobody_left(bob, settings, clock):
    settings.PRESENCE_TTL = 1
    user_id = str(bob.id)
    store = MemoryPresence(clock=clock)
    assert await store.touch(user_id, "crashed-process-connection") is True
    assert await store.online([user_id]) == {user_id}
    clock.advance(1.1)
    assert await store.online([user_id]) == set()


async def test_room_socket_is_told_when_a_crashed_members_presence_expires(alice, bob, direct, settings):
    settings.PRESENCE_TTL = 1
    settings.PRESENCE_HEARTBEAT = 0.2
    await presence_store().touch(str(bob.id), "crashed-process-connection")
    async with room(direct, alice) as ws:
        state = await receive(ws, skip={"presence"})
        assert str(bob.id) in state["online"]
        started = time.monotonic()
        while (frame := await receive(ws, skip=())) != presence_frame(bob, False):
            assert frame == presence_frame(alice, True), f"unexpected frame {frame}"
        assert time.monotonic() - started < 1.5


@pytest.fixture(params=["memory", "redis"])
async def store(request, clock):
    """A presence store with a 1-second TTL on a fake clock, of each kind available."""
    if request.param == "memory":
        yield MemoryPresence(ttl=1, clock=clock)
        return
    if not os.environ.get("REDIS_URL"):
        pytest.skip("needs REDIS_URL")
    redis_store = RedisPresence(os.environ["REDIS_URL"], ttl=1, clock=clock)
    yield redis_store
    await redis_store._redis.aclose()


async def test_presence_store_counts_a_user_online_while_any_connection_is_open(store):
    user, other = str(uuid.uuid4()), str(uuid.uuid4())
    assert await store.touch(user, "c1") is True, "came online"
    assert await store.touch(user, "c2") is False, "already online"
    assert await store.touch(user, "c1") is False, "a refresh is not a change"
    assert await store.online([user, other]) == {user}
    assert await store.leave(user, "c1") is False, "c2 is still open"
    assert await store.online([user, other]) == {user}
    assert await store.leave(user, "c2") is True, "last connection gone"
    assert await store.online([user, other]) == set()
    assert await store.leave(user, "c2") is False, "leaving twice changes nothing"


async def test_presence_store_admits_and_says_who_of_the_watched_is_online_in_one_step(store, clock):
    user, online, expired, never = (str(uuid.uuid4()) for _ in range(4))
    await store.touch(online, "c")
    await store.touch(expired, "c")
    clock.advance(0.5)
    await store.touch(online, "c")
    clock.advance(0.6)
    admitted, came_online, seen = await store.admit(user, "mine", 2, watch=[online, expired, never, user])
    assert (admitted, came_online) == (True, True)
    assert seen == {online, user}, "the expired one is offline; the socket's own user counts once admitted"
    assert await store.admit(user, "second", 2, watch=[online]) == (True, False, {online})
    assert await store.admit(user, "third", 2, watch=[online]) == (False, False, set()), "over the limit: nothing read"
    assert await store.admit(never, "c", 2) == (True, True, set())



async def test_a_burst_of_admissions_is_answered_each_as_alone_and_keeps_the_limit(store):
    """Connects asking at once (one script call on Redis: chat.realtime.presence._ADMIT_LUA) pass the limit never."""
    user, friend, stranger = (str(uuid.uuid4()) for _ in range(3))
    asks = [(user, "a", 2, [friend]), (friend, "f", 2, [user, stranger]), (user, "b", 2, []), (user, "c", 2, [friend])]
    calls = []
    if isinstance(store, RedisPresence):
        script = store._redis.script

        def counted(lua):
            run = script(lua)

            async def call(**kwargs):
                calls.append(kwargs)
                return await run(**kwargs)

            return call

        store._redis.script = counted
    answers = await asyncio.gather(*(store.admit(who, channel, limit, watch=watch) for who, channel, limit, watch in asks))
    assert answers == [(True, True, set()), (True, True, {user}), (True, False, set()), (False, False, set())]
    assert await store.online([user, friend, stranger]) == {user, friend}
    if isinstance(store, RedisPresence):
        assert len(calls) == 1, "one script call for the burst"


async def test_presence_store_drops_a_connection_not_refreshed_within_the_ttl(store, clock):
    user = str(uuid.uuid4())
    await store.touch(user, "crashed")
    clock.advance(0.9)
    assert await store.online([user]) == {user}
    clock.advance(0.2)
    assert await store.online([user]) == set()
    assert await store.touch(user, "new") is True, "back online after expiry"


async def test_presence_store_keeps_a_refreshed_connection(store, clock):
    user = str(uuid.uuid4())
    await store.touch(user, "alive")
    clock.advance(0.6)
    await store.refresh([(user, "alive")])
    clock.advance(0.6)
    assert await store.online([user]) == {user}
    clock.advance(0.5)
    assert await store.online([user]) == set(), "expires a TTL after the last refresh"
    assert await store.online([]) == set()


# --- Editing and deleting -------------------------------------------------------------------


async def test_author_edit_frame_reaches_rich_sockets_as_updated(alice, bob, direct):
    message = await asend(direct, alice, "helo")
    async with room(direct, alice) as a, room(direct, bob) as b, room(
        direct, bob, original=True
    ) as legacy:
        await a.send_json_to({"type": "message.edit", "message_id": str(message.id), "body": "hello"})
        for ws in (a, b):
            frame = await receive(ws)
            assert frame["type"] == "chat.message.updated"
            assert (frame["id"], frame["seq"], frame["body"], frame["deleted"], frame["name"]) == (
                str(message.id), 1, "hello", False, "Alice",
            )
            assert epoch(frame["edited_at"]) >= epoch(frame["created_at"])
        await assert_silent(legacy, skip=())
    saved = await aget_message(message)
    assert (saved.body, saved.seq) == ("hello", 1)
    assert saved.edited_at is not None


async def test_author_delete_frame_reaches_rich_sockets_as_deleted_tombstone(alice, bob, direct):
    message = await asend(direct, alice, "oops")
    async with room(direct, alice) as a, room(direct, bob) as b, room(
        direct, bob, original=True
    ) as legacy:
        await a.send_json_to({"type": "message.delete", "message_id": str(message.id)})
        for ws in (a, b):
            frame = await receive(ws)
            assert frame["type"] == "chat.message.deleted"
            assert (frame["id"], frame["seq"], frame["body"], frame["deleted"]) == (
                str(message.id), 1, "", True,
            )
        await assert_silent(legacy, skip=())
    saved = await aget_message(message)
    assert (saved.body, saved.seq) == ("", 1)
    assert saved.deleted_at is not None
    assert await acount_messages() == 1


async def test_edits_and_deletions_reach_members_notifications_sockets(alice, bob, direct):
    message = await asend(direct, alice, "helo")
    async with notifications(bob) as feed, room(direct, alice) as a:
        await a.send_json_to({"type": "message.edit", "message_id": str(message.id), "body": "hello"})
        assert (await receive(feed))["type"] == "chat.message.updated"
        await a.send_json_to({"type": "message.delete", "message_id": str(message.id)})
        assert (await receive(feed))["type"] == "chat.message.deleted"


async def test_catch_up_shows_a_deleted_message_as_tombstone_at_its_seq(alice, bob, direct):
    await asend_many(direct, alice, 3)
    second = await database_sync_to_async(ConversationMessage.objects.get)(seq=2)
    await database_sync_to_async(message_delete)(conversation_id=direct.id, user=alice, message_id=second.id)
    async with room(direct, bob, after=0) as ws:
        frames = await receive_many(ws, 3)
    assert [(f["type"], f["seq"], f["body"], f["deleted"]) for f in frames] == [
        ("chat.message", 1, "message 1", False),
        ("chat.message", 2, "", True),
        ("chat.message", 3, "message 3", False),
    ]


@pytest.mark.parametrize(
    "frame",
    [{"type": "message.edit", "body": "hijacked"}, {"type": "message.delete"}],
    ids=["edit", "delete"],
)
async def test_changing_someone_elses_message_gets_forbidden(alice, bob, direct, frame):
    message = await asend(direct, alice, "mine")
    async with room(direct, alice) as a, room(direct, bob) as b:
        await b.send_json_to({**frame, "message_id": str(message.id)})
        error = await receive(b)
        assert (error["type"], error["code"]) == ("error", "forbidden")
        await assert_silent(a)
    saved = await aget_message(message)
    assert (saved.body, saved.edited_at, saved.deleted_at) == ("mine", None, None)


@pytest.mark.parametrize("frame_type", ["message.edit", "message.delete"])
@pytest.mark.parametrize("which", ["unknown", "not-a-uuid", "missing", "other-conversation"])
async def test_changing_an_unknown_message_gets_not_found(alice, direct, group, frame_type, which):
    elsewhere = await asend(group, alice, "in the group")
    message_id = {
        "unknown": UNKNOWN_ID,
        "not-a-uuid": "not-a-uuid",
        "missing": None,
        "other-conversation": str(elsewhere.id),
    }[which]
    async with room(direct, alice) as a:
        await a.send_json_to({"type": frame_type, "message_id": message_id, "body": "changed"})
        error = await receive(a)
        assert (error["type"], error["code"]) == ("error", "not_found")
    saved = await aget_message(elsewhere)
    assert (saved.body, saved.deleted_at) == ("in the group", None)


async def test_editing_a_deleted_message_gets_message_deleted(alice, direct):
    message = await asend(direct, alice, "gone")
    await database_sync_to_async(message_delete)(conversation_id=direct.id, user=alice, message_id=message.id)
    async with room(direct, alice) as a:
        await a.send_json_to({"type": "message.edit", "message_id": str(message.id), "body": "back"})
        error = await receive(a)
        assert (error["type"], error["code"]) == ("error", "message_deleted")
    saved = await aget_message(message)
    assert (saved.body, saved.edited_at) == ("", None)


@pytest.mark.parametrize("body", ["", "   "], ids=["empty", "blank"])
async def test_editing_to_an_empty_body_gets_empty_body(alice, direct, body):
    message = await asend(direct, alice, "keep me")
    async with room(direct, alice) as a:
        await a.send_json_to({"type": "message.edit", "message_id": str(message.id), "body": body})
        error = await receive(a)
        assert (error["type"], error["code"]) == ("error", "empty_body")
    assert (await aget_message(message)).body == "keep me"


# --- Token expiry ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/ws/chat/{id}/", "/ws/{id}/", "/ws/notifications/"])
async def test_socket_is_closed_with_4401_when_its_token_expires(alice, direct, path):
    token, exp = short_lived_access(alice)
    async with open_socket(path.format(id=direct.id), token=token) as ws:
        assert ws.connected_ok
        await ws.send_json_to({"type": "ping"})
        assert await receive(ws) == {"type": "pong"}
        assert await close_code(ws) == 4401
        assert time.time() >= exp - 0.05, "closed before the token expired"


async def test_auth_frame_with_a_fresh_token_keeps_the_socket_open_past_the_old_expiry(alice, direct):
    token, exp = short_lived_access(alice)
    fresh = AccessToken.for_user(alice)
    async with room(direct, token=token) as ws:
        await ws.send_json_to({"type": "auth", "token": str(fresh)})
        ok = await receive(ws)
        assert ok["type"] == "auth.ok"
        assert epoch(ok["expires_at"]) == fresh["exp"]
        await asyncio.sleep(max(0.0, exp - time.time()) + 0.2)
        await ws.send_json_to({"type": "ping"})
        assert await receive(ws) == {"type": "pong"}


async def test_auth_frame_with_another_users_token_is_refused_and_the_old_expiry_stays(
    alice, bob, direct
):
    token, exp = short_lived_access(alice)
    async with room(direct, token=token) as ws:
        await ws.send_json_to({"type": "auth", "token": access_token(bob)})
        error = await receive(ws)
        assert (error["type"], error["code"]) == ("error", "token_user_mismatch")
        assert await close_code(ws) == 4401
        assert time.time() >= exp - 0.05


@pytest.mark.parametrize("kind", ["garbage", "missing", "expired", "refresh", "logged-out"])
async def test_auth_frame_with_an_unusable_token_gets_invalid_token(alice, direct, client_for, kind):
    if kind == "expired":
        expired = AccessToken.for_user(alice)
        expired["exp"] = int(time.time()) - 1
        frame = {"type": "auth", "token": str(expired)}
    elif kind == "refresh":
        refresh = await database_sync_to_async(RefreshToken.for_user)(alice)
        frame = {"type": "auth", "token": str(refresh)}
    elif kind == "logged-out":
        pair = await database_sync_to_async(token_pair_for_user)(alice)
        logout = database_sync_to_async(client_for().post)
        assert (await logout("/api/auth/logout/", {"refresh": pair["refresh"]})).status_code == 200
        frame = {"type": "auth", "token": pair["access"]}
    else:
        frame = {"type": "auth", "token": "not-a-jwt"} if kind == "garbage" else {"type": "auth"}
    async with room(direct, alice) as ws:
        await ws.send_json_to(frame)
        error = await receive(ws)
        assert (error["type"], error["code"]) == ("error", "invalid_token")
        await ws.send_json_to({"type": "ping"})
        assert await receive(ws) == {"type": "pong"}


@pytest.mark.parametrize("path", ["/ws/chat/{id}/", "/ws/notifications/"])
async def test_logged_out_session_cannot_open_sockets(alice, direct, client_for, path):
    pair = await database_sync_to_async(token_pair_for_user)(alice)
    path = path.format(id=direct.id)
    async with open_socket(path, token=pair["access"]) as ws:
        await ws.send_json_to({"type": "ping"})
        assert await receive(ws) == {"type": "pong"}, "the session works before logging out"

    logout = database_sync_to_async(client_for().post)
    assert (await logout("/api/auth/logout/", {"refresh": pair["refresh"]})).status_code == 200

    async with open_socket(path, token=pair["access"]) as ws:
        await expect_close(ws, 4401)


# --- Review fixes -----------------------------------------------------------------------


async def test_after_beyond_the_newest_seq_still_gets_new_messages(alice, bob, direct):
    async with room(direct, alice, after=100) as a, room(direct, bob) as b:
        await b.send_json_to({"type": "message.send", "body": "still live"})
        frame = await receive(a, skip={"presence", "presence.state", "sync.done"})
        assert (frame["type"], frame["body"], frame["seq"]) == ("chat.message", "still live", 1)


async def test_non_ascii_digits_in_after_get_an_error_not_a_crash(alice, direct):
    async with open_socket(f"/ws/chat/{direct.id}/?after=%C2%B2", token=access_token(alice)) as ws:
        assert (await receive(ws))["code"] == "invalid_after"
        await ws.send_json_to({"type": "ping"})
        assert await receive(ws) == {"type": "pong"}


async def test_unexpected_failure_in_a_handler_gets_an_error_and_the_socket_lives(
    alice, direct, monkeypatch
):
    from chat.sockets import rooms

    def broken(**kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(rooms, "conversation_mark_read", broken)
    async with room(direct, alice) as ws:
        await ws.send_json_to({"type": "read", "seq": 1})
        assert (await receive(ws))["code"] == "server_error"
        await ws.send_json_to({"type": "ping"})
        assert await receive(ws) == {"type": "pong"}


@pytest.mark.parametrize("claim", ["not-a-uuid", ["a", "list"], {"an": "object"}])
@pytest.mark.parametrize("path", ["/ws/chat/{id}/", "/ws/notifications/", "/ws/{id}/"])
async def test_a_signed_token_whose_user_id_is_not_a_uuid_closes_with_4401(direct, path, claim):
    token = AccessToken()
    token["user_id"] = claim
    async with open_socket(path.format(id=direct.id), token=str(token)) as ws:
        await expect_close(ws, 4401)
