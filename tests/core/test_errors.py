"""
One error shape for every REST failure: {"code", "detail"} plus "fields" for
validation errors, whatever raised it (our services, DRF, simplejwt, Django),
for every status the API answers with; register and login keep the original
tutorial client's top-level field keys.
"""

from datetime import timedelta

import pytest
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from tests.factories import PASSWORD
from tests.plugins.conversations import UNKNOWN_ID
from useraccount import services
from useraccount.tokens import token_pair_for_user

pytestmark = pytest.mark.django_db


def assert_error(response, status: int, code: str, *, fields: set | None = None):
    body = response.json()
    assert response.status_code == status, body
    assert response["Content-Type"] == "application/json"
    assert body["code"] == code and isinstance(body["detail"], str) and body["detail"]
    expected_keys = {"code", "detail"} | ({"fields"} if fields else set()) | ({"retry_after"} if status == 429 else set())
    assert set(body) == expected_keys, body
    if fields:
        assert set(body["fields"]) == fields
        assert all(isinstance(m, str) for messages in body["fields"].values() for m in messages)
    return body


def test_validation_error_names_each_field(client_for, alice):
    response = client_for(alice).post("/api/chat/", {"user_ids": ["x"], "title": 5 * "x" * 100}, format="json")
    body = assert_error(response, 400, "invalid", fields={"user_ids.0", "title"})
    assert body["detail"] in sum(body["fields"].values(), [])


def test_a_service_error_about_one_field(client_for, alice, direct):
    response = client_for(alice).post(f"/api/chat/{direct.id}/messages/", {"body": " "}, format="json")
    assert_error(response, 400, "empty_body", fields={"body"})


def test_malformed_json_is_a_parse_error(client_for, alice):
    response = client_for(alice).post("/api/chat/", "{not json", content_type="application/json")
    assert_error(response, 400, "parse_error")


def test_missing_token(client_for):
    response = client_for(None).get("/api/chat/")
    assert_error(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("kind", ["malformed", "expired", "refresh", "logged out"])
def test_bad_tokens_are_401_token_not_valid(alice, kind):
    tokens = token_pair_for_user(alice)
    if kind == "malformed":
        token = "not.a.token"
    elif kind == "expired":
        expired = AccessToken.for_user(alice)
        expired.set_exp(lifetime=timedelta(seconds=-1))
        token = str(expired)
    elif kind == "refresh":
        token = tokens["refresh"]
    else:
        services.session_logout(refresh=tokens["refresh"])
        token = tokens["access"]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    body = assert_error(client.get("/api/chat/"), 401, "token_not_valid")
    if kind == "expired":
        assert "expired" in body["detail"].lower()
    if kind == "logged out":
        assert "logged out" in body["detail"]


def test_forbidden(client_for, alice, bob, direct):
    from tests.plugins.conversations import send

    message = send(direct, bob, "mine")
    response = client_for(alice).patch(f"/api/chat/{direct.id}/messages/{message.id}/", {"body": "x"}, format="json")
    assert_error(response, 403, "forbidden")


def test_not_found_for_a_view_and_for_an_unknown_api_path(client_for, alice):
    assert_error(client_for(alice).get(f"/api/chat/{UNKNOWN_ID}/"), 404, "not_found")
    assert_error(client_for(alice).get("/api/no-such-thing/"), 404, "not_found")


def test_method_not_allowed(client_for, alice):
    assert_error(client_for(alice).put("/api/chat/", {}, format="json"), 405, "method_not_allowed")


def test_unsupported_media_type(client_for, alice, direct):
    response = client_for(alice).post(f"/api/chat/{direct.id}/messages/", "hi", content_type="text/plain")
    assert_error(response, 415, "unsupported_media_type")


def test_too_large(client_for, alice, direct, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    response = client_for(alice).post(f"/api/chat/{direct.id}/messages/", {"body": "x" * 200}, format="json")
    assert_error(response, 413, "too_large")


def test_throttled(client_for, alice, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {
        **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "user": "1/min"}}
    client = client_for(alice)
    client.get("/api/chat/unread/")
    body = assert_error(client.get("/api/chat/unread/"), 429, "throttled")
    assert body["retry_after"] >= 1


def test_a_server_error_says_nothing_internal(client_for, alice, monkeypatch, caplog):
    from chat.conversations import api

    def broken(**kwargs):
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(api, "unread_counts", broken)
    client = client_for(alice)
    client.raise_request_exception = False  # it is announced to error trackers, which the test client re-raises
    response = client.get("/api/chat/unread/")
    body = assert_error(response, 500, "server_error")
    assert "secret" not in response.content.decode()
    assert "secret internal detail" in caplog.text  # logged for the operator, with its traceback
    assert caplog.text.count("Internal Server Error: /api/chat/unread/") == 1, "one line per error"
    assert body["detail"]


def test_register_keeps_the_original_clients_top_level_keys(client_for, alice):
    response = client_for().post(
        "/api/auth/register/",
        {"email": alice.email, "password1": PASSWORD, "password2": PASSWORD},
        format="json",
    )
    body = response.json()
    assert response.status_code == 400
    assert body["code"] == "invalid" and body["email"] == [body["detail"]]
    # No object among the values: the original sign-up form shows each as text.
    assert all(isinstance(v, (str, list)) for v in body.values()) and "fields" not in body


TUTORIAL_ORIGIN = "http://localhost:3000"


def shown_by_the_original_sign_up(body: dict) -> list[str]:
    """What the tutorial's sign-up form shows: each top-level value (a list of messages as one line)."""
    return ["".join(value) if isinstance(value, list) else str(value) for value in body.values()]


def test_the_original_clients_sign_up_shows_only_the_messages(client_for, alice, settings):
    settings.ORIGINAL_CLIENT_ORIGINS = [TUTORIAL_ORIGIN]
    client = client_for()
    taken = client.post(
        "/api/auth/register/", {"email": alice.email, "password1": PASSWORD, "password2": PASSWORD},
        format="json", HTTP_ORIGIN=TUTORIAL_ORIGIN,
    )
    assert taken.status_code == 400
    assert taken.json() == {"email": ["A user with this email address already exists."]}
    assert "Origin" in taken["Vary"]
    mismatched = client.post(
        "/api/auth/register/", {"email": "new@example.com", "password1": PASSWORD, "password2": PASSWORD + "x"},
        format="json", HTTP_ORIGIN=TUTORIAL_ORIGIN,
    )
    assert shown_by_the_original_sign_up(mismatched.json()) == mismatched.json()["non_field_errors"]
    assert "invalid" not in shown_by_the_original_sign_up(mismatched.json())
    # Its login shows non_field_errors: there, also for an error of no field.
    login = client.post("/api/auth/login/", {"email": alice.email, "password": "wrong"}, format="json",
                        HTTP_ORIGIN=TUTORIAL_ORIGIN)
    assert set(login.json()) == {"non_field_errors"}
    unsupported = client.post("/api/auth/login/", "x", content_type="text/plain", HTTP_ORIGIN=TUTORIAL_ORIGIN)
    assert unsupported.status_code == 415
    assert set(unsupported.json()) == {"non_field_errors"} and unsupported.json()["non_field_errors"][0]


@pytest.mark.parametrize("origin", [None, "http://localhost:3001", "https://app.example.com"])
def test_other_clients_keep_the_one_error_shape_on_sign_up(client_for, alice, settings, origin):
    settings.ORIGINAL_CLIENT_ORIGINS = [TUTORIAL_ORIGIN]
    headers = {"HTTP_ORIGIN": origin} if origin else {}
    response = client_for().post(
        "/api/auth/register/", {"email": alice.email, "password1": PASSWORD, "password2": PASSWORD},
        format="json", **headers,
    )
    body = response.json()
    assert body["code"] == "invalid" and body["email"] == [body["detail"]]


def test_login_keeps_non_field_errors(client_for, alice):
    response = client_for().post("/api/auth/login/", {"email": alice.email, "password": "wrong"}, format="json")
    body = response.json()
    assert response.status_code == 400
    assert body["code"] == "invalid" and body["non_field_errors"] == [body["detail"]]



def test_a_browser_gets_json_not_a_browsable_page(client, admin_user):
    client.force_login(admin_user)  # an admin session is not an API credential
    response = client.get("/api/chat/", HTTP_ACCEPT="text/html,application/xhtml+xml,*/*;q=0.8")
    assert_error(response, 401, "not_authenticated")
