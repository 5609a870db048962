"""
Presence's pooled Redis connections: one gone bad is replaced, not an error.

A call cut short after its command went out leaves the answer unread on its
connection; the health check (REDIS_HEALTH_CHECK_INTERVAL) then reads that
answer instead of PONG. Retried once on a fresh connection, as presence's
client does (REDIS_RETRY_ON_ERROR), the call succeeds; without the retry it
fails and a socket connecting just then is refused with 4503.
"""

import asyncio
import os

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
