"""Account endpoints under /api/auth/, and authentication of every other endpoint."""

import re
import io
from datetime import datetime, timedelta, timezone

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from chat.models import Conversation, ConversationMessage
from tests.factories import DirectConversationFactory
from tests.plugins.conversations import UNKNOWN_ID
from tests.factories import PASSWORD
from tests.plugins.users import error_fields
from useraccount.models import User

pytestmark = pytest.mark.django_db

STRONG_PASSWORD = "violet-tugboat-sings-42"



def register(client, **fields):
    """POST a valid registration for dave@example.com; a field given as None is left out."""
    data = {"email": "dave@example.com", "password1": STRONG_PASSWORD, "password2": STRONG_PASSWORD}
    data.update(fields)
    data = {key: value for key, value in data.items() if value is not None}
    return client.post("/api/auth/register/", data, format="json")


def login(client, email, password=PASSWORD):
    return client.post("/api/auth/login/", {"email": email, "password": password}, format="json")


def refresh(client, token):
    return client.post("/api/auth/token/refresh/", {"refresh": token}, format="json")


def bearer(client, token):
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def private_shape(user: User) -> dict:
    return {
        "pk": str(user.id), "id": str(user.id), "email": user.email, "name": user.name, "avatar_url": "",
        "read_receipts": True, "status": None,
    }


def tiny_png(name="avatar.png") -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (2, 2), "red").save(buffer, format="PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


# --- Register -------------------------------------------------------------------------


def test_register_returns_201_with_tokens_and_user(client_for):
    response = register(client_for(), name="Dave")
    assert response.status_code == 201
    data = response.json()
    assert set(data) == {"access", "refresh", "user"}
    user = User.objects.get(email="dave@example.com")
    assert data["user"] == private_shape(user)
    assert user.name == "Dave"
    assert user.check_password(STRONG_PASSWORD)


def test_register_lowercases_and_strips_email(client_for):
    response = register(client_for(), email="  Dave@Example.COM ")
    assert response.status_code == 201
    assert response.json()["user"]["email"] == "dave@example.com"
    assert User.objects.filter(email="dave@example.com").count() == 1


def test_register_without_name_shows_a_label_from_the_id_not_the_email(client_for):
    response = register(client_for(), email="erin@example.com")
    assert response.status_code == 201
    user = User.objects.get(email="erin@example.com")
    assert response.json()["user"]["name"] == f"User {user.id.hex[:8]}"
    assert user.name == ""


def test_register_access_token_works_on_me(client_for):
    tokens = register(client_for(), name="Dave").json()
    response = bearer(client_for(), tokens["access"]).get("/api/auth/me/")
    assert response.status_code == 200
    assert response.json() == tokens["user"]


def test_register_refresh_token_can_be_refreshed(client_for):
    tokens = register(client_for()).json()
    assert refresh(client_for(), tokens["refresh"]).status_code == 200


@pytest.mark.parametrize("email", ["alice@example.com", "ALICE@Example.com"])
def test_register_taken_email_is_400_on_email(client_for, make_user, email):
    make_user("Alice", email="alice@example.com")
    response = register(client_for(), email=email)
    assert response.status_code == 400
    assert error_fields(response) == {"email"}
    assert len(response.json()["email"]) == 1
    assert User.objects.filter(email__iexact="alice@example.com").count() == 1


def test_register_mismatched_passwords_is_400_non_field_errors(client_for):
    response = register(client_for(), password2=STRONG_PASSWORD + "x")
    assert response.status_code == 400
    assert error_fields(response) == {"non_field_errors"}
    assert not User.objects.filter(email="dave@example.com").exists()


@pytest.mark.parametrize("weak", ["short", "12345678901", "password123", "dave@example.com"])
def test_register_weak_password_is_400_on_password1(client_for, weak):
    response = register(client_for(), password1=weak, password2=weak)
    assert response.status_code == 400
    assert error_fields(response) == {"password1"}
    assert response.json()["password1"]
    assert not User.objects.filter(email="dave@example.com").exists()


@pytest.mark.parametrize("missing", ["email", "password1", "password2"])
def test_register_missing_field_is_400_on_that_field(client_for, missing):
    response = register(client_for(), **{missing: None})
    assert response.status_code == 400
    assert error_fields(response) == {missing}
    assert not User.objects.exists()


def test_register_invalid_email_is_400_on_email(client_for):
    response = register(client_for(), email="not-an-email")
    assert response.status_code == 400
    assert error_fields(response) == {"email"}


def test_register_empty_body_is_400_on_every_required_field(client_for):
    response = client_for().post("/api/auth/register/", {}, format="json")
    assert response.status_code == 400
    assert error_fields(response) == {"email", "password1", "password2"}


# --- Login ----------------------------------------------------------------------------


def test_login_returns_200_with_tokens_and_user(client_for, alice):
    response = login(client_for(), alice.email)
    assert response.status_code == 200
    data = response.json()
    assert set(data) == {"access", "refresh", "user"}
    assert data["user"] == private_shape(alice)
    assert bearer(client_for(), data["access"]).get("/api/auth/me/").json() == data["user"]


def test_login_email_is_case_insensitive(client_for, alice):
    response = login(client_for(), f"  {alice.email.upper()} ")
    assert response.status_code == 200
    assert response.json()["user"]["id"] == str(alice.id)


@pytest.mark.parametrize(
    "email, password",
    [(None, "wrong password"), (None, PASSWORD.upper()), ("nobody@example.com", PASSWORD)],
    ids=["wrong-password", "password-case", "unknown-email"],
)
def test_login_bad_credentials_is_400_non_field_errors(client_for, alice, email, password):
    response = login(client_for(), email or alice.email, password)
    assert response.status_code == 400
    assert error_fields(response) == {"non_field_errors"}
    assert response.json()["non_field_errors"]


def test_login_missing_fields_is_400(client_for):
    response = client_for().post("/api/auth/login/", {}, format="json")
    assert response.status_code == 400
    assert error_fields(response) == {"email", "password"}


def test_login_inactive_user_is_refused(client_for, alice):
    alice.is_active = False
    alice.save()
    response = login(client_for(), alice.email)
    assert response.status_code == 400
    assert error_fields(response) == {"non_field_errors"}


# --- Token refresh ----------------------------------------------------------------------


def test_refresh_returns_access_and_future_expiration(client_for, alice):
    tokens = login(client_for(), alice.email).json()
    response = refresh(client_for(), tokens["refresh"])
    assert response.status_code == 200
    data = response.json()
    assert set(data) == {"access", "access_expiration"}
    assert data["access_expiration"].endswith("Z")
    expires = datetime.fromisoformat(data["access_expiration"])
    assert expires.tzinfo is not None
    assert datetime.now(timezone.utc) < expires <= datetime.now(timezone.utc) + timedelta(hours=1)
    assert expires == datetime.fromtimestamp(AccessToken(data["access"])["exp"], tz=timezone.utc)
    assert bearer(client_for(), data["access"]).get("/api/auth/me/").json()["id"] == str(alice.id)


@pytest.mark.parametrize("garbage", ["garbage", "a.b.c"])
def test_refresh_with_garbage_is_401(client_for, garbage):
    response = refresh(client_for(), garbage)
    assert response.status_code == 401
    assert response.json()["code"] == "token_not_valid"
    assert "access" not in response.json()


@pytest.mark.parametrize("body", [{}, {"refresh": ""}])
def test_refresh_without_token_is_400(client_for, body):
    response = client_for().post("/api/auth/token/refresh/", body, format="json")
    assert response.status_code == 400
    assert error_fields(response) == {"refresh"}


def test_refresh_with_access_token_is_401(client_for, alice):
    tokens = login(client_for(), alice.email).json()
    response = refresh(client_for(), tokens["access"])
    assert response.status_code == 401
    assert "access" not in response.json()


def test_refresh_of_inactive_user_is_401(client_for, alice):
    tokens = login(client_for(), alice.email).json()
    alice.is_active = False
    alice.save()
    assert refresh(client_for(), tokens["refresh"]).status_code == 401


def test_refresh_of_deleted_user_is_401(client_for, make_user):
    dave = make_user("Dave")
    token = str(RefreshToken.for_user(dave))
    dave.delete()
    assert refresh(client_for(), token).status_code == 401


# --- Logout ---------------------------------------------------------------------------


def test_logout_blacklists_refresh_token(client_for, alice):
    tokens = login(client_for(), alice.email).json()
    response = client_for().post("/api/auth/logout/", {"refresh": tokens["refresh"]}, format="json")
    assert response.status_code == 200
    jti = RefreshToken(tokens["refresh"], verify=False)["jti"]
    assert BlacklistedToken.objects.filter(token__jti=jti).exists()
    assert refresh(client_for(), tokens["refresh"]).status_code == 401


def test_logout_leaves_other_sessions_alone(client_for, alice):
    first = login(client_for(), alice.email).json()
    second = login(client_for(), alice.email).json()
    logout = client_for().post("/api/auth/logout/", {"refresh": first["refresh"]}, format="json")
    assert logout.status_code == 200
    assert refresh(client_for(), first["refresh"]).status_code == 401, "the first session ended"
    assert refresh(client_for(), second["refresh"]).status_code == 200


@pytest.mark.parametrize("body", [{"refresh": "garbage"}, {}])
def test_logout_with_garbage_is_400(client_for, body):
    response = client_for().post("/api/auth/logout/", body, format="json")
    assert response.status_code == 400
    assert error_fields(response) == {"refresh"}


def test_logout_twice_is_400(client_for, alice):
    tokens = login(client_for(), alice.email).json()
    client_for().post("/api/auth/logout/", {"refresh": tokens["refresh"]}, format="json")
    response = client_for().post("/api/auth/logout/", {"refresh": tokens["refresh"]}, format="json")
    assert response.status_code == 400


# --- Me -------------------------------------------------------------------------------


def test_me_returns_the_caller(client_for, alice, bob):
    response = client_for(alice).get("/api/auth/me/")
    assert response.status_code == 200
    assert response.json() == private_shape(alice)


def test_patch_me_updates_name(client_for, alice):
    response = client_for(alice).patch("/api/auth/me/", {"name": "  Alice Liddell "}, format="json")
    assert response.status_code == 200
    assert response.json() == {**private_shape(alice), "name": "Alice Liddell"}
    alice.refresh_from_db()
    assert alice.name == "Alice Liddell"
    assert client_for(alice).get("/api/auth/me/").json()["name"] == "Alice Liddell"


def test_patch_me_with_nothing_in_it_is_400(client_for, alice):
    assert client_for(alice).patch("/api/auth/me/", {}, format="json").status_code == 400
    # A multipart body whose one part has no headers: Django reads no field from it (found by schemathesis).
    boundary = "7affa4af4c43e76efb9386e30d6dad81"
    response = client_for(alice).patch(
        "/api/auth/me/", f"--{boundary}\r\n-28976827--{boundary}--\r\n".encode(),
        content_type=f"multipart/form-data; boundary={boundary}",
    )
    assert response.status_code == 400
    assert response.json()["fields"] == {"non_field_errors": ["Give name, avatar or read_receipts."]}


def test_patch_me_ignores_email_change(client_for, alice):
    email = alice.email
    response = client_for(alice).patch("/api/auth/me/", {"email": "evil@example.com"}, format="json")
    assert response.status_code == 200
    alice.refresh_from_db()
    assert alice.email == email


def test_patch_me_with_avatar_upload_sets_avatar_url(client_for, alice, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    response = client_for(alice).patch("/api/auth/me/", {"avatar": tiny_png()}, format="multipart")
    assert response.status_code == 200
    avatar_url = response.json()["avatar_url"]
    # Absolute on the request's origin, under a random name (not the uploaded one).
    assert re.fullmatch(rf"http://testserver{settings.MEDIA_URL}avatars/[0-9a-f]{{32}}\.png", avatar_url)
    alice.refresh_from_db()
    assert (tmp_path / alice.avatar.name).is_file()
    assert response.json() == {**private_shape(alice), "avatar_url": avatar_url}
    assert client_for(alice).get("/api/auth/me/").json()["avatar_url"] == avatar_url
    assert client_for(alice).get(f"/api/auth/{alice.id}/").json()["avatar_url"] == avatar_url


def test_patch_me_with_non_image_avatar_is_400(client_for, alice, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    not_an_image = SimpleUploadedFile("avatar.png", b"hello", content_type="image/png")
    response = client_for(alice).patch("/api/auth/me/", {"avatar": not_an_image}, format="multipart")
    assert response.status_code == 400
    assert error_fields(response) == {"avatar"}
    alice.refresh_from_db()
    assert not alice.avatar


# --- Public user detail ---------------------------------------------------------------------


def test_user_detail_shows_public_fields_only(client_for, alice, bob):
    response = client_for(alice).get(f"/api/auth/{bob.id}/")
    assert response.status_code == 200
    assert response.json() == {"id": str(bob.id), "name": "Bob", "avatar_url": ""}


def test_user_detail_shows_presence_to_contacts_only(client_for, alice, bob, carol):
    DirectConversationFactory(user=alice, other=bob)
    assert client_for(alice).get(f"/api/auth/{bob.id}/").json()["online"] is False
    assert "online" not in client_for(carol).get(f"/api/auth/{bob.id}/").json()


@pytest.mark.parametrize("user_id", [UNKNOWN_ID, "not-a-uuid", "inactive"])
def test_user_detail_of_unknown_user_is_404_json(client_for, alice, make_user, user_id):
    if user_id == "inactive":
        user_id = make_user("Gone", is_active=False).id
    response = client_for(alice).get(f"/api/auth/{user_id}/")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"code": "not_found", "detail": "No such user."}


# --- Authentication of every other endpoint -------------------------------------------------

PROTECTED = [
    ("get", "/api/auth/me/"),
    ("patch", "/api/auth/me/"),
    ("post", "/api/auth/me/delete/"),
    ("post", "/api/auth/password/"),
    ("get", "/api/auth/{bob}/"),
    ("get", "/api/chat/"),
    ("post", "/api/chat/"),
    ("get", "/api/chat/start/{bob}/"),
    ("post", "/api/chat/start/{bob}/"),
    ("get", "/api/chat/{direct}/"),
    ("get", "/api/chat/{direct}/messages/"),
    ("post", "/api/chat/{direct}/messages/"),
]


def call(client, method, template, *, bob, direct):
    path = template.format(bob=bob.id, direct=direct.id)
    body = {"body": "hi", "user_ids": [str(bob.id)], "name": "Mallory"}
    if method == "get":
        return client.get(path)
    return getattr(client, method)(path, body, format="json")


def assert_401_and_nothing_changed(response, alice):
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert set(response.json()) >= {"detail"}
    assert Conversation.objects.count() == 1
    assert not ConversationMessage.objects.exists()
    alice.refresh_from_db()
    assert alice.name == "Alice"


@pytest.mark.parametrize("method, template", PROTECTED)
def test_endpoint_without_authorization_is_401(client_for, alice, bob, direct, method, template):
    response = call(client_for(), method, template, bob=bob, direct=direct)
    assert_401_and_nothing_changed(response, alice)


@pytest.mark.parametrize("method, template", PROTECTED)
def test_endpoint_with_garbage_bearer_is_401(client_for, alice, bob, direct, method, template):
    response = call(bearer(client_for(), "garbage"), method, template, bob=bob, direct=direct)
    assert_401_and_nothing_changed(response, alice)


@pytest.mark.parametrize("method, template", PROTECTED)
def test_endpoint_with_refresh_token_as_bearer_is_401(client_for, alice, bob, direct, method, template):
    client = bearer(client_for(), str(RefreshToken.for_user(alice)))
    response = call(client, method, template, bob=bob, direct=direct)
    assert_401_and_nothing_changed(response, alice)


def test_expired_access_token_is_401(client_for, alice):
    token = AccessToken.for_user(alice)
    token.set_exp(lifetime=-timedelta(seconds=1))
    assert bearer(client_for(), str(token)).get("/api/auth/me/").status_code == 401


def test_access_token_of_deactivated_user_is_401(client_for, alice):
    client = client_for(alice)
    alice.is_active = False
    alice.save()
    assert client.get("/api/auth/me/").status_code == 401


def test_a_refresh_token_of_a_deactivated_user_is_401_no_active_account_as_documented(client_for, alice, bob):
    from tests import ROOT
    from useraccount.services import user_delete
    from useraccount.tokens import token_pair_for_user

    refresh, deleted_refresh = token_pair_for_user(alice)["refresh"], token_pair_for_user(bob)["refresh"]
    User.objects.filter(id=alice.id).update(is_active=False)
    user_delete(user=bob)
    answer = client_for().post("/api/auth/token/refresh/", {"refresh": refresh}, format="json")
    assert (answer.status_code, answer.json()["code"]) == (401, "no_active_account")
    answer = client_for().post("/api/auth/token/refresh/", {"refresh": deleted_refresh}, format="json")
    assert (answer.status_code, answer.json()["code"]) == (401, "password_changed")
    assert "`no_active_account`" in (ROOT / "docs" / "errors.md").read_text()


# A token signed with the server's key whose user id claim is not a UUID (another service
# sharing the key, a key rotation): an invalid token, never a server error.
NOT_UUIDS = ["not-a-uuid", ["a", "list"], {"an": "object"}, 5, None]


@pytest.mark.parametrize("claim", NOT_UUIDS)
def test_a_signed_token_whose_user_id_is_not_a_uuid_is_401(client_for, claim):
    token = AccessToken()
    token["user_id"] = claim
    response = client_for().get("/api/chat/", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 401
    assert response.json()["code"] == "token_not_valid"
