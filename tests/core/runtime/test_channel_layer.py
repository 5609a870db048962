"""
The configured Redis channel layer (core.runtime.channel_layer): a socket's own
channel lives in its process only, groups go through Redis.
"""

import asyncio
import os
import uuid

import pytest
from django.conf import settings
from django.utils.module_loading import import_string

pytestmark = pytest.mark.skipif(
    not os.environ.get("REDIS_URL") or os.environ.get("CHANNEL_LAYER", "pubsub") != "pubsub",
    reason="the Redis pub/sub channel layer",
)


def configured_layer(prefix: str):
    """A layer as settings configure it, with a prefix of its own (Redis's pub/sub names are server-wide)."""
    backend = settings.CHANNEL_LAYERS["default"]
    return import_string(backend["BACKEND"])(**{**backend["CONFIG"], "prefix": prefix})


async def subscribed_names(redis, prefix: str, *, expect: int) -> list[bytes]:
    """Redis's subscribed channel names under ``prefix``, once ``expect`` of them are there (or after 5 s)."""
    for _ in range(50):
        names = sorted(await redis.pubsub_channels(f"{prefix}*"))
        if len(names) >= expect:
            break
        await asyncio.sleep(0.1)
    return names


async def test_a_sockets_own_channel_is_not_subscribed_on_redis_and_still_receives():
    from redis.asyncio import Redis

    prefix = f"layer-test-{uuid.uuid4().hex[:8]}"
    layer, other_process = configured_layer(prefix), configured_layer(prefix)
    redis = Redis.from_url(os.environ["REDIS_URL"])
    try:
        first, second = await layer.new_channel(), await layer.new_channel()
        await layer.group_add("room", first)
        await layer.group_add("room", second)
        # One subscription for the group, none for the two sockets' channels.
        assert await subscribed_names(redis, prefix, expect=1) == [f"{prefix}__group__room".encode()]

        await layer.send(first, {"type": "direct.hello"})  # from this process: its queue
        assert (await asyncio.wait_for(layer.receive(first), 5))["type"] == "direct.hello"
        await other_process.group_send("room", {"type": "chat.message", "seq": 1})  # from another process
        for channel in (first, second):
            assert (await asyncio.wait_for(layer.receive(channel), 5)) == {"type": "chat.message", "seq": 1}

        # A socket that ends (its receive cancelled) leaves nothing behind.
        waiting = asyncio.ensure_future(layer.receive(first))
        await asyncio.sleep(0.05)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        assert first not in layer._get_layer().channels
    finally:
        await layer.flush()
        await other_process.flush()
        await redis.aclose()


async def test_group_sends_of_one_process_publish_at_the_same_time_not_one_after_another():
    layer = configured_layer(f"layer-test-{uuid.uuid4().hex[:8]}")
    group_a, group_b = "conversation.a", "conversation.b"
    shard = layer._get_layer()._get_shard(layer._get_layer()._get_group_channel_name(group_a))
    shard._ensure_redis()
    entered, release = [], asyncio.Event()

    async def slow_publish(channel, data):
        entered.append(channel)
        await release.wait()

    shard._redis.publish = slow_publish
    layer._get_layer()._shards = [shard]  # both groups on that shard
    sends = [asyncio.ensure_future(layer.group_send(group, {"type": "x"})) for group in (group_a, group_b)]
    for _ in range(10):
        await asyncio.sleep(0)
    assert len(entered) == 2, "the second publish did not wait for the first's round trip"
    release.set()
    await asyncio.gather(*sends)
    await shard.flush()


async def test_groups_joined_in_one_loop_pass_are_subscribed_in_one_command_and_receive():
    """A connect burst's new groups (each socket's user group) go out in one SUBSCRIBE, not one each behind a lock."""
    prefix = f"layer-test-{uuid.uuid4().hex[:8]}"
    layer, other_process = configured_layer(prefix), configured_layer(prefix)
    try:
        channels = [await layer.new_channel() for _ in range(20)]
        shard = layer._get_layer()._shards[0]
        layer._get_layer()._shards = [shard]
        shard._ensure_redis()
        commands = []
        subscribe = shard._pubsub.subscribe

        async def counted(*names):
            commands.append(len(names))
            return await subscribe(*names)

        shard._pubsub.subscribe = counted
        await asyncio.gather(*(layer.group_add(f"user.{i}", channel) for i, channel in enumerate(channels)))
        assert commands == [20]
        # Each group_add returned once its SUBSCRIBE was written: a publish from now on reaches every socket.
        for i in range(20):
            await other_process.group_send(f"user.{i}", {"type": "hello", "n": i})
        for i, channel in enumerate(channels):
            assert (await asyncio.wait_for(layer.receive(channel), 5)) == {"type": "hello", "n": i}
    finally:
        await layer.flush()
        await other_process.flush()


async def test_a_group_left_and_joined_again_while_its_unsubscribe_is_on_its_way_still_receives():
    """The last follower leaves (UNSUBSCRIBE written), a new one joins at once: it is subscribed again, after."""
    prefix = f"layer-test-{uuid.uuid4().hex[:8]}"
    layer, other_process = configured_layer(prefix), configured_layer(prefix)
    try:
        first, second = await layer.new_channel(), await layer.new_channel()
        await layer.group_add("room", first)
        leaving = asyncio.ensure_future(layer.group_discard("room", first))
        await asyncio.sleep(0)
        await layer.group_add("room", second)
        await leaving
        await other_process.group_send("room", {"type": "chat.message", "seq": 1})
        assert (await asyncio.wait_for(layer.receive(second), 5)) == {"type": "chat.message", "seq": 1}

        # Left and joined in the same pass: nothing is written, the subscription stays.
        await asyncio.gather(layer.group_discard("room", second), layer.group_add("room", first))
        await other_process.group_send("room", {"type": "chat.message", "seq": 2})
        assert (await asyncio.wait_for(layer.receive(first), 5)) == {"type": "chat.message", "seq": 2}
    finally:
        await layer.flush()
        await other_process.flush()


async def test_a_group_joined_while_its_subscribe_is_written_and_its_leave_is_waiting_waits_for_the_subscribe():
    """A joins (SUBSCRIBE on its way), A leaves (UNSUBSCRIBE queued), B joins: B returns only once the SUBSCRIBE is written."""
    layer = configured_layer(f"layer-test-{uuid.uuid4().hex[:8]}")
    try:
        first, second = await layer.new_channel(), await layer.new_channel()
        inner = layer._get_layer()
        shard = inner._shards[0]
        inner._shards = [shard]
        shard._ensure_redis()
        release, subscribe = asyncio.Event(), shard._pubsub.subscribe

        async def slow(*names):
            await release.wait()
            return await subscribe(*names)

        shard._pubsub.subscribe = slow
        joining = asyncio.ensure_future(layer.group_add("room", first))
        for _ in range(5):
            await asyncio.sleep(0)
        leaving = asyncio.ensure_future(layer.group_discard("room", first))
        rejoining = asyncio.ensure_future(layer.group_add("room", second))
        for _ in range(5):
            await asyncio.sleep(0)
        assert not joining.done() and not rejoining.done(), "returned before the SUBSCRIBE was written"
        release.set()
        await asyncio.wait_for(asyncio.gather(joining, leaving, rejoining), 5)
        assert inner.groups[inner._get_group_channel_name("room")] == {second}
    finally:
        await layer.flush()


async def test_a_join_that_fails_leaves_nothing_behind():
    """Redis refuses the SUBSCRIBE: the error reaches the caller, and the channel does not hold the group."""
    layer = configured_layer(f"layer-test-{uuid.uuid4().hex[:8]}")
    try:
        channel = await layer.new_channel()
        inner = layer._get_layer()
        shard = inner._shards[0]
        inner._shards = [shard]
        shard._ensure_redis()

        async def refused(*names):
            raise ConnectionError("Redis is down")

        shard._pubsub.subscribe = refused
        with pytest.raises(ConnectionError):
            await asyncio.wait_for(layer.group_add("room", channel), 5)
        assert inner.groups == {} and shard._subscribed_to == set()
    finally:
        await layer.flush()
