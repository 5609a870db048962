"""
Pooled Redis connections (presence's and the channel layer's): one gone bad
is replaced, not an error.

A call cut short after its command went out leaves the answer unread on its
connection; the health check (REDIS_HEALTH_CHECK_INTERVAL) then reads that
answer instead of PONG. Retried once on a fresh connection, as presence's
client does (REDIS_RETRY), the call succeeds; without the retry it
fails and a socket connecting just then is refused with 4503.
"""

import asyncio
import os
import shutil

import pytest

pytestmark = pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs REDIS_URL")


async def test_a_pooled_presence_connection_holding_an_unread_answer_is_replaced():
    from chat.realtime.presence import RedisPresence

    store = RedisPresence(os.environ["REDIS_URL"])
    client = store._redis.client()
    try:
        connection = await client.connection_pool.get_connection()
        # A call cut short after its command went out (a cancelled task) leaves
        # its answer unread on the connection, which goes back to the pool.
        await connection.send_command("ECHO", "stale answer")
        await asyncio.sleep(0.05)
        connection.next_health_check = -1  # idle past REDIS_HEALTH_CHECK_INTERVAL
        await client.connection_pool.release(connection)
        assert await client.echo("fresh") == b"fresh"
    finally:
        await store._redis.aclose()


def channel_layer_config(url: str) -> dict:
    """The channel layer's CONFIG from settings, pointed at ``url``."""
    from django.conf import settings

    config = settings.CHANNEL_LAYERS["default"]["CONFIG"]
    return {**config, "hosts": [{**host, "address": url} for host in config["hosts"]]}


@pytest.mark.skipif(
    os.environ.get("CHANNEL_LAYER", "pubsub") != "pubsub", reason="the pub/sub layer's subscriber connection"
)
async def test_a_socket_subscribing_after_the_last_one_left_is_not_refused():
    """
    redis/redis-py#1740: the subscriber connection's own PING check goes out
    just as the process's last channel is unsubscribed; its answer is left
    unread once nothing is subscribed, and a PING check before the next
    SUBSCRIBE (the connection idle past the interval) reads it instead of PONG.
    The layer's connections are not PING-checked, so the next socket is not
    refused.
    """
    from channels_redis.pubsub import RedisPubSubChannelLayer

    layer = RedisPubSubChannelLayer(**channel_layer_config(os.environ["REDIS_URL"]))
    try:
        first = await layer.new_channel()
        await asyncio.sleep(0.3)  # the receive loop reads the subscription's answer
        shard = layer._shards[0]
        connection = shard._pubsub.connection
        connection.next_health_check = -1  # idle past any interval
        await shard.unsubscribe(first)  # the last channel goes (its socket closed)
        await asyncio.sleep(0.3)  # the receive loop reads on, then rests: nothing subscribed
        connection.next_health_check = -1
        second = await layer.new_channel()  # the next socket connecting
        await layer.send(second, {"type": "hello"})
        assert (await asyncio.wait_for(layer.receive(second), 5))["type"] == "hello"
    finally:
        await layer.flush()


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server")
async def test_the_channel_layer_publishes_through_a_redis_restart(own_redis):
    """
    A pooled connection from before a Redis restart is replaced, not a failed
    publish; the subscriber connection subscribes again by itself.
    """
    from channels.layers import get_channel_layer

    layer = type(get_channel_layer())(**channel_layer_config(own_redis.url))
    try:
        channel = await layer.new_channel()
        await layer.group_add("room", channel)
        await layer.group_send("room", {"type": "before"})
        assert (await asyncio.wait_for(layer.receive(channel), 5))["type"] == "before"
        own_redis.kill()
        own_redis.start()
        # The first publish goes out on the connection from before the restart:
        # it raised ConnectionError without the retry.
        await layer.group_send("room", {"type": "after"})
        received = asyncio.ensure_future(layer.receive(channel))
        for _ in range(50):  # until the subscriber is back (a message published before then is nobody's)
            done, _ = await asyncio.wait([received], timeout=0.1)
            if done:
                break
            await layer.group_send("room", {"type": "after"})
        assert (await asyncio.wait_for(received, 1))["type"] == "after"
    finally:
        await layer.flush()
