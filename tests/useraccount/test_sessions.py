"""
Signed-in sessions: listed with device, address and last use, the current
one marked; revoking one ends its tokens at once and closes its sockets
(4401), and no other's.
"""

import asyncio
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from django.utils import timezone

from tests.factories import PASSWORD
from tests.plugins.clocks import FakeClock
from tests.plugins.servers import http_request
from tests.plugins.sockets import close_code, receive, room
from useraccount.models import LoginSession
from useraccount.sessions import SocketTouches, device_label

pytestmark = pytest.mark.django_db

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.5 Mobile/15E148 Safari/604.1"
)


def sign_in(client_for, user, user_agent: str, address: str = "127.0.0.1") -> dict:
    answer = client_for(None).post(
        "/api/auth/login/", {"email": user.email, "password": PASSWORD}, format="json",
        HTTP_USER_AGENT=user_agent, REMOTE_ADDR=address,
    )
    assert answer.status_code == 200, answer.content
    return answer.json()


def sessions_of(client_for, access: str):
    client = client_for(None)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client.get("/api/auth/sessions/")


def test_two_sign_ins_are_listed_with_their_devices_and_the_current_one(client_for, alice):
    laptop = sign_in(client_for, alice, FIREFOX, "198.51.100.7")
    phone = sign_in(client_for, alice, IPHONE, "203.0.113.9")
    listed = sessions_of(client_for, phone["access"])
    assert listed.status_code == 200
    by_device = {item["device"]: item for item in listed.json()}
    assert set(by_device) == {"Firefox on Linux", "Safari on iOS"}
    assert by_device["Safari on iOS"]["current"] is True and by_device["Firefox on Linux"]["current"] is False
    assert by_device["Firefox on Linux"]["address"] == "198.51.100.7"
    assert by_device["Safari on iOS"]["user_agent"] == IPHONE
    assert [item["device"] for item in listed.json()] == ["Safari on iOS", "Firefox on Linux"]  # newest first
    assert sessions_of(client_for, laptop["access"]).json()[1]["current"] is True


def test_the_list_is_paged(client_for, alice):
    for n in range(3):
        latest = sign_in(client_for, alice, f"App/{n}")
    client = client_for(None)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {latest['access']}")
    first = client.get("/api/auth/sessions/?limit=2")
    assert len(first.json()) == 2 and 'rel="next"' in first["Link"]
    following = client.get(first["Link"].split(">")[0].lstrip("<"))
    assert [item["device"] for item in following.json()] == ["App/0"]


def test_a_user_agent_is_kept_bounded(client_for, alice):
    tokens = sign_in(client_for, alice, "x" * 5000)
    assert len(sessions_of(client_for, tokens["access"]).json()[0]["user_agent"]) == 256


def test_a_refresh_notes_last_use_and_client_at_most_once_per_interval(client_for, alice, settings):
    settings.SESSION_LAST_USED_SECONDS = 60
    tokens = sign_in(client_for, alice, FIREFOX)
    session = LoginSession.objects.get(user=alice)
    refresh = client_for(None).post(
        "/api/auth/token/refresh/", {"refresh": tokens["refresh"]}, format="json",
        HTTP_USER_AGENT=IPHONE, REMOTE_ADDR="203.0.113.9",
    )
    assert refresh.status_code == 200
    assert LoginSession.objects.get(id=session.id).last_used_at == session.last_used_at  # within the interval
    long_ago = timezone.now() - timedelta(seconds=61)
    LoginSession.objects.filter(id=session.id).update(last_used_at=long_ago)
    client_for(None).post(
        "/api/auth/token/refresh/", {"refresh": tokens["refresh"]}, format="json",
        HTTP_USER_AGENT=IPHONE, REMOTE_ADDR="203.0.113.9",
    )
    listed = sessions_of(client_for, tokens["access"]).json()[0]
    assert listed["device"] == "Safari on iOS" and listed["address"] == "203.0.113.9"
    assert listed["signed_in_address"] == "127.0.0.1"
    assert LoginSession.objects.get(id=session.id).last_used_at > long_ago


def test_socket_touches_skip_a_session_touched_within_the_interval(settings):
    settings.SESSION_LAST_USED_SECONDS = 60
    clock = FakeClock()
    touches = SocketTouches(clock=clock, limit=2)
    assert touches.due("a") and not touches.due("a")
    clock.advance(61)
    assert touches.due("a")
    assert touches.due("b") and touches.due("c")  # past the limit it starts over
    assert touches.due("a")


@pytest.mark.django_db(transaction=True)
async def test_a_socket_connect_notes_last_use(client_for, alice, direct, settings, monkeypatch):
    monkeypatch.setattr("useraccount.sessions.socket_touches", SocketTouches())
    monkeypatch.setattr("chat.sockets.base.socket_touches", SocketTouches())
    tokens = await database_sync_to_async(sign_in)(client_for, alice, FIREFOX)
    long_ago = timezone.now() - timedelta(hours=1)
    await database_sync_to_async(LoginSession.objects.filter(user=alice).update)(last_used_at=long_ago)
    async with room(direct, token=tokens["access"]) as ws:
        assert (await receive(ws, skip=set()))["type"] == "presence.state"
    session = await database_sync_to_async(LoginSession.objects.get)(user=alice)
    assert session.last_used_at > long_ago


@pytest.mark.django_db(transaction=True)
async def test_revoking_a_session_closes_its_sockets_with_4401_and_not_the_others(client_for, alice, direct):
    laptop = await database_sync_to_async(sign_in)(client_for, alice, FIREFOX)
    phone = await database_sync_to_async(sign_in)(client_for, alice, IPHONE)
    listed = (await database_sync_to_async(sessions_of)(client_for, phone["access"])).json()
    laptop_id = next(item["id"] for item in listed if item["device"] == "Firefox on Linux")
    async with room(direct, token=laptop["access"]) as laptop_ws, room(direct, token=phone["access"]) as phone_ws:
        phone_client = client_for(None)
        phone_client.credentials(HTTP_AUTHORIZATION=f"Bearer {phone['access']}")
        answer = await database_sync_to_async(phone_client.delete)(f"/api/auth/sessions/{laptop_id}/")
        assert answer.status_code == 204
        assert await close_code(laptop_ws) == 4401
        await phone_ws.send_json_to({"type": "ping"})
        assert (await receive(phone_ws))["type"] == "pong"
    # Its tokens stop at once: REST, refresh and new sockets.
    laptop_client = client_for(None)
    laptop_client.credentials(HTTP_AUTHORIZATION=f"Bearer {laptop['access']}")
    assert (await database_sync_to_async(laptop_client.get)("/api/chat/")).status_code == 401
    refresh = await database_sync_to_async(client_for(None).post)(
        "/api/auth/token/refresh/", {"refresh": laptop["refresh"]}, format="json"
    )
    assert refresh.status_code == 401
    async with room(direct, token=laptop["access"]) as ws:
        assert await close_code(ws) == 4401
    remaining = (await database_sync_to_async(sessions_of)(client_for, phone["access"])).json()
    assert [item["device"] for item in remaining] == ["Safari on iOS"]


def test_another_users_session_or_a_bad_id_is_404(client_for, alice, bob):
    alice_tokens = sign_in(client_for, alice, FIREFOX)
    bob_tokens = sign_in(client_for, bob, FIREFOX)
    bob_session = sessions_of(client_for, bob_tokens["access"]).json()[0]["id"]
    client = client_for(None)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {alice_tokens['access']}")
    assert client.delete(f"/api/auth/sessions/{bob_session}/").status_code == 404
    assert client.delete("/api/auth/sessions/not-an-id/").status_code == 404
    assert len(sessions_of(client_for, bob_tokens["access"]).json()) == 1


def test_logout_and_a_new_password_take_sessions_off_the_list(client_for, alice):
    first = sign_in(client_for, alice, FIREFOX)
    second = sign_in(client_for, alice, IPHONE)
    client_for(None).post("/api/auth/logout/", {"refresh": first["refresh"]}, format="json")
    assert [item["device"] for item in sessions_of(client_for, second["access"]).json()] == ["Safari on iOS"]
    client = client_for(None)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {second['access']}")
    changed = client.post(
        "/api/auth/password/", {"current_password": PASSWORD, "new_password": "a-new-passphrase-2"},
        format="json", HTTP_USER_AGENT=FIREFOX,
    )
    assert changed.status_code == 200
    listed = sessions_of(client_for, changed.json()["access"]).json()
    assert [(item["device"], item["current"]) for item in listed] == [("Firefox on Linux", True)]


def test_signing_in_past_the_limit_ends_the_least_recently_used(client_for, alice, settings):
    settings.AUTH_SESSIONS_PER_USER = 2
    oldest = sign_in(client_for, alice, "App/0")
    sign_in(client_for, alice, "App/1")
    latest = sign_in(client_for, alice, "App/2")
    assert sorted(item["device"] for item in sessions_of(client_for, latest["access"]).json()) == ["App/1", "App/2"]
    assert sessions_of(client_for, oldest["access"]).status_code == 401


@pytest.mark.parametrize(
    ("user_agent", "label"),
    [
        (FIREFOX, "Firefox on Linux"),
        (IPHONE, "Safari on iOS"),
        ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36 "
         "Edg/126.0", "Edge on Windows"),
        ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 "
         "Safari/537.36", "Chrome on macOS"),
        ("okhttp/4.12.0", "okhttp/4.12.0"),
        ("", ""),
    ],
)
def test_device_labels(user_agent, label):
    assert device_label(user_agent) == label


@pytest.mark.live
@pytest.mark.django_db(transaction=True)
async def test_the_address_is_the_client_seen_through_trusted_proxies(start_server):
    server = start_server(TRUSTED_PROXIES="127.0.0.1")
    login = await asyncio.to_thread(
        http_request, f"{server.http}/api/auth/register/",
        data={"email": "dana@example.com", "password1": "a-long-passphrase", "password2": "a-long-passphrase"},
        headers={"User-Agent": FIREFOX, "X-Forwarded-For": "192.0.2.1, 203.0.113.50"},
    )
    assert login.status == 201, login.body
    listed = await asyncio.to_thread(
        http_request, f"{server.http}/api/auth/sessions/",
        headers={"Authorization": f"Bearer {login.json()['access']}"},
    )
    [session] = listed.json()
    assert session["address"] == "203.0.113.50" and session["device"] == "Firefox on Linux" and session["current"]
