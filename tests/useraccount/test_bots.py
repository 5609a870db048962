"""
Bots and their API keys: staff make them, a key is shown once and stored
hashed, scoped, revocable and bounded; a bot posts and reads with
``Authorization: Api-Key`` in the groups it was added to, under its own rate
limits, and its messages are marked ``is_bot``.
"""

import asyncio
from datetime import timedelta

import pytest
from django.utils import timezone

from chat.conversations.groups import conversation_add_members
from tests.plugins.conversations import post_message
from tests.plugins.servers import http_request
from tests.plugins.sockets import open_socket
from useraccount import bots
from useraccount.models import ApiKey, User

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(make_user):
    return make_user("Staff", is_staff=True)


def key_client(client_for, raw: str):
    client = client_for(None)
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    return client


@pytest.fixture
def weather(staff, group, alice):
    """A bot made by staff, with a read and write key, in Alice's group."""
    bot = bots.bot_create(name="Weather", created_by=staff)
    conversation_add_members(conversation_id=group.id, user=alice, user_ids=[bot.id])
    _, raw = bots.api_key_create(bot=bot, scopes=["read", "write"], created_by=staff)
    return bot, raw


def test_staff_make_a_bot_and_a_key_shown_once_and_stored_hashed(client_for, staff):
    staff_client = client_for(staff)
    made = staff_client.post("/api/bots/", {"name": "Weather"}, format="json")
    assert made.status_code == 201 and made.json()["is_bot"] is True
    bot = User.objects.get(id=made.json()["id"])
    assert bot.is_bot and not bot.has_usable_password() and not bot.is_staff
    key = staff_client.post(f"/api/bots/{bot.id}/keys/", {"name": "prod", "scopes": ["write", "read"]}, format="json")
    assert key.status_code == 201
    raw = key.json()["key"]
    assert raw.startswith(f"ck_{key.json()['prefix']}_") and key.json()["scopes"] == ["read", "write"]
    row = ApiKey.objects.get(id=key.json()["id"])
    assert raw not in (row.digest, row.prefix) and len(row.digest) == 64
    listed = staff_client.get(f"/api/bots/{bot.id}/keys/").json()
    assert [item["id"] for item in listed] == [key.json()["id"]] and "key" not in listed[0]
    assert any(item["id"] == str(bot.id) for item in staff_client.get("/api/bots/").json())


def test_only_staff_make_bots(client_for, alice):
    assert client_for(alice).post("/api/bots/", {"name": "Mine"}, format="json").status_code == 403
    assert client_for(None).get("/api/bots/").status_code == 401


def test_a_bot_posts_and_reads_with_its_key_and_its_messages_are_marked(client_for, weather, group, alice):
    bot, raw = weather
    client = key_client(client_for, raw)
    sent = post_message(client, group, "It is raining in London")
    assert sent.status_code == 201, sent.content
    assert sent.json()["created_by"] == {"id": str(bot.id), "name": "Weather", "avatar_url": "", "is_bot": True}
    read = client.get(f"/api/chat/{group.id}/messages/")
    assert read.status_code == 200 and read.json()[-1]["body"] == "It is raining in London"
    seen = client_for(alice).get(f"/api/chat/{group.id}/messages/").json()[-1]
    assert seen["created_by"]["is_bot"] is True
    # People are shown as before: no is_bot key at all.
    post_message(client_for(alice), group, "thanks")
    assert "is_bot" not in client_for(alice).get(f"/api/chat/{group.id}/messages/").json()[-1]["created_by"]


def test_a_bot_sees_only_the_conversations_it_was_added_to(client_for, weather, direct):
    _, raw = weather
    assert key_client(client_for, raw).get(f"/api/chat/{direct.id}/messages/").status_code == 404


def test_a_revoked_or_unknown_key_is_a_401(client_for, weather, group):
    bot, raw = weather
    key = ApiKey.objects.get(bot=bot)
    bots.api_key_revoke(bot=bot, key_id=key.id)
    refused = post_message(key_client(client_for, raw), group, "hi")
    assert refused.status_code == 401 and refused.json()["code"] == "invalid_api_key"
    assert key_client(client_for, raw[:-2] + "xx").get("/api/chat/").status_code == 401
    assert key_client(client_for, "ck_nothing").get("/api/chat/").status_code == 401


def test_revoking_over_rest_stops_the_key(client_for, staff, weather, group):
    bot, raw = weather
    key = ApiKey.objects.get(bot=bot)
    assert client_for(staff).delete(f"/api/bots/{bot.id}/keys/{key.id}/").status_code == 204
    assert key_client(client_for, raw).get("/api/chat/").status_code == 401


def test_a_deactivated_bot_keys_are_refused(client_for, weather):
    bot, raw = weather
    User.objects.filter(id=bot.id).update(is_active=False)
    assert key_client(client_for, raw).get("/api/chat/").status_code == 401


def test_a_read_key_cannot_write_and_a_write_key_cannot_read(client_for, weather, group):
    bot, _ = weather
    _, read_only = bots.api_key_create(bot=bot, scopes=["read"])
    refused = post_message(key_client(client_for, read_only), group, "hi")
    assert refused.status_code == 403 and refused.json()["code"] == "scope_refused"
    assert key_client(client_for, read_only).get(f"/api/chat/{group.id}/messages/").status_code == 200
    _, write_only = bots.api_key_create(bot=bot, scopes=["write"])
    assert key_client(client_for, write_only).get("/api/chat/").json()["code"] == "scope_refused"
    assert post_message(key_client(client_for, write_only), group, "hi").status_code == 201


def test_last_used_is_written_at_most_once_per_interval(client_for, weather, settings):
    settings.API_KEY_LAST_USED_SECONDS = 60
    bot, raw = weather
    client = key_client(client_for, raw)
    assert ApiKey.objects.get(bot=bot).last_used_at is None
    client.get("/api/chat/")
    first = ApiKey.objects.get(bot=bot).last_used_at
    assert first is not None
    client.get("/api/chat/")
    assert ApiKey.objects.get(bot=bot).last_used_at == first
    long_ago = timezone.now() - timedelta(seconds=61)
    ApiKey.objects.filter(bot=bot).update(last_used_at=long_ago)
    client.get("/api/chat/")
    assert ApiKey.objects.get(bot=bot).last_used_at > long_ago


def test_keys_a_bot_are_bounded(settings, weather):
    settings.API_KEYS_PER_BOT = 2
    bot, _ = weather
    bots.api_key_create(bot=bot, scopes=["read"])
    with pytest.raises(bots.InvalidInput) as refused:
        bots.api_key_create(bot=bot, scopes=["read"])
    assert refused.value.code == "too_many_keys"
    bots.api_key_revoke(bot=bot, key_id=ApiKey.objects.filter(bot=bot).first().id)
    bots.api_key_create(bot=bot, scopes=["read"])  # a revoked key frees its place


def test_a_key_needs_known_scopes(client_for, staff, weather):
    bot, _ = weather
    answer = client_for(staff).post(f"/api/bots/{bot.id}/keys/", {"scopes": ["admin"]}, format="json")
    assert answer.status_code == 400


def test_bots_cannot_sign_in_and_have_no_direct_conversations(client_for, weather, alice):
    bot, raw = weather
    bot.set_password("a-long-passphrase-1")  # even if staff gave it one in the admin
    bot.save()
    login = client_for(None).post("/api/auth/login/", {"email": bot.email, "password": "a-long-passphrase-1"}, format="json")
    assert login.status_code == 400
    assert client_for(alice).post(f"/api/chat/start/{bot.id}/").json()["code"] == "bot_direct"
    assert key_client(client_for, raw).post(f"/api/chat/start/{alice.id}/").json()["code"] == "bot_direct"


def test_bots_have_their_own_rate_limits(client_for, rest_settings, weather, alice, group):
    rest_settings(rates={"bot": "2/min", "user": "100/min", "bot_message_send": "1/min", "message_send": "100/min"})
    _, raw = weather
    client = key_client(client_for, raw)
    assert client.get("/api/chat/").status_code == 200
    assert post_message(client, group, "one").status_code == 201
    third = client.get("/api/chat/")
    assert third.status_code == 429 and third.json()["code"] == "throttled"
    for _ in range(3):  # people are counted apart
        assert client_for(alice).get("/api/chat/").status_code == 200


def test_message_sends_of_a_bot_count_under_its_own_scope(client_for, rest_settings, weather, group):
    rest_settings(rates={"bot": "100/min", "bot_message_send": "1/min", "message_send": "100/min"})
    _, raw = weather
    client = key_client(client_for, raw)
    assert post_message(client, group, "one").status_code == 201
    assert post_message(client, group, "two").status_code == 429


@pytest.mark.django_db(transaction=True)
async def test_a_key_does_not_open_sockets(weather, group):
    _, raw = weather
    headers = [(b"authorization", f"Api-Key {raw}".encode())]
    async with open_socket(f"/ws/chat/{group.id}/", headers=headers) as ws:
        message = await ws.receive_output(timeout=5)
    assert message == {"type": "websocket.close", "code": 4401}


def test_the_admin_lists_bots_and_marks_them(client, staff, weather):
    bot, _ = weather
    User.objects.filter(id=staff.id).update(is_superuser=True)
    client.force_login(staff)
    page = client.get("/admin/useraccount/bot/")
    assert page.status_code == 200 and "Weather" in page.content.decode()
    assert "Weather" in client.get("/admin/useraccount/user/?is_bot__exact=1").content.decode()
    assert client.get(f"/admin/useraccount/bot/{bot.id}/change/").status_code == 200


@pytest.mark.live
@pytest.mark.django_db(transaction=True)
async def test_a_bot_made_by_staff_posts_with_its_key_over_a_real_server(start_server, staff, group, alice):
    from channels.db import database_sync_to_async

    from tests.plugins.users import access_token

    server = start_server()
    staff_auth = {"Authorization": f"Bearer {await database_sync_to_async(access_token)(staff)}"}
    made = await asyncio.to_thread(http_request, f"{server.http}/api/bots/", data={"name": "Weather"}, headers=staff_auth)
    assert made.status == 201, made.body
    bot_id = made.json()["id"]
    key = await asyncio.to_thread(
        http_request, f"{server.http}/api/bots/{bot_id}/keys/", data={"scopes": ["read", "write"]}, headers=staff_auth
    )
    raw = key.json()["key"]
    owner = {"Authorization": f"Bearer {await database_sync_to_async(access_token)(alice)}"}
    added = await asyncio.to_thread(
        http_request, f"{server.http}/api/chat/{group.id}/members/", data={"user_ids": [bot_id]}, headers=owner
    )
    assert added.status == 200, added.body
    sent = await asyncio.to_thread(
        http_request, f"{server.http}/api/chat/{group.id}/messages/", data={"body": "Sunny, 21 °C"},
        headers={"Authorization": f"Api-Key {raw}"},
    )
    assert sent.status == 201, sent.body
    assert sent.json()["created_by"]["is_bot"] is True and sent.json()["created_by"]["id"] == bot_id
    key_row = await database_sync_to_async(ApiKey.objects.get)(bot_id=bot_id)
    assert key_row.last_used_at is not None
    revoked = await asyncio.to_thread(
        http_request, f"{server.http}/api/bots/{bot_id}/keys/{key_row.id}/", headers=staff_auth, method="DELETE"
    )
    assert revoked.status == 204
    refused = await asyncio.to_thread(
        http_request, f"{server.http}/api/chat/{group.id}/messages/", headers={"Authorization": f"Api-Key {raw}"}
    )
    assert refused.status == 401
