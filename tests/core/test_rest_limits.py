"""
REST rate limits (core.throttling) and request size limits (core.rest).

Each limit trips at its rate, answers 429 with Retry-After and
{"code": "throttled", "detail", "retry_after"}, and leaves other users and
addresses alone; a failing cache lets requests through with one warning; a
body or upload over its limit is a JSON 413.
"""

import logging
import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.settings import api_settings
from rest_framework_simplejwt.tokens import RefreshToken

from chat.models import ConversationMessage
from core.throttling import FailOpenCache, FailOpenRateThrottle
from tests.factories import PASSWORD
from tests.plugins.clocks import FakeClock
from tests.plugins.conversations import post_message
from tests.useraccount.test_accounts import STRONG_PASSWORD, tiny_png
from useraccount.models import User

pytestmark = pytest.mark.django_db

HOME, OFFICE = "10.0.0.1", "10.0.0.2"
NOTHING_LISTENS = "redis://127.0.0.1:6399/0"
LOGGER = "core.throttling"


@pytest.fixture
def throttle_clock() -> FakeClock:
    """The clock of the fail-open cache's retry interval (the counts use real time)."""
    return FakeClock()


@pytest.fixture(autouse=True)
def throttle_cache(monkeypatch, throttle_clock) -> FailOpenCache:
    """A fresh fail-open cache per test: an outage in one test must not turn limits off in the next."""
    cache = FailOpenCache(clock=throttle_clock)
    monkeypatch.setattr(FailOpenRateThrottle, "cache", cache)
    return cache


@pytest.fixture
def cache_at(settings):
    """Point the default cache at a Redis URL, with the production socket timeouts."""

    def point(url: str) -> None:
        settings.CACHES = {
            "default": {
                "BACKEND": "django.core.cache.backends.redis.RedisCache",
                "LOCATION": url,
                "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
            }
        }

    return point


def login(client, email, password=PASSWORD, *, ip=HOME, **headers):
    data = {"email": email, "password": password}
    return client.post("/api/auth/login/", data, format="json", REMOTE_ADDR=ip, **headers)


def register(client, email, *, ip=HOME):
    data = {"email": email, "password1": STRONG_PASSWORD, "password2": STRONG_PASSWORD}
    return client.post("/api/auth/register/", data, format="json", REMOTE_ADDR=ip)


def refresh(client, token, *, ip=HOME):
    return client.post("/api/auth/token/refresh/", {"refresh": token}, format="json", REMOTE_ADDR=ip)


def assert_throttled(response, *, window: int = 60) -> None:
    assert response.status_code == 429
    retry_after = int(response["Retry-After"])
    assert 1 <= retry_after <= window
    assert response.json() == {
        "code": "throttled",
        "detail": f"Too many requests; try again in {retry_after} seconds.",
        "retry_after": retry_after,
    }


def throttle_records(caplog) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.name == LOGGER]


# --- Each limit -----------------------------------------------------------------------


def test_login_is_limited_per_client_address(rest_settings, client_for, alice, bob):
    rest_settings(rates={"login_ip": "2/min", "login_email": "off"})
    client = client_for()
    assert login(client, alice.email).status_code == 200
    assert login(client, bob.email, "wrong").status_code == 400
    assert_throttled(login(client, alice.email))
    assert login(client, alice.email, ip=OFFICE).status_code == 200


def test_login_is_limited_per_email_from_any_address(rest_settings, client_for, alice, bob):
    rest_settings(rates={"login_ip": "off", "login_email": "2/min"})
    client = client_for()
    assert login(client, alice.email, "wrong", ip="10.0.1.1").status_code == 400
    # Counted as login looks the user up: trimmed and lowercased.
    assert login(client, f"  {alice.email.upper()} ", ip="10.0.1.2").status_code == 200
    assert_throttled(login(client, alice.email, ip="10.0.1.3"))
    assert login(client, bob.email, ip="10.0.1.3").status_code == 200


def test_register_is_limited_per_client_address(rest_settings, client_for):
    rest_settings(rates={"register": "2/min"})
    client = client_for()
    assert register(client, "erin@example.com").status_code == 201
    assert register(client, "frank@example.com").status_code == 201
    assert_throttled(register(client, "grace@example.com"))
    assert not User.objects.filter(email="grace@example.com").exists()
    assert register(client, "grace@example.com", ip=OFFICE).status_code == 201


def test_token_refresh_is_limited_per_client_address(rest_settings, client_for, alice):
    rest_settings(rates={"token_refresh": "2/min"})
    client, token = client_for(), str(RefreshToken.for_user(alice))
    assert refresh(client, token).status_code == 200
    assert refresh(client, "not-a-token").status_code == 401
    assert_throttled(refresh(client, token))
    assert refresh(client, token, ip=OFFICE).status_code == 200


def test_message_sends_are_limited_per_user_and_a_refused_send_stores_nothing(
    rest_settings, client_for, alice, bob, direct
):
    rest_settings(rates={"message_send": "2/min"})
    as_alice = client_for(alice)
    assert post_message(as_alice, direct, "one").status_code == 201
    assert post_message(as_alice, direct, "two").status_code == 201
    assert_throttled(post_message(as_alice, direct, "three"))
    assert list(ConversationMessage.objects.order_by("seq").values_list("body", flat=True)) == ["one", "two"]
    assert post_message(client_for(bob), direct, "from Bob").status_code == 201
    # Reading is not sending.
    assert as_alice.get(f"/api/chat/{direct.id}/messages/").status_code == 200


def test_user_lookups_are_limited_per_user(rest_settings, client_for, alice, bob, carol):
    rest_settings(rates={"user_lookup": "2/min"})
    as_alice = client_for(alice)
    assert as_alice.get(f"/api/auth/{bob.id}/").status_code == 200
    assert as_alice.get(f"/api/auth/{carol.id}/").status_code == 200
    assert_throttled(as_alice.get(f"/api/auth/{bob.id}/"))
    assert client_for(carol).get(f"/api/auth/{bob.id}/").status_code == 200
    assert as_alice.get("/api/auth/me/").status_code == 200


def test_other_endpoints_share_the_per_user_limit(rest_settings, client_for, alice, bob):
    rest_settings(rates={"user": "2/min"})
    as_alice = client_for(alice)
    assert as_alice.get("/api/chat/").status_code == 200
    assert as_alice.get("/api/chat/unread/").status_code == 200
    assert_throttled(as_alice.get("/api/auth/me/"))
    assert client_for(bob).get("/api/chat/").status_code == 200


@pytest.mark.parametrize("off", [None, "", "0", "off", "OFF"])
def test_a_limit_set_off_never_trips(rest_settings, client_for, alice, direct, off):
    rest_settings(rates={"message_send": off, "user": off})
    as_alice = client_for(alice)
    assert [post_message(as_alice, direct, f"m{n}").status_code for n in range(5)] == [201] * 5


def test_a_rate_per_seconds_counts_over_that_window(rest_settings, client_for, alice, direct, monkeypatch):
    clock = FakeClock()
    monkeypatch.setattr(FailOpenRateThrottle, "timer", staticmethod(clock))
    rest_settings(rates={"message_send": "3/10s"})
    as_alice = client_for(alice)
    assert [post_message(as_alice, direct, f"m{n}").status_code for n in range(3)] == [201] * 3
    refused = post_message(as_alice, direct, "m3")
    assert_throttled(refused, window=10)
    assert int(refused["Retry-After"]) == 10
    clock.advance(9)
    still_refused = post_message(as_alice, direct, "m4")
    assert (still_refused.status_code, still_refused["Retry-After"]) == (429, "1")
    clock.advance(1.5)
    assert post_message(as_alice, direct, "m5").status_code == 201


def test_every_scope_has_a_rate_by_default(settings):
    rates = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
    assert set(rates) == {
        "user", "login_ip", "login_email", "register", "token_refresh", "message_send", "user_lookup",
        "user_search", "message_search", "attachment_upload", "report", "password_reset_ip", "password_reset_email",
        "invite_join", "bot", "bot_message_send",
    }
    assert all(rate for rate in rates.values())


# --- The client address ------------------------------------------------------------------


def test_without_trusted_proxies_x_forwarded_for_cannot_pick_the_address(rest_settings, client_for, alice):
    assert api_settings.NUM_PROXIES == 0  # DRF reads no X-Forwarded-For (core.proxies does)
    rest_settings(rates={"login_ip": "1/min", "login_email": "off"})
    client = client_for()
    assert login(client, alice.email, HTTP_X_FORWARDED_FOR="10.1.0.1").status_code == 200
    assert_throttled(login(client, alice.email, HTTP_X_FORWARDED_FOR="10.1.0.2"))


# Behind trusted proxies: tests/core/test_proxies.py.


# --- A failing cache -----------------------------------------------------------------


def test_a_cache_that_is_down_lets_requests_through_and_warns_once(
    rest_settings, cache_at, client_for, alice, caplog, throttle_clock
):
    rest_settings(rates={"login_ip": "1/min", "login_email": "1/min"})
    cache_at(NOTHING_LISTENS)
    caplog.set_level(logging.INFO, logger=LOGGER)
    client = client_for()
    statuses = []
    for _ in range(3):
        statuses.append(login(client, alice.email).status_code)
        throttle_clock.advance(60)  # past the retry interval: each request tries the cache again
    assert statuses == [200, 200, 200]
    [warning] = throttle_records(caplog)
    assert warning.levelno == logging.WARNING
    assert "rate limits are off" in warning.getMessage()
    assert "ConnectionError" in warning.getMessage()
    assert warning.exc_info is None
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]


def test_limits_hold_again_once_the_cache_answers(
    rest_settings, settings, cache_at, client_for, alice, caplog, throttle_cache, throttle_clock
):
    rest_settings(rates={"login_ip": "1/min", "login_email": "off"})
    working = settings.CACHES
    cache_at(NOTHING_LISTENS)
    caplog.set_level(logging.INFO, logger=LOGGER)
    client = client_for()
    assert [login(client, alice.email).status_code for _ in range(2)] == [200, 200]
    assert throttle_cache.is_down

    settings.CACHES = working
    assert login(client, alice.email).status_code == 200  # not asked again yet
    throttle_clock.advance(60)
    assert login(client, alice.email).status_code == 200  # asked, answers, counted
    assert not throttle_cache.is_down
    assert_throttled(login(client, alice.email))
    assert [(r.levelno, r.getMessage()) for r in throttle_records(caplog)][1:] == [
        (logging.INFO, "REST rate limits are back on: the cache answers again"),
    ]


@pytest.fixture
def silent_server(silent_port):
    """A Redis address that accepts connections and never answers, as a hung Redis."""
    return f"redis://127.0.0.1:{silent_port}/0"


def test_a_hanging_cache_costs_one_timeout_per_retry_interval(
    rest_settings, cache_at, client_for, alice, silent_server, caplog
):
    rest_settings(rates={"login_ip": "1/min", "login_email": "1/min"})
    cache_at(silent_server)
    caplog.set_level(logging.WARNING, logger=LOGGER)
    client = client_for()
    started = time.monotonic()
    assert [login(client, alice.email).status_code for _ in range(4)] == [200] * 4
    # One 0.5 s socket timeout, not one per cache call (two throttles, get and set, four requests: 8 s).
    assert time.monotonic() - started < 2
    [warning] = throttle_records(caplog)
    assert "TimeoutError" in warning.getMessage()


def test_fail_open_cache_reads_nothing_and_drops_writes_while_failing(throttle_clock, caplog):
    class Broken:
        def get(self, key, default=None):
            raise ConnectionError("refused")

        def set(self, key, value, timeout=None):
            raise ConnectionError("refused")

    backend = Broken()
    cache = FailOpenCache(backend=lambda: backend, retry_interval=5, clock=throttle_clock)
    caplog.set_level(logging.INFO, logger=LOGGER)
    assert cache.get("k", []) == []
    cache.set("k", [1.0], 60)
    throttle_clock.advance(5)
    assert cache.get("k", []) == []
    assert len(throttle_records(caplog)) == 1

    class Working:
        def get(self, key, default=None):
            return [1.0]

    backend = Working()
    assert cache.get("k", []) == []  # still inside the retry interval: not asked
    throttle_clock.advance(5)
    assert cache.get("k", []) == [1.0]
    assert [r.levelno for r in throttle_records(caplog)] == [logging.WARNING, logging.INFO]


# --- Request size -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/api/chat/", "/api/chat/{id}/messages/", "/api/auth/login/", "/api/auth/register/"]
)
def test_a_json_body_over_the_limit_is_a_json_413_not_an_error(client_for, alice, direct, caplog, path):
    body = '{"body": "' + "x" * (3 * 1024 * 1024) + '"}'  # over the default 2.5 MiB
    response = client_for(alice).post(path.format(id=direct.id), body, content_type="application/json")
    assert response.status_code == 413
    assert response.json() == {"code": "too_large", "detail": "The request body is larger than 2621440 bytes."}
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert ConversationMessage.objects.count() == 0


def test_a_multipart_body_over_the_limit_is_a_json_413(client_for, alice, settings, caplog):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = client_for(alice).patch("/api/auth/me/", {"name": "x" * 2000}, format="multipart")
    assert response.status_code == 413
    assert response.json() == {"code": "too_large", "detail": "The request body is larger than 1000 bytes."}
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]
    alice.refresh_from_db()
    assert alice.name == "Alice"


def test_a_multipart_body_with_too_many_fields_is_a_json_413(client_for, alice, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 10
    fields = {f"field{n}": "x" for n in range(20)}
    response = client_for(alice).patch("/api/auth/me/", fields, format="multipart")
    assert response.status_code == 413
    assert response.json() == {"code": "too_large", "detail": "The request has more than 10 fields."}


def test_an_avatar_over_its_limit_is_a_json_413_and_not_saved(client_for, alice, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.AVATAR_MAX_SIZE = 1024
    big = SimpleUploadedFile("avatar.png", b"\x89PNG" + b"\x00" * 2048, content_type="image/png")
    response = client_for(alice).patch("/api/auth/me/", {"avatar": big}, format="multipart")
    assert response.status_code == 413
    assert response.json() == {"code": "too_large", "detail": "The avatar is larger than 1024 bytes."}
    alice.refresh_from_db()
    assert not alice.avatar
    # An avatar under the limit is still taken.
    response = client_for(alice).patch("/api/auth/me/", {"avatar": tiny_png()}, format="multipart")
    assert response.status_code == 200 and response.json()["avatar_url"]
