"""
End to end over real sockets: daphne processes serving the project, a real
WebSocket client, the test database shared with the server processes.
"""

import asyncio
import json
import os
import urllib.request

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.plugins.users import access_token

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.live]


def post_json(url: str, data: dict, token: str | None = None) -> dict:
    request = urllib.request.Request(
        url, data=json.dumps(data).encode(), headers={"Content-Type": "application/json"}
    )
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


async def recv_json(ws) -> dict:
    """The next frame, passing over presence frames."""
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), timeout=10))
        if frame["type"] not in ("presence", "presence.state"):
            return frame


async def close_code_of(url: str, **kwargs) -> int:
    async with connect(url, **kwargs) as ws:
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), timeout=10)
    return closed.value.rcvd.code


async def test_original_client_chats_through_a_real_server(start_server):
    server = start_server()
    alice = await asyncio.to_thread(
        post_json,
        f"{server.http}/api/auth/register/",
        {"email": "alice@example.com", "password1": "a-long-passphrase", "password2": "a-long-passphrase", "name": "Alice"},
    )
    bob = await asyncio.to_thread(
        post_json,
        f"{server.http}/api/auth/register/",
        {"email": "bob@example.com", "password1": "a-long-passphrase", "password2": "a-long-passphrase", "name": "Bob"},
    )
    # Bob's token is the fresher one: registering hashes a password, which on a
    # loaded machine can take longer than Alice's two-second token lives.
    started = await asyncio.to_thread(
        post_json, f"{server.http}/api/chat/start/{alice['user']['id']}/", {}, bob["access"]
    )
    room = f"{server.ws}/ws/{started['conversation_id']}/"
    async with connect(f"{room}?token={alice['access']}") as a, connect(
        room, additional_headers={"Authorization": f"Bearer {bob['access']}"}
    ) as b:
        await a.send(json.dumps({"event": "chat_message", "data": {"body": "hi Bob", "name": "Alice"}}))
        for ws in (a, b):
            frame = await recv_json(ws)
            assert (frame["body"], frame["name"], frame["seq"]) == ("hi Bob", "Alice", 1)
        await b.send("not json")
        assert (await recv_json(b))["code"] == "invalid_json"


async def test_rejections_carry_close_codes_over_a_real_socket(start_server, alice, carol, direct):
    server = start_server()
    room = f"{server.ws}/ws/{direct.id}/"
    assert await close_code_of(room) == 4401
    assert await close_code_of(f"{room}?token=garbage") == 4401
    assert await close_code_of(f"{room}?token={access_token(carol)}") == 4403


async def test_token_never_appears_in_server_log(start_server, alice, carol, direct):
    server = start_server()
    good, intruder = access_token(alice), access_token(carol)
    room = f"{server.ws}/ws/{direct.id}/"
    async with connect(f"{room}?token={good}") as ws:
        await ws.send(json.dumps({"type": "message.send", "body": "logged?"}))
        await recv_json(ws)
    assert await close_code_of(f"{room}?token={intruder}") == 4403
    assert await close_code_of(f"{room}?token=garbage-token-value") == 4401
    await asyncio.sleep(0.3)  # let the server flush its access log
    log = server.log()
    assert "WSCONNECT" in log, "the access log is on, so the check means something"
    for secret in (good, intruder, "garbage-token-value"):
        assert secret not in log
    assert "Traceback" not in log and "ERROR" not in log


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs REDIS_URL: processes share the Redis channel layer")
async def test_message_sent_through_one_process_reaches_a_socket_on_another(
    start_server, alice, bob, direct
):
    first, second = start_server(), start_server()
    async with connect(f"{first.ws}/ws/chat/{direct.id}/?token={access_token(alice)}") as a, connect(
        f"{second.ws}/ws/chat/{direct.id}/?token={access_token(bob)}"
    ) as b, connect(f"{second.ws}/ws/notifications/?token={access_token(bob)}") as b_notes:
        for n in range(1, 4):
            sender, receiver = (a, b) if n % 2 else (b, a)
            await sender.send(json.dumps({"type": "message.send", "body": f"hop {n}"}))
            assert (await recv_json(receiver))["body"] == f"hop {n}"
            assert (await recv_json(sender))["seq"] == n
        notification = await recv_json(b_notes)
        assert notification["type"] == "notification"
        assert notification["message"]["body"] == "hop 1"


async def test_original_client_chats_past_its_access_tokens_lifetime(start_server):
    # The tutorial frontend keeps the token it rendered the page with; its
    # socket must outlive that token, and say so when the session really ends.
    server = start_server(JWT_ACCESS_TOKEN_LIFETIME="2")
    register = f"{server.http}/api/auth/register/"
    password = {"password1": "a-long-passphrase", "password2": "a-long-passphrase"}
    alice = await asyncio.to_thread(post_json, register, {"email": "alice@example.com", **password})
    bob = await asyncio.to_thread(post_json, register, {"email": "bob@example.com", **password})
    # Bob's token is the fresher one: registering hashes a password, which on a
    # loaded machine can take longer than Alice's two-second token lives.
    started = await asyncio.to_thread(
        post_json, f"{server.http}/api/chat/start/{alice['user']['id']}/", {}, bob["access"]
    )
    room = f"{server.ws}/ws/{started['conversation_id']}/"
    async with connect(f"{room}?token={alice['access']}") as a, connect(f"{room}?token={bob['access']}") as b:
        await asyncio.sleep(3)  # both access tokens have expired
        await a.send(json.dumps({"event": "chat_message", "data": {"body": "an hour later"}}))
        for ws in (a, b):
            frame = await recv_json(ws)
            assert (frame["body"], frame["name"]) == ("an hour later", alice["user"]["name"])
        await asyncio.to_thread(post_json, f"{server.http}/api/auth/logout/", {"refresh": alice["refresh"]})
        await asyncio.sleep(0.3)
        await a.send(json.dumps({"event": "chat_message", "data": {"body": "after logout"}}))
        notice = await recv_json(a)
        assert (notice["code"], notice["name"]) == ("not_authenticated", "Not sent")
        assert "after logout" in notice["body"]
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(a.recv(), timeout=10)
        assert closed.value.rcvd.code == 4401
        await b.send(json.dumps({"event": "chat_message", "data": {"body": "bob is fine"}}))
        assert (await recv_json(b))["body"] == "bob is fine"
    # Reconnecting with the expired token works for Bob, whose session lives, and not for Alice.
    async with connect(f"{room}?token={bob['access']}") as b:
        await b.send(json.dumps({"type": "ping"}))
        assert (await recv_json(b))["type"] == "pong"
    assert await close_code_of(f"{room}?token={alice['access']}") == 4401


def upload_avatar(url: str, token: str, png: bytes) -> dict:
    boundary = "----avatar-boundary"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="avatar"; filename="me.png"\r\n'
        f"Content-Type: image/png\r\n\r\n"
    ).encode() + png + f"\r\n--{boundary}--\r\n".encode()
    request = urllib.request.Request(url, data=body, method="PATCH", headers={
        "Content-Type": f"multipart/form-data; boundary={boundary}", "Authorization": f"Bearer {token}",
    })
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


async def test_avatars_are_absolute_and_served_with_debug_off(start_server, tmp_path):
    import io

    from PIL import Image

    server = start_server(
        DJANGO_DEBUG="0", DJANGO_SECRET_KEY="live-test-key-" + "x" * 40, DJANGO_HTTPS="0",  # plain HTTP here
        DJANGO_ALLOWED_HOSTS="127.0.0.1", DJANGO_MEDIA_ROOT=str(tmp_path / "media"),
    )
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), "green").save(buffer, format="PNG")
    password = {"password1": "a-long-passphrase", "password2": "a-long-passphrase"}
    alice = await asyncio.to_thread(post_json, f"{server.http}/api/auth/register/", {"email": "a@example.com", **password})
    assert alice["user"]["avatar_url"] == ""
    me = await asyncio.to_thread(upload_avatar, f"{server.http}/api/auth/me/", alice["access"], buffer.getvalue())
    assert me["avatar_url"].startswith(f"{server.http}/media/avatars/")
    with urllib.request.urlopen(me["avatar_url"], timeout=10) as response:
        assert response.headers["Content-Type"] == "image/png"
        assert response.read() == buffer.getvalue()


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs REDIS_URL: processes share the Redis channel layer")
async def test_group_changes_reach_sockets_on_every_process(start_server, make_user, alice, bob, carol, group):
    from tests.plugins.servers import http_request

    first, second = start_server(), start_server()
    dave = await asyncio.to_thread(make_user, "Dave")
    members = f"{first.http}/api/chat/{group.id}/members/"
    owner = {"Authorization": f"Bearer {access_token(alice)}", "Content-Type": "application/json"}
    async with connect(f"{second.ws}/ws/chat/{group.id}/?token={access_token(carol)}") as carols_room, connect(
        f"{second.ws}/ws/notifications/?token={access_token(carol)}"
    ) as carols_feed, connect(f"{second.ws}/ws/notifications/?token={access_token(dave)}") as daves_feed:
        await asyncio.sleep(0.2)
        added = await asyncio.to_thread(http_request, members, data={"user_ids": [str(dave.id)]}, headers=owner)
        assert added.status == 200
        assert (await recv_json(daves_feed))["type"] == "conversation.updated"
        removed = await asyncio.to_thread(
            http_request, f"{members}{carol.id}/", headers=owner, method="DELETE"
        )
        assert removed.status == 204
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                await asyncio.wait_for(carols_room.recv(), timeout=10)
        assert closed.value.rcvd.code == 4403
        while (update := await recv_json(carols_feed))["type"] != "conversation.updated" or (
            update["change"]["action"] != "member_removed"
        ):
            pass
        async with connect(f"{first.ws}/ws/chat/{group.id}/?token={access_token(bob)}") as bobs_room:
            await bobs_room.send(json.dumps({"type": "message.send", "body": "for Dave, not Carol"}))
            bodies = []
            while not bodies or bodies[-1] != "for Dave, not Carol":
                frame = await recv_json(daves_feed)
                bodies += [frame["message"]["body"]] if frame["type"] == "notification" else []
            assert bodies == ["Alice removed Carol", "for Dave, not Carol"]
        with pytest.raises(asyncio.TimeoutError):
            while True:
                frame = json.loads(await asyncio.wait_for(carols_feed.recv(), timeout=1))
                assert frame["type"] == "presence", frame
