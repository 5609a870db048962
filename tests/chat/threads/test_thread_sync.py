"""
Threads across a user's devices and reconnects, over real sockets: reading,
following or unfollowing a thread reaches every socket of the reader's
(``thread.state``); a room socket's ``sync`` and ``?after=`` send the
summaries of older roots their replies changed; the notifications socket's
``sync`` says which followed threads have unread replies.
"""

import pytest
from channels.db import database_sync_to_async

from chat.threads.services import thread_follow, thread_mark_read
from tests.plugins.conversations import send
from tests.plugins.sockets import assert_silent, drain, notifications, receive, room

pytestmark = pytest.mark.django_db(transaction=True)

asend = database_sync_to_async(send)


async def reply(conversation, sender, root, body="in the thread"):
    return await asend(conversation, sender, body, thread_id=str(root.id))


def thread_url(root, suffix=""):
    return f"/api/chat/{root.conversation_id}/messages/{root.id}/thread/{suffix}"


def state_frame(root, *, following, last_read_seq, unread_count, unread_threads) -> dict:
    return {
        "type": "thread.state", "conversation_id": str(root.conversation_id), "root_id": str(root.id),
        "following": following, "last_read_seq": last_read_seq, "unread_count": unread_count,
        "unread_threads": unread_threads,
    }


# --- thread.state: one device reads, every device knows ------------------------------------


async def test_reading_a_thread_on_one_socket_reaches_the_readers_other_sockets(alice, bob, carol, group, direct):
    root = await asend(group, alice, "plans?")
    first = await reply(group, bob, root, "yes")
    second = await reply(group, carol, root, "me too")
    other = await asend(direct, alice, "elsewhere")
    await reply(direct, bob, other)  # a second followed thread with unread replies
    async with room(group, alice) as phone, room(group, alice) as laptop, notifications(alice) as feed, \
            room(direct, alice) as elsewhere, room(group, bob) as bobs:
        for ws in (phone, laptop, feed, elsewhere, bobs):
            await drain(ws)
        await phone.send_json_to({"type": "read", "seq": first.seq, "thread_id": str(root.id)})
        expected = state_frame(root, following=True, last_read_seq=first.seq, unread_count=1, unread_threads=2)
        for ws in (laptop, phone, feed):
            assert await receive(ws) == expected
        await assert_silent(elsewhere)  # a room socket of another conversation
        await assert_silent(bobs)  # nor anyone else
        await phone.send_json_to({"type": "read", "seq": first.seq, "thread_id": str(root.id)})
        await assert_silent(laptop)  # not moved: nothing to tell
        await phone.send_json_to({"type": "read", "seq": second.seq, "thread_id": str(root.id)})
        assert (await receive(laptop))["unread_threads"] == 1
        assert (await receive(feed))["unread_count"] == 0
    state = await database_sync_to_async(thread_mark_read)(conversation_id=group.id, user=alice, root_id=root.id, seq=0)
    assert (state.last_read_seq, state.unread_count) == (second.seq, 0)


async def test_reading_a_thread_over_rest_reaches_the_readers_sockets(client_for, alice, bob, group):
    root = await asend(group, bob, "plans?")
    latest = await reply(group, bob, root)
    async with room(group, alice) as laptop, notifications(alice) as feed:
        await drain(laptop), await drain(feed)
        answer = await database_sync_to_async(client_for(alice).post)(
            thread_url(root, "read/"), {"seq": latest.seq}, format="json"
        )
        assert answer.status_code == 200
        expected = state_frame(root, following=False, last_read_seq=latest.seq, unread_count=0, unread_threads=0)
        assert await receive(laptop) == expected
        assert await receive(feed) == expected


async def test_following_and_unfollowing_reach_the_users_sockets_when_they_change_something(
    client_for, alice, bob, carol, group
):
    root = await asend(group, alice, "plans?")
    await reply(group, bob, root)
    client = client_for(carol)
    put, delete = database_sync_to_async(client.put), database_sync_to_async(client.delete)
    async with room(group, carol) as laptop, notifications(carol) as feed, room(group, alice, original=True) as old:
        for ws in (laptop, feed, old):
            await drain(ws)
        assert (await put(thread_url(root, "follow/"))).status_code == 200
        followed = state_frame(root, following=True, last_read_seq=0, unread_count=1, unread_threads=1)
        assert await receive(laptop) == followed and await receive(feed) == followed
        assert (await put(thread_url(root, "follow/"))).status_code == 200
        await assert_silent(laptop)  # already following
        assert (await delete(thread_url(root, "follow/"))).status_code == 200
        unfollowed = state_frame(root, following=False, last_read_seq=0, unread_count=1, unread_threads=0)
        assert await receive(laptop) == unfollowed and await receive(feed) == unfollowed
        await assert_silent(old)
    # The root's author follows without a row of their own yet: unfollowing is a change, following is not.
    fresh = await asend(group, alice, "another")
    async with notifications(alice) as feed:
        await drain(feed)
        await database_sync_to_async(thread_follow)(conversation_id=group.id, user=alice, root_id=fresh.id, following=True)
        await assert_silent(feed)
        await database_sync_to_async(thread_follow)(
            conversation_id=group.id, user=alice, root_id=fresh.id, following=False
        )
        assert (await receive(feed))["following"] is False


async def test_a_thread_read_over_the_socket_is_checked_like_one_over_rest(alice, bob, group, direct):
    root = await asend(group, alice, "plans?")
    reply_id = str((await reply(group, bob, root)).id)
    elsewhere = await asend(direct, alice, "elsewhere")
    async with room(group, alice) as ws:
        await drain(ws)
        for thread_id, code in [(reply_id, "not_a_thread_root"), (str(elsewhere.id), "not_found"), ("x", "not_found")]:
            await ws.send_json_to({"type": "read", "seq": 5, "thread_id": thread_id})
            error = await receive(ws)
            assert (error["type"], error["code"]) == ("error", code)


# --- Unread counts with replies, live ------------------------------------------------------


async def test_replies_reach_the_followers_feed_but_not_the_conversations_unread_count(client_for, alice, bob, group):
    root = await asend(group, alice, "plans?")
    async with notifications(alice) as feed:
        await drain(feed)
        first = await reply(group, bob, root)
        notified = await receive(feed)
        assert notified["message"]["thread_id"] == str(root.id)
        await asend(group, bob, "main")
        await receive(feed)
        unread = (await database_sync_to_async(client_for(alice).get)("/api/chat/unread/")).json()
        assert unread == {"total": 1, "conversations": {str(group.id): 1}}  # "main", not the reply
        async with room(group, alice) as ws:
            await drain(ws)
            await ws.send_json_to({"type": "read", "seq": first.seq})
        assert await receive(feed) == {"type": "unread", "conversation_id": str(group.id), "unread_count": 1,
                                       "total": 1}


# --- sync on a room socket: the summaries of older roots ------------------------------------


async def test_room_sync_sends_the_summaries_of_older_roots_replied_to_since(alice, bob, carol, group):
    old_root = await asend(group, alice, "old plans?")
    untouched = await asend(group, alice, "no replies since")
    await reply(group, bob, untouched)
    known = (await reply(group, bob, old_root, "before the gap")).seq
    await reply(group, carol, old_root, "after the gap")
    new_root = await asend(group, carol, "new plans?")
    await reply(group, bob, new_root)
    last = await reply(group, alice, old_root, "again")
    async with room(group, alice) as ws:
        await drain(ws)
        await ws.send_json_to({"type": "sync", "after": known})
        frames = []
        while not frames or frames[-1]["type"] != "sync.done":
            frames.append(await receive(ws))
    messages = [frame for frame in frames if frame["type"] == "chat.message"]
    assert [m["seq"] for m in messages] == list(range(known + 1, last.seq + 1))
    assert next(m for m in messages if m["id"] == str(new_root.id))["thread"]["reply_count"] == 1
    summaries = [frame for frame in frames if frame["type"] == "chat.thread.updated"]
    assert [(s["message_id"], s["seq"]) for s in summaries] == [(str(old_root.id), old_root.seq)]
    assert summaries[0]["thread"]["reply_count"] == 3 and summaries[0]["thread"]["last_reply_seq"] == last.seq
    assert frames.index(summaries[0]) > frames.index(messages[-1])  # after the messages, before sync.done
    assert frames[-1] == {"type": "sync.done", "last_seq": last.seq}


async def test_reconnecting_with_after_sends_the_summaries_too_in_pages(settings, alice, bob, group):
    settings.CATCH_UP_PAGE = 2
    roots = [await asend(group, alice, f"root {n}") for n in range(5)]
    known = roots[-1].seq
    for root in roots:
        await reply(group, bob, root)
    async with room(group, alice, after=known) as ws:
        frames = [await receive(ws) for _ in range(10)]
        await assert_silent(ws)
    assert [f["seq"] for f in frames if f["type"] == "chat.message"] == list(range(known + 1, known + 6))
    assert [f["message_id"] for f in frames if f["type"] == "chat.thread.updated"] == [str(r.id) for r in roots]


async def test_an_up_to_date_sync_and_the_original_path_get_no_summaries(alice, bob, group):
    root = await asend(group, alice, "plans?")
    known = (await reply(group, bob, root)).seq
    async with room(group, alice) as ws, room(group, alice, original=True, after=root.seq) as old:
        await drain(ws)
        await ws.send_json_to({"type": "sync", "after": known})
        assert await receive(ws) == {"type": "sync.done", "last_seq": known}
        reply_frame = await receive(old)
        assert (reply_frame["type"], reply_frame["seq"]) == ("chat.message", known)
        await assert_silent(old)


# --- sync on the notifications socket: followed threads with unread replies -------------------


async def test_notifications_sync_lists_the_followed_threads_with_unread_replies(settings, alice, bob, carol, group):
    settings.SYNC_PAGE_THREADS = 1
    older = await asend(group, alice, "older")
    newer = await asend(group, alice, "newer")
    unfollowed = await asend(group, bob, "not followed")
    await reply(group, bob, older)
    await reply(group, carol, newer)
    await reply(group, carol, unfollowed)
    latest = await reply(group, bob, newer)
    async with notifications(alice) as feed:
        await feed.send_json_to({"type": "sync", "conversations": {str(group.id): latest.seq}})
        result = await receive(feed)
        assert result["conversations"] == []
        assert (result["unread_threads"], result["threads_more"]) == (2, True)
        [thread] = result["threads"]
        assert (thread["root_id"], thread["unread_count"], thread["following"]) == (str(newer.id), 2, True)
        assert thread["root"]["thread"]["reply_count"] == 2 and thread["last_read_seq"] == 0
        await database_sync_to_async(thread_mark_read)(
            conversation_id=group.id, user=alice, root_id=newer.id, seq=latest.seq
        )
        assert (await receive(feed))["unread_threads"] == 1
        await feed.send_json_to({"type": "sync", "conversations": {str(group.id): latest.seq}})
        result = await receive(feed)
        assert (result["unread_threads"], result["threads_more"]) == (1, False)
        assert [t["root_id"] for t in result["threads"]] == [str(older.id)]
