"""Threads over real sockets: replies and summaries on room sockets, notifications and pushes for followers only."""

import pytest
from channels.db import database_sync_to_async

from chat.conversations.membership import conversation_mute
from chat.models import PushDevice
from chat.push import queue
from chat.threads.services import thread_follow
from tests.factories import PushDeviceFactory
from tests.plugins.conversations import UNKNOWN_ID, send
from tests.plugins.sockets import assert_silent, drain, notifications, receive, room

pytestmark = pytest.mark.django_db(transaction=True)


async def test_a_thread_reply_reaches_both_room_sockets_with_its_thread_id_and_the_roots_summary(group, alice, bob):
    root = await database_sync_to_async(send)(group, alice, "plans?")
    async with room(group, alice) as mine, room(group, bob) as theirs:
        await drain(mine), await drain(theirs)
        await theirs.send_json_to({"type": "message.send", "body": "yes", "thread_id": str(root.id)})
        for ws in (mine, theirs):
            frames = {frame["type"]: frame for frame in [await receive(ws), await receive(ws)]}
            message, updated = frames["chat.message"], frames["chat.thread.updated"]
            assert message["thread_id"] == str(root.id) and message["seq"] == root.seq + 1
            assert updated == {
                "type": "chat.thread.updated", "conversation_id": str(group.id), "message_id": str(root.id),
                "seq": root.seq, "thread": {
                    "reply_count": 1, "last_reply_at": message["created_at"], "last_reply_seq": message["seq"],
                    "latest_replier_ids": [str(bob.id)],
                },
            }
        await theirs.send_json_to({"type": "message.send", "body": "x", "thread_id": UNKNOWN_ID, "client_id": "t2"})
        error = await receive(theirs)
        assert (error["type"], error["code"], error["client_id"]) == ("error", "invalid_thread", "t2")
        await assert_silent(mine)


async def test_thread_replies_interleaved_with_messages_reach_the_room_gapless(group, alice, bob):
    root = await database_sync_to_async(send)(group, alice, "plans?")
    async with room(group, alice) as ws:
        await drain(ws)
        for n in range(3):
            await ws.send_json_to({"type": "message.send", "body": f"main {n}"})
            await ws.send_json_to({"type": "message.send", "body": f"reply {n}", "thread_id": str(root.id)})
        frames = [await receive(ws) for _ in range(9)]  # 6 messages, 3 summaries
        messages = [frame for frame in frames if frame["type"] == "chat.message"]
        assert [m["seq"] for m in messages] == list(range(root.seq + 1, root.seq + 7))
        assert [m["thread_id"] for m in messages] == [None, str(root.id)] * 3
        counts = [frame["thread"]["reply_count"] for frame in frames if frame["type"] == "chat.thread.updated"]
        assert counts == [1, 2, 3]


async def test_the_original_client_gets_thread_replies_as_messages_and_no_summary(direct, alice, bob):
    root = await database_sync_to_async(send)(direct, alice, "plans?")
    async with room(direct, alice, original=True) as tutorial, room(direct, bob) as rich:
        await drain(tutorial), await drain(rich)
        await rich.send_json_to({"type": "message.send", "body": "yes", "thread_id": str(root.id)})
        shown = await receive(tutorial)
        assert (shown["type"], shown["body"], shown["name"]) == ("chat.message", "yes", bob.display_name)
        await assert_silent(tutorial)


async def test_thread_replies_notify_the_followers_only(group, alice, bob, carol):
    root = await database_sync_to_async(send)(group, alice, "plans?")
    async with notifications(alice) as alices, notifications(bob) as bobs, notifications(carol) as carols:
        for ws in (alices, bobs, carols):
            await drain(ws)
        async with room(group, bob) as ws:
            await drain(ws)
            await ws.send_json_to({"type": "message.send", "body": "yes", "thread_id": str(root.id)})
            notified = await receive(alices)  # the root's author follows
            assert notified["type"] == "notification" and notified["message"]["thread_id"] == str(root.id)
            await assert_silent(carols)  # a member who does not follow
            await assert_silent(bobs)  # nor the sender
            # Carol follows: the next reply reaches her; the main timeline reaches everyone as before.
            await database_sync_to_async(thread_follow)(
                conversation_id=group.id, user=carol, root_id=root.id, following=True
            )
            assert (await receive(carols))["type"] == "thread.state"  # her own follow, told to her sockets
            await ws.send_json_to({"type": "message.send", "body": "again", "thread_id": str(root.id)})
            assert (await receive(carols))["message"]["body"] == "again"
            assert (await receive(alices))["message"]["body"] == "again"
            # Alice mutes the conversation: her thread stays quiet too.
            await database_sync_to_async(conversation_mute)(conversation_id=group.id, user=alice)
            assert (await receive(alices))["type"] == "conversation.muted"
            await ws.send_json_to({"type": "message.send", "body": "muted", "thread_id": str(root.id)})
            assert (await receive(carols))["message"]["body"] == "muted"
            await assert_silent(alices)
            await ws.send_json_to({"type": "message.send", "body": "main"})
            assert (await receive(carols))["message"]["body"] == "main"


async def test_unfollowing_stops_the_notifications_of_a_thread(group, alice, bob):
    root = await database_sync_to_async(send)(group, alice, "plans?")
    await database_sync_to_async(thread_follow)(conversation_id=group.id, user=alice, root_id=root.id, following=False)
    async with notifications(alice) as alices:
        await drain(alices)
        await database_sync_to_async(send)(group, bob, "yes", thread_id=str(root.id))
        await assert_silent(alices)


def test_thread_replies_are_pushed_to_the_followers_only(settings, group, alice, bob, carol, monkeypatch):
    settings.PUSH_VAPID_PRIVATE_KEY = "So_1K8FQlg5AdoWhAFInEYGyvqIGnmLOdXK0JYYP4OE"
    settings.PUSH_VAPID_SUBJECT = "mailto:ops@example.com"
    devices = {user: PushDeviceFactory(user=user, kind=PushDevice.WEBPUSH) for user in (alice, bob, carol)}
    jobs = []
    monkeypatch.setattr(queue, "_send", lambda actor, *args: jobs.append((actor, args)))
    root = send(group, alice, "plans?")
    jobs.clear()
    reply = send(group, bob, "yes", thread_id=str(root.id))
    [(actor, args)] = jobs
    assert (actor, args) == ("push_message", (str(reply.id),))
    jobs.clear()
    queue.message_fan_out(*args)
    assert {args[0] for _, args in jobs} == {str(devices[alice].id)}  # not carol (no follower), not bob (sender)
    assert all(args[2]["thread_id"] == str(root.id) for _, args in jobs)
    jobs.clear()
    main = send(group, bob, "main")
    jobs.clear()
    queue.message_fan_out(str(main.id))
    assert {args[0] for _, args in jobs} == {str(devices[alice].id), str(devices[carol].id)}
