"""
The channel layer sharded over two Redis servers (CHANNEL_LAYER_REDIS_URLS),
end to end: two server processes, each group on the shard its name hashes
to, members on different processes chatting both ways on the rich path and
the original client's, presence and typing crossing processes, and what one
shard down does. The two Redis servers are the module's own (free ports,
killed at the end); the shared one is never touched. REDIS_URL (presence,
rate limits) is a third database of the first shard's server.
"""

import asyncio
import json
import shutil
import time

import pytest
from channels.db import database_sync_to_async
from channels_redis.utils import _consistent_hash
from websockets.asyncio.client import connect

from chat.realtime.groups import conversation_group, room_group, user_group
from tests.core.test_redis_outage import close_code_of_first_frame, until_sockets_are_accepted
from tests.factories import GroupConversationFactory, UserFactory
from tests.plugins.faults import OwnRedis
from tests.plugins.servers import http_request, launch_server, stop_servers
from tests.plugins.users import access_token

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.live,
    pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server"),
]


@pytest.fixture(scope="module")
def shards():
    """Two redis-servers of the module's own: the channel layer's shards, in CHANNEL_LAYER_REDIS_URLS order."""
    started = []
    try:
        for _ in range(2):
            shard = OwnRedis()
            shard.start()
            started.append(shard)
        yield started
    finally:
        for shard in started:
            if shard.process.poll() is None:
                shard.kill()


@pytest.fixture(scope="module")
def processes(shards, django_db_setup, tmp_path_factory):
    """Two server processes with the layer sharded over ``shards``, kept for the module's tests."""
    env = {
        "REDIS_URL": f"redis://127.0.0.1:{shards[0].port}/1",
        "CHANNEL_LAYER_REDIS_URLS": ",".join(shard.url for shard in shards),
        "CHANNEL_LAYER": "pubsub",
        "REDIS_TIMEOUT": "1",
    }
    folder = tmp_path_factory.mktemp("sharded-servers")
    servers = []
    try:
        for _ in range(2):
            servers.append(launch_server(folder, **env))
        yield servers
    finally:
        stop_servers(servers)


def shard_of(group: str, shards: list[OwnRedis]) -> OwnRedis:
    """The shard the layer puts ``group`` on: channels-redis' own rule, a hash of the group's Redis channel name."""
    return shards[_consistent_hash(redis_channel(group), len(shards))]


def redis_channel(group: str) -> str:
    return f"asgi__group__{group}"  # channels-redis' name for a group, under the default prefix


def conversation_on(shard: OwnRedis, shards: list[OwnRedis]) -> tuple:
    """A group conversation of three new users whose messages go through ``shard``, and the three."""
    for _ in range(50):
        members = UserFactory.create_batch(3)
        conversation = GroupConversationFactory(creator=members[0], members=members[1:])
        if shard_of(conversation_group(conversation.id), shards) is shard:
            return conversation, members
    raise AssertionError("no conversation hashed to the shard in 50 tries")


async def subscribers(shard: OwnRedis, group: str) -> int:
    """How many processes subscribe ``group`` on ``shard`` (PUBSUB NUMSUB)."""
    from redis.asyncio import Redis

    client = Redis.from_url(shard.url, socket_timeout=2)
    try:
        [(_, count)] = await client.pubsub_numsub(redis_channel(group))
        return count
    finally:
        await client.aclose()


async def until_subscribed(shards: list[OwnRedis], group: str, processes: int) -> None:
    """Until ``processes`` processes subscribe ``group`` on the shard it hashes to; none may on another."""
    home = shard_of(group, shards)
    deadline = time.monotonic() + 10
    while True:
        for other in shards:
            if other is not home:
                assert await subscribers(other, group) == 0, f"{group} is subscribed on a shard it does not hash to"
        if (count := await subscribers(home, group)) == processes:
            return
        assert time.monotonic() < deadline, f"{group}: {count} subscribers on its shard, not {processes}"
        await asyncio.sleep(0.02)


async def next_frame(ws, kind: str, **fields) -> dict:
    """The next frame of type ``kind`` (with ``fields``), passing over any other."""
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), timeout=10))
        if frame.get("type") == kind and all(frame.get(key) == value for key, value in fields.items()):
            return frame


async def until_told_of(ws, user_ids: set[str], *, online: bool) -> None:
    """
    Until ``ws`` has been told that each of ``user_ids`` came online (or went
    offline), in any order: by ``presence`` frames, or by ``presence.changes``
    where a server gathers a burst of them into one frame.
    """
    told: set[str] = set()
    while not user_ids <= told:
        frame = json.loads(await asyncio.wait_for(ws.recv(), timeout=10))
        if frame["type"] == "presence" and frame["online"] is online:
            told.add(frame["user_id"])
        elif frame["type"] == "presence.changes":
            told.update(frame["online" if online else "offline"])


def socket_url(server, path: str, user) -> str:
    return f"{server.ws}{path}?token={access_token(user)}"


async def chat_across_processes(conversation, members, first, second, shards) -> None:
    """
    Alice on the first process (rich path), Bob (original client's path) and
    Carol (rich) on the second: messages both ways, presence and typing
    crossing the processes, every group on its shard.
    """
    alice, bob, carol = members
    rich, original = f"/ws/chat/{conversation.id}/", f"/ws/{conversation.id}/"
    async with connect(socket_url(first, rich, alice)) as alice_ws:
        assert {str(bob.id), str(carol.id)}.isdisjoint((await next_frame(alice_ws, "presence.state"))["online"])
        async with connect(socket_url(second, original, bob)) as bob_ws, connect(
            socket_url(second, rich, carol)
        ) as carol_ws:
            await next_frame(carol_ws, "presence.state")
            # Bob and Carol came online on the second process: Alice hears of both.
            await until_told_of(alice_ws, {str(bob.id), str(carol.id)}, online=True)
            for group, count in [
                (conversation_group(conversation.id), 2), (room_group(conversation.id), 2),
                (user_group(alice.id), 1), (user_group(bob.id), 1), (user_group(carol.id), 1),
            ]:
                await until_subscribed(shards, group, count)

            await alice_ws.send(json.dumps({"type": "message.send", "body": "from the first", "client_id": "a1"}))
            assert (await next_frame(alice_ws, "chat.message"))["client_id"] == "a1"
            heard_by_bob = json.loads(await asyncio.wait_for(bob_ws.recv(), timeout=10))
            assert (heard_by_bob["name"], heard_by_bob["body"]) == (alice.name, "from the first")
            assert (await next_frame(carol_ws, "chat.message"))["body"] == "from the first"

            await bob_ws.send(json.dumps({"event": "chat_message", "data": {"body": "from the second"}}))
            assert (await next_frame(alice_ws, "chat.message"))["body"] == "from the second"
            assert (await next_frame(carol_ws, "chat.message"))["body"] == "from the second"

            await carol_ws.send(json.dumps({"type": "typing"}))
            assert (await next_frame(alice_ws, "chat.typing"))["user_id"] == str(carol.id)
            await alice_ws.send(json.dumps({"type": "typing"}))
            assert (await next_frame(carol_ws, "chat.typing"))["user_id"] == str(alice.id)

            await carol_ws.close()
            await until_told_of(alice_ws, {str(carol.id)}, online=False)


async def test_members_on_two_processes_chat_through_both_shards(processes, shards):
    first, second = processes
    conversations = [await database_sync_to_async(conversation_on)(shard, shards) for shard in shards]
    await asyncio.gather(*(
        chat_across_processes(conversation, members, first, second, shards)
        for conversation, members in conversations
    ))


async def refused_soon(url: str, seconds: float = 5) -> int | None:
    """The close code of a socket to ``url`` once one is refused (tried for ``seconds``); None if none was."""
    deadline = time.monotonic() + seconds
    while (code := await close_code_of_first_frame(url)) is None and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
    return code


async def test_with_one_shard_down_the_other_carries_on_and_open_sockets_outlive_it(processes, shards):
    """
    The second shard killed (REDIS_URL, on the first, stays up): a
    conversation on the first shard chats across processes as before; one on
    the second saves and acknowledges at once but is not heard live on the
    other process; a new socket is refused with 4503 if one of its groups is
    on the second shard; once it is back, sockets opened before hear
    everything again (the missed message filled in) and new ones are let in.
    """
    first, second = processes
    up, down = shards
    on_up, up_members = await database_sync_to_async(conversation_on)(up, shards)
    on_down, down_members = await database_sync_to_async(conversation_on)(down, shards)
    async with connect(socket_url(first, f"/ws/chat/{on_up.id}/", up_members[0])) as up_sender, connect(
        socket_url(second, f"/ws/chat/{on_up.id}/", up_members[1])
    ) as up_receiver, connect(socket_url(first, f"/ws/chat/{on_down.id}/", down_members[0])) as down_sender, connect(
        socket_url(second, f"/ws/chat/{on_down.id}/", down_members[1])
    ) as down_receiver:
        for ws in (up_sender, up_receiver, down_sender, down_receiver):
            await next_frame(ws, "presence.state")
        await until_subscribed(shards, conversation_group(on_up.id), 2)
        await until_subscribed(shards, conversation_group(on_down.id), 2)

        down.kill()
        await up_sender.send(json.dumps({"type": "message.send", "body": "through the live shard"}))
        assert (await next_frame(up_receiver, "chat.message"))["body"] == "through the live shard"

        started = time.monotonic()
        await down_sender.send(json.dumps({"type": "message.send", "body": "while down", "client_id": "d1"}))
        acknowledged = await next_frame(down_sender, "chat.message", client_id="d1")
        assert time.monotonic() - started < 2, "a publish to a shard that refuses connections fails at once"
        assert acknowledged["seq"] == 1

        # A new socket subscribes the groups its process does not follow yet,
        # and is refused if one of those is on the dead shard: always in a
        # conversation on it that nobody follows; in the one on the live shard,
        # which the process follows already, only if the member's own group is.
        # Until the process's subscriber connection to the dead shard reads
        # its end (its receive loop polls every 0.1 s), a SUBSCRIBE written to
        # it raises nothing: so the refusal is awaited, a few seconds at most.
        unfollowed, (newcomer, *_) = await database_sync_to_async(conversation_on)(down, shards)
        newcomers_room = socket_url(second, f"/ws/chat/{unfollowed.id}/", newcomer)
        assert await refused_soon(newcomers_room) == 4503
        third = up_members[2]
        third_room = socket_url(second, f"/ws/chat/{on_up.id}/", third)
        if shard_of(user_group(third.id), shards) is down:
            assert await refused_soon(third_room) == 4503
        else:
            assert await close_code_of_first_frame(third_room) is None

        metrics = await asyncio.to_thread(http_request, f"{first.http}/metrics")
        failed = [line for line in metrics.body.decode().splitlines() if line.startswith("chat_redis_errors_total ")]
        assert failed and float(failed[0].split()[1]) >= 1, "the failed publish is counted"

        down.start()
        await until_sockets_are_accepted(newcomers_room, time.monotonic() + 20, "the shard")
        # The receiver subscribed before the outage hears the next message, the one it missed first.
        sent, deadline = 1, time.monotonic() + 20
        while True:
            sent += 1
            await down_sender.send(json.dumps({"type": "message.send", "body": f"after {sent}"}))
            try:
                heard = await asyncio.wait_for(next_frame(down_receiver, "chat.message"), timeout=0.5)
            except TimeoutError:
                assert time.monotonic() < deadline, "the subscription on the restarted shard did not come back"
                continue
            break
        assert (heard["seq"], heard["body"]) == (1, "while down")
        assert (await next_frame(down_receiver, "chat.message"))["seq"] == 2

    for server in processes:
        log = server.log()
        assert "Traceback" not in log, log[-3000:]

