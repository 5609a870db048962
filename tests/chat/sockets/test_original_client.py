"""
What the original tutorial frontend needs beyond the happy path: an
``avatar_url`` it can hand to next/image ("" or absolute), media served with
debug off, display names that reveal nothing, a ``ws/<id>/`` socket that
lives as long as its session (not its access token), notices it can show for
every message that was not saved, and pages it never has to follow.
"""

import asyncio
import io
import re
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from chat.sockets.rooms import OriginalClientRoomConsumer
from chat.models import ConversationMessage
from core.public_urls import absolute_url, serving_origin, socket_origin
from tests.plugins.conversations import send
from tests.plugins.sockets import close_code, open_socket, receive, room
from useraccount import services
from chat.conversations.opening import room_opening
from useraccount.tokens import (
    SESSION_CLAIM, claims_user_id, session_end_from, signed_access_claims, token_holds, token_pair_for_user, unexpired,
)

pytestmark = pytest.mark.django_db(transaction=True)


def png(name="me.png") -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (3, 3), "blue").save(buffer, format="PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def with_avatar(user):
    services.user_update_profile(user=user, avatar=png())
    return user


def expired_access(refresh: str) -> str:
    """An access token of ``refresh``'s session that expired a minute ago."""
    access = RefreshToken(refresh).access_token
    access.set_exp(from_time=timezone.now() - timedelta(minutes=61), lifetime=timedelta(minutes=60))
    return str(access)


async def pair(user):
    """A session's tokens, plus an access token of it that expired a minute ago."""
    tokens = await database_sync_to_async(token_pair_for_user)(user)
    return {**tokens, "expired": await database_sync_to_async(expired_access)(tokens["refresh"])}


# --- avatar_url ------------------------------------------------------------------------


def test_no_avatar_is_an_empty_string_everywhere(client_for, alice, bob, direct):
    client = client_for(alice)
    assert client.get(f"/api/auth/{bob.id}/").json()["avatar_url"] == ""
    assert client.get("/api/auth/me/").json()["avatar_url"] == ""
    assert {u["avatar_url"] for c in client.get("/api/chat/").json() for u in c["users"]} == {""}
    send(direct, bob, "hi")
    detail = client.get(f"/api/chat/{direct.id}/").json()
    assert detail["messages"][0]["created_by"]["avatar_url"] == ""


def test_avatar_url_is_absolute_on_the_requests_origin(client_for, alice, bob, direct, media):
    with_avatar(bob)
    send(direct, bob, "hi")
    client = client_for(alice)
    url = client.get(f"/api/auth/{bob.id}/", HTTP_HOST="localhost:8000").json()["avatar_url"]
    assert re.fullmatch(r"http://localhost:8000/media/avatars/[0-9a-f]{32}\.png", url)
    detail = client.get(f"/api/chat/{direct.id}/", HTTP_HOST="127.0.0.1:8000").json()
    assert detail["messages"][0]["created_by"]["avatar_url"] == url.replace("localhost", "127.0.0.1")
    users = client.get("/api/chat/", HTTP_HOST="localhost:8000").json()[0]["users"]
    assert url in {u["avatar_url"] for u in users}


def test_avatar_url_uses_public_base_url_when_set(client_for, alice, bob, media, settings):
    settings.PUBLIC_BASE_URL = "https://chat.example.com"
    with_avatar(bob)
    url = client_for(alice).get(f"/api/auth/{bob.id}/", HTTP_HOST="localhost").json()["avatar_url"]
    assert url.startswith("https://chat.example.com/media/avatars/")


def test_https_behind_a_proxy_gives_https_urls(client_for, alice, bob, media, settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    with_avatar(bob)
    response = client_for(alice).get(
        f"/api/auth/{bob.id}/", HTTP_HOST="localhost", HTTP_X_FORWARDED_PROTO="https"
    )
    assert response.json()["avatar_url"].startswith("https://localhost/media/avatars/")


def test_storage_urls_that_are_absolute_already_are_kept(settings):
    settings.PUBLIC_BASE_URL = "https://chat.example.com"
    assert absolute_url("https://cdn.example.net/a.png") == "https://cdn.example.net/a.png"
    assert absolute_url("//cdn.example.net/a.png") == "//cdn.example.net/a.png"


def test_outside_any_request_the_path_is_kept(settings):
    settings.PUBLIC_BASE_URL = ""
    assert absolute_url("/media/a.png") == "/media/a.png"
    with serving_origin("http://localhost:8000"):
        assert absolute_url("/media/a.png") == "http://localhost:8000/media/a.png"
    assert absolute_url("/media/a.png") == "/media/a.png"


@pytest.mark.parametrize(
    "headers, scheme, expected",
    [
        ([(b"host", b"localhost:8000")], "ws", "http://localhost:8000"),
        ([(b"host", b"localhost")], "wss", "https://localhost"),
        ([(b"host", b"localhost"), (b"x-forwarded-proto", b"https")], "ws", "https://localhost"),
        ([(b"host", b"evil.example")], "ws", None),  # not in ALLOWED_HOSTS: no origin of its choosing
        ([], "ws", None),
    ],
)
def test_socket_origin_is_checked_like_djangos(headers, scheme, expected, settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    assert socket_origin({"path": "/ws/notifications/", "headers": headers, "scheme": scheme}) == expected


async def test_socket_frames_carry_absolute_avatar_urls(alice, bob, direct, media):
    await database_sync_to_async(with_avatar)(bob)
    host = [(b"host", b"localhost:8000")]
    async with open_socket(f"/ws/chat/{direct.id}/?token={AccessToken.for_user(alice)}", headers=host) as ws_a, \
            open_socket(f"/ws/{direct.id}/?token={AccessToken.for_user(bob)}", headers=host) as ws_b, \
            open_socket(f"/ws/notifications/?token={AccessToken.for_user(alice)}", headers=host) as notes:
        await ws_b.send_json_to({"event": "chat_message", "data": {"body": "hi"}})
        frames = [await receive(ws_a), await receive(ws_b), await receive(notes)]
    avatars = {frames[0]["created_by"]["avatar_url"], frames[1]["created_by"]["avatar_url"],
               frames[2]["message"]["created_by"]["avatar_url"]}
    assert len(avatars) == 1
    assert re.fullmatch(r"http://localhost:8000/media/avatars/[0-9a-f]{32}\.png", avatars.pop())


def test_a_replaced_avatar_file_is_deleted(alice, media):
    with_avatar(alice)
    first = media / alice.avatar.name
    with_avatar(alice)
    assert not first.exists() and (media / alice.avatar.name).is_file()
    services.user_update_profile(user=alice, avatar=None)
    assert not any((media / "avatars").iterdir())


def test_uploaded_file_name_is_not_published(client_for, alice, media):
    response = client_for(alice).patch("/api/auth/me/", {"avatar": png("jane-doe-passport.png")}, format="multipart")
    assert "passport" not in response.json()["avatar_url"]


# --- media -----------------------------------------------------------------------------


def test_media_is_served_with_debug_off(client, alice, media, settings):
    settings.DEBUG = False
    with_avatar(alice)
    response = client.get(f"/media/{alice.avatar.name}", HTTP_HOST="localhost")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert b"".join(response.streaming_content).startswith(b"\x89PNG")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"]
    assert client.get("/media/avatars/missing.png").status_code == 404
    assert client.get("/media/../manage.py").status_code in (400, 404)  # never the file
    assert client.post(f"/media/{alice.avatar.name}").status_code == 405


def test_serve_media_off_leaves_media_to_someone_else(client, alice, media, settings):
    with_avatar(alice)
    settings.SERVE_MEDIA = False
    assert client.get(f"/media/{alice.avatar.name}").status_code == 404


# --- display names ---------------------------------------------------------------------


def test_a_user_without_a_name_shows_nothing_of_their_email(client_for, make_user, alice):
    nameless = make_user("", email="jane.doe@example.com")
    other = make_user("", email="jane.doe@example.org")
    seen = client_for(alice).get(f"/api/auth/{nameless.id}/").json()["name"]
    assert seen == f"User {nameless.id.hex[:8]}"
    assert "jane" not in seen.lower()
    # Different people, different names: the tutorial client tells its own messages by name.
    assert client_for(alice).get(f"/api/auth/{other.id}/").json()["name"] != seen


# --- a socket that follows its session -------------------------------------------------


def test_an_expired_access_token_of_a_live_session_authenticates_the_original_path(alice):
    tokens = token_pair_for_user(alice)
    claims = signed_access_claims(expired_access(tokens["refresh"]))
    assert claims[SESSION_CLAIM] == RefreshToken(tokens["refresh"])["jti"] and not unexpired(claims)
    opening = room_opening(user_id=claims_user_id(claims), conversation_id=None, session=claims[SESSION_CLAIM])
    assert opening.user == alice and token_holds(claims, opening.user, revoked=opening.revoked)
    ends = session_end_from(claims, expires_at=opening.session_ends, revoked=opening.revoked)
    assert ends == OutstandingToken.objects.get(jti=claims[SESSION_CLAIM]).expires_at


def test_a_forged_or_refresh_token_does_not(alice):
    tokens = token_pair_for_user(alice)
    assert signed_access_claims(tokens["refresh"]) is None
    assert signed_access_claims(expired_access(tokens["refresh"])[:-2] + "xx") is None
    assert signed_access_claims("garbage") is None


async def test_the_original_socket_outlives_its_access_token(alice, bob, direct, settings):
    tokens = await pair(alice)
    short = await database_sync_to_async(lambda: RefreshToken(tokens["refresh"]).access_token)()
    short.set_exp(lifetime=timedelta(seconds=1))
    async with room(direct, token=str(short), original=True) as original, room(direct, bob) as other:
        await asyncio.sleep(1.5)
        await original.send_json_to({"event": "chat_message", "data": {"body": "still here"}})
        assert (await receive(original))["body"] == "still here"
        assert (await receive(other))["body"] == "still here"


async def test_the_rich_path_still_closes_at_expiry(alice, direct):
    tokens = await pair(alice)
    async with room(direct, token=tokens["expired"]) as ws:
        assert await close_code(ws) == 4401


async def test_the_original_client_reconnects_with_its_expired_token(alice, bob, direct):
    tokens = await pair(alice)
    async with room(direct, token=tokens["expired"], original=True) as ws:
        await ws.send_json_to({"event": "chat_message", "data": {"body": "after an hour"}})
        assert (await receive(ws))["body"] == "after an hour"
    assert await database_sync_to_async(ConversationMessage.objects.filter(body="after an hour").count)() == 1


@pytest.mark.parametrize("how", ["logout", "deactivate", "new password"])
async def test_the_original_socket_closes_when_its_session_ends_and_says_what_was_not_sent(
    alice, bob, direct, how
):
    tokens = await pair(alice)
    async with room(direct, token=tokens["expired"], original=True) as ws:
        await ws.send_json_to({"event": "chat_message", "data": {"body": "in time"}})
        assert (await receive(ws))["body"] == "in time"
        if how == "logout":
            await database_sync_to_async(services.session_logout)(refresh=tokens["refresh"])
        elif how == "deactivate":
            await database_sync_to_async(services.user_deactivate)(user=alice)
        else:
            await database_sync_to_async(services.user_set_password)(user=alice, password="a-new-passphrase-1")
        await asyncio.sleep(0.05)
        await ws.send_json_to({"event": "chat_message", "data": {"body": "typed too late"}})
        notice = await receive(ws)
        assert notice["type"] == "error" and notice["code"] == "not_authenticated"
        assert notice["name"] == "Not sent" and "typed too late" in notice["body"]
        assert await close_code(ws) == 4401
    assert not await database_sync_to_async(ConversationMessage.objects.filter(body="typed too late").exists)()


async def test_the_original_socket_closes_when_the_session_runs_out(alice, direct):
    tokens = await pair(alice)
    jti = RefreshToken(tokens["refresh"], verify=False)["jti"]
    soon = timezone.now() + timedelta(seconds=1)
    await database_sync_to_async(OutstandingToken.objects.filter(jti=jti).update)(expires_at=soon)
    async with room(direct, token=tokens["access"], original=True) as ws:
        assert await close_code(ws) == 4401
    async with room(direct, token=tokens["access"], original=True) as ws:  # and stays refused
        assert await close_code(ws) == 4401


async def test_a_refused_original_socket_answers_queued_messages_then_closes(alice, carol, direct):
    # react-use-websocket queues what the user typed while disconnected and
    # sends it as soon as a socket opens: each is told it was not sent.
    for token, code, error in [("garbage", 4401, "not_authenticated"),
                               (str(AccessToken.for_user(carol)), 4403, "not_a_member")]:
        async with room(direct, token=token, original=True) as ws:
            for body in ("first", "second"):
                await ws.send_json_to({"event": "chat_message", "data": {"body": body}})
            notices = [await receive(ws), await receive(ws)]
            assert [n["code"] for n in notices] == [error, error]
            assert ["first" in notices[0]["body"], "second" in notices[1]["body"]] == [True, True]
            assert await close_code(ws) == code
    assert not await database_sync_to_async(ConversationMessage.objects.exists)()


async def test_a_refused_original_socket_stays_open_through_the_default_grace(direct, settings):
    settings.ORIGINAL_CLIENT_REFUSAL_GRACE = 3  # the default; the other tests shorten it
    async with room(direct, token="garbage", original=True) as ws:
        assert await ws.receive_nothing(timeout=1), "still open a second after the refusal"
        await ws.send_json_to({"event": "chat_message", "data": {"body": "queued"}})
        assert (await receive(ws))["code"] == "not_authenticated"


async def test_a_refused_original_socket_is_closed_after_too_many_frames(direct, settings):
    settings.ORIGINAL_CLIENT_REFUSAL_GRACE = 3  # the frames, not the grace, close it
    async with room(direct, token="garbage", original=True) as ws:
        for _ in range(OriginalClientRoomConsumer.REFUSAL_NOTICES + 1):
            await ws.send_json_to({"event": "chat_message", "data": {"body": "x"}})
        frames = []
        while (output := await ws.receive_output(timeout=1))["type"] == "websocket.send":
            frames.append(output)
        assert len(frames) == OriginalClientRoomConsumer.REFUSAL_NOTICES
        assert output == {"type": "websocket.close", "code": 4401}


async def test_errors_on_the_original_path_are_shown_as_messages(alice, direct, settings):
    settings.CHAT_MESSAGE_MAX_LENGTH = 5
    async with room(direct, alice, original=True) as ws:
        await ws.send_json_to({"event": "chat_message", "data": {"body": "too long"}})
        notice = await receive(ws)
        assert (notice["type"], notice["code"], notice["name"]) == ("error", "body_too_long", "Not sent")
        assert notice["body"].startswith("\u201ctoo long\u201d was not sent: ")
        await ws.send_json_to({"type": "auth", "token": "x"})
        assert (await receive(ws))["code"] == "unsupported"


async def test_errors_on_the_rich_path_have_no_name_or_body(alice, direct, settings):
    settings.CHAT_MESSAGE_MAX_LENGTH = 5
    async with room(direct, alice) as ws:
        await ws.send_json_to({"type": "message.send", "body": "too long"})
        assert set(await receive(ws)) == {"type", "code", "detail"}


def test_default_access_token_lasts_an_hour_as_the_original_backends():
    from django.conf import settings as live_settings

    assert live_settings.SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"] == timedelta(hours=1)
    assert live_settings.SIMPLE_JWT["REFRESH_TOKEN_LIFETIME"] == timedelta(days=7)
