"""
Revocation reaches live sockets: logging out closes that session's sockets,
deactivation and a new password close every socket of the user (4401), and
the tokens stop working on REST and for new sockets.
"""

import asyncio
import json
import os

import pytest
from channels.db import database_sync_to_async
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.plugins.sockets import close_code, notifications, receive, room
from useraccount import services
from useraccount.tokens import authenticate_access_token, token_pair_for_user

pytestmark = pytest.mark.django_db(transaction=True)


async def pair(user):
    return await database_sync_to_async(token_pair_for_user)(user)


async def still_open(ws) -> bool:
    await ws.send_json_to({"type": "ping"})
    return (await receive(ws))["type"] == "pong"


async def test_logout_closes_that_sessions_sockets_only(alice, direct):
    phone, laptop = await pair(alice), await pair(alice)
    async with room(direct, token=phone["access"]) as phone_room, notifications(
        token=phone["access"]
    ) as phone_notes, room(direct, token=laptop["access"]) as laptop_room:
        await database_sync_to_async(services.session_logout)(refresh=phone["refresh"])
        assert await close_code(phone_room) == 4401
        assert await close_code(phone_notes) == 4401
        assert await still_open(laptop_room)


@pytest.mark.parametrize("how", ["deactivate", "new password"])
async def test_deactivation_and_a_new_password_close_every_socket_and_refuse_the_tokens(
    alice, bob, direct, client_for, how
):
    tokens = await pair(alice)
    async with room(direct, token=tokens["access"]) as alice_room, room(direct, bob) as bob_room:
        if how == "deactivate":
            await database_sync_to_async(services.user_deactivate)(user=alice)
        else:
            await database_sync_to_async(services.user_set_password)(user=alice, password="a-new-passphrase-1")
        assert await close_code(alice_room) == 4401
        assert await still_open(bob_room)
    assert await database_sync_to_async(authenticate_access_token)(tokens["access"]) is None
    client = client_for(None)
    response = await database_sync_to_async(client.get)(
        "/api/chat/", HTTP_AUTHORIZATION=f"Bearer {tokens['access']}"
    )
    assert response.status_code == 401
    response = await database_sync_to_async(client.post)(
        "/api/auth/token/refresh/", {"refresh": tokens["refresh"]}, content_type="application/json"
    )
    assert response.status_code == 401


async def test_tokens_issued_after_a_new_password_work(alice, direct):
    await database_sync_to_async(services.user_set_password)(user=alice, password="a-new-passphrase-1")
    tokens = await pair(alice)
    async with room(direct, token=tokens["access"]) as ws:
        assert await still_open(ws)


@pytest.mark.live
@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs REDIS_URL: processes share the Redis channel layer")
async def test_logout_through_one_process_closes_the_socket_on_another(start_server, alice, direct):
    first, second = start_server(), start_server()
    tokens = await pair(alice)
    async with connect(f"{second.ws}/ws/chat/{direct.id}/?token={tokens['access']}") as ws:
        await asyncio.sleep(0.2)
        request = json.dumps({"refresh": tokens["refresh"]}).encode()
        import urllib.request

        await asyncio.to_thread(
            urllib.request.urlopen,
            urllib.request.Request(f"{first.http}/api/auth/logout/", data=request, headers={"Content-Type": "application/json"}),
            None, 10,
        )
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                await asyncio.wait_for(ws.recv(), timeout=10)
    assert closed.value.rcvd.code == 4401


def test_checking_an_access_token_of_a_session_is_one_query(alice, django_assert_num_queries):
    pair = token_pair_for_user(alice)
    with django_assert_num_queries(1):
        assert authenticate_access_token(pair["access"])[0] == alice
    services.session_logout(refresh=pair["refresh"])
    with django_assert_num_queries(1):
        assert authenticate_access_token(pair["access"]) is None
