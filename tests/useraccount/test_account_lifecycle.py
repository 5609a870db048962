"""
An account's life after registration: changing the password, resetting a
forgotten one by email (over a real SMTP server too), deleting the account,
and last_login.
"""

import logging
import re
import threading
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from channels.db import database_sync_to_async
from django.contrib.auth.tokens import default_token_generator
from django.core import mail as django_mail
from django.core.mail.backends.base import BaseEmailBackend
from django.utils import timezone

from chat.models import Attachment, Conversation, ConversationMessage
from tests.factories import PASSWORD, BlockFactory, PushDeviceFactory
from tests.plugins.conversations import send
from tests.plugins.sockets import close_code, notifications, receive, room
from tests.plugins.users import error_fields
from useraccount import mail
from useraccount.models import Block, User
from useraccount.tokens import authenticate_access_token, token_pair_for_user

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "violet-tugboat-sings-42"


def login(client, email, password=PASSWORD):
    return client.post("/api/auth/login/", {"email": email, "password": password}, format="json")


def change_password(client, current=PASSWORD, new=NEW_PASSWORD):
    return client.post("/api/auth/password/", {"current_password": current, "new_password": new}, format="json")


def ask_reset(client, email):
    response = client.post("/api/auth/password/reset/", {"email": email}, format="json")
    mail.wait_until_sent()
    return response


def confirm_reset(client, uid, token, new=NEW_PASSWORD):
    return client.post(
        "/api/auth/password/reset/confirm/", {"uid": uid, "token": token, "new_password": new}, format="json"
    )


def delete_account(client, password=PASSWORD):
    return client.post("/api/auth/me/delete/", {"password": password}, format="json")


def reset_link(message) -> dict:
    """``{"uid", "token"}`` of the link in a reset email (PASSWORD_RESET_URL's default form)."""
    link = re.search(r"^(http\S+)$", message.body, re.M).group(1)
    query = parse_qs(urlsplit(link).query)
    return {"uid": query["uid"][0], "token": query["token"][0]}


def bearer(client, token):
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


# --- last_login -------------------------------------------------------------------------


def test_login_and_registration_record_last_login_and_a_refresh_does_not(client_for, alice):
    assert alice.last_login is None
    tokens = login(client_for(), alice.email).json()
    alice.refresh_from_db()
    logged_in = alice.last_login
    assert logged_in is not None and timezone.now() - logged_in < timedelta(seconds=10)
    assert client_for().post("/api/auth/token/refresh/", {"refresh": tokens["refresh"]}, format="json").status_code == 200
    alice.refresh_from_db()
    assert alice.last_login == logged_in
    data = {"email": "dave@example.com", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    assert client_for().post("/api/auth/register/", data, format="json").status_code == 201
    assert User.objects.get(email="dave@example.com").last_login is not None


def test_a_failed_login_does_not_touch_last_login(client_for, alice):
    assert login(client_for(), alice.email, "wrong password").status_code == 400
    alice.refresh_from_db()
    assert alice.last_login is None


# --- Changing the password --------------------------------------------------------------


def test_changing_the_password_answers_a_new_session_and_ends_the_others(client_for, alice):
    other = token_pair_for_user(alice)
    response = change_password(client_for(alice))
    assert response.status_code == 200
    data = response.json()
    assert set(data) == {"access", "refresh", "user"} and data["user"]["id"] == str(alice.id)
    assert bearer(client_for(), data["access"]).get("/api/auth/me/").status_code == 200
    assert client_for().post("/api/auth/token/refresh/", {"refresh": data["refresh"]}, format="json").status_code == 200
    assert bearer(client_for(), other["access"]).get("/api/auth/me/").status_code == 401
    assert client_for().post("/api/auth/token/refresh/", {"refresh": other["refresh"]}, format="json").status_code == 401
    assert login(client_for(), alice.email).status_code == 400
    assert login(client_for(), alice.email, NEW_PASSWORD).status_code == 200


def test_a_wrong_current_password_changes_nothing(client_for, alice):
    response = change_password(client_for(alice), current="not my password")
    assert response.status_code == 400
    assert response.json()["code"] == "wrong_password"
    assert error_fields(response) == {"current_password"}
    alice.refresh_from_db()
    assert alice.check_password(PASSWORD)


@pytest.mark.parametrize("weak", ["short", "12345678901", "password123", "alice"])
def test_a_new_password_the_rules_refuse_is_400_on_new_password(client_for, alice, weak):
    response = change_password(client_for(alice), new=weak)
    assert response.status_code == 400 and error_fields(response) == {"new_password"}
    alice.refresh_from_db()
    assert alice.check_password(PASSWORD)


def test_changing_the_password_needs_a_token(client_for):
    assert change_password(client_for()).status_code == 401


def test_password_changes_count_with_the_accounts_logins(client_for, rest_settings, alice, bob):
    rest_settings(rates={"login_email": "3/min"})
    client = client_for(alice)
    assert change_password(client, current="guess 1").status_code == 400
    assert change_password(client, current="guess 2").status_code == 400
    assert login(client_for(), alice.email, "guess 3").status_code == 400
    response = change_password(client)
    assert response.status_code == 429 and response.json()["code"] == "throttled"
    assert login(client_for(), alice.email).status_code == 429, "one budget for the account"
    assert login(client_for(), bob.email).status_code == 200, "another account has its own"
    alice.refresh_from_db()
    assert alice.check_password(PASSWORD)


def test_password_changes_count_with_the_logins_of_the_client_address(client_for, rest_settings, alice, bob):
    rest_settings(rates={"login_ip": "2/min"})
    assert change_password(client_for(alice), current="guess").status_code == 400
    assert login(client_for(), bob.email).status_code == 200
    assert change_password(client_for(alice)).status_code == 429


# --- Resetting a forgotten password ---------------------------------------------------------


def test_a_reset_emails_a_link_that_sets_a_new_password_once(client_for, alice):
    other = token_pair_for_user(alice)
    response = ask_reset(client_for(), f" {alice.email.upper()} ")
    assert response.status_code == 202
    [message] = django_mail.outbox
    assert message.to == [alice.email]
    assert message.subject == "Reset your password"
    assert "http://localhost:3000/reset-password?uid=" in message.body
    link = reset_link(message)
    response = confirm_reset(client_for(), **link)
    assert response.status_code == 200 and set(response.json()) == {"detail"}
    alice.refresh_from_db()
    assert alice.check_password(NEW_PASSWORD)
    assert bearer(client_for(), other["access"]).get("/api/auth/me/").status_code == 401, "every session ended"
    again = confirm_reset(client_for(), **link, new="another-fine-passphrase-7")
    assert again.status_code == 400 and again.json()["code"] == "invalid_reset_link"
    alice.refresh_from_db()
    assert alice.check_password(NEW_PASSWORD)


def test_the_link_is_built_from_password_reset_url(client_for, settings, alice):
    settings.PASSWORD_RESET_URL = "https://chat.example.com/#/reset/{uid}/{token}"
    ask_reset(client_for(), alice.email)
    link = re.search(r"https://chat\.example\.com/#/reset/(\S+)/(\S+)$", django_mail.outbox[0].body, re.M)
    assert confirm_reset(client_for(), link.group(1), link.group(2)).status_code == 200


def test_unknown_inactive_and_deleted_addresses_get_the_same_answer_and_no_email(client_for, make_user, alice):
    known = ask_reset(client_for(), alice.email)
    inactive = make_user("Gone", is_active=False)
    django_mail.outbox.clear()
    for email in ("nobody@example.com", inactive.email):
        response = ask_reset(client_for(), email)
        assert (response.status_code, response.json()) == (known.status_code, known.json())
    assert django_mail.outbox == []


def test_a_link_older_than_password_reset_timeout_is_refused(client_for, settings, monkeypatch, alice):
    settings.PASSWORD_RESET_TIMEOUT = 3600
    ask_reset(client_for(), alice.email)
    link = reset_link(django_mail.outbox[0])
    later = default_token_generator._now() + timedelta(seconds=3601)
    monkeypatch.setattr(default_token_generator, "_now", lambda: later)
    response = confirm_reset(client_for(), **link)
    assert response.status_code == 400 and response.json()["code"] == "invalid_reset_link"
    alice.refresh_from_db()
    assert alice.check_password(PASSWORD)


@pytest.mark.parametrize("uid, token", [
    ("garbage", "garbage"), ("", "x"), ("AAAA", "abc-def"), ("not base64!", "1-2"),
])
def test_garbage_links_are_400(client_for, alice, uid, token):
    response = confirm_reset(client_for(), uid, token)
    assert response.status_code == 400
    assert response.json()["code"] in {"invalid_reset_link", "invalid"}


def test_another_users_token_is_refused(client_for, alice, bob):
    ask_reset(client_for(), alice.email)
    ask_reset(client_for(), bob.email)
    alices, bobs = (reset_link(message) for message in django_mail.outbox)
    assert confirm_reset(client_for(), alices["uid"], bobs["token"]).json()["code"] == "invalid_reset_link"


def test_a_weak_new_password_is_400_and_the_link_still_works(client_for, alice):
    ask_reset(client_for(), alice.email)
    link = reset_link(django_mail.outbox[0])
    response = confirm_reset(client_for(), **link, new="password123")
    assert response.status_code == 400 and error_fields(response) == {"new_password"}
    assert confirm_reset(client_for(), **link).status_code == 200


def test_reset_requests_are_limited_per_address_asked_for_whether_or_not_it_exists(client_for, rest_settings, alice):
    rest_settings(rates={"password_reset_email": "2/hour"})
    for email in (alice.email, "nobody@example.com"):
        assert ask_reset(client_for(), email).status_code == 202
        assert ask_reset(client_for(), email.upper()).status_code == 202
        response = ask_reset(client_for(), email)
        assert response.status_code == 429 and response.json()["code"] == "throttled"
    assert len(django_mail.outbox) == 2


def test_reset_requests_are_limited_per_client_address(client_for, rest_settings):
    rest_settings(rates={"password_reset_ip": "2/hour"})
    assert ask_reset(client_for(), "one@example.com").status_code == 202
    assert ask_reset(client_for(), "two@example.com").status_code == 202
    assert ask_reset(client_for(), "three@example.com").status_code == 429


def test_reset_confirmations_count_with_the_logins_of_the_client_address(client_for, rest_settings):
    rest_settings(rates={"login_ip": "2/min"})
    assert confirm_reset(client_for(), "a", "b").status_code == 400
    assert confirm_reset(client_for(), "a", "b").status_code == 400
    assert confirm_reset(client_for(), "a", "b").status_code == 429


def test_neither_the_token_nor_the_password_is_logged(client_for, caplog, alice):
    caplog.set_level(logging.DEBUG)
    ask_reset(client_for(), alice.email)
    link = reset_link(django_mail.outbox[0])
    confirm_reset(client_for(), **link)
    change_password(client_for(alice), current=NEW_PASSWORD, new="yet-another-passphrase-9")
    assert "reset" in caplog.text
    for secret in (link["token"], NEW_PASSWORD, "yet-another-passphrase-9", alice.email):
        assert secret not in caplog.text


def test_without_an_email_host_in_production_nothing_is_sent_and_it_is_logged(client_for, settings, caplog, alice):
    settings.EMAIL_BACKEND = "django.core.mail.backends.dummy.EmailBackend"
    with caplog.at_level(logging.WARNING, logger="useraccount.services"):
        assert ask_reset(client_for(), alice.email).status_code == 202
    assert "not sent: EMAIL_HOST is not set" in caplog.text


# --- Sending mail ---------------------------------------------------------------------------


class BlockingBackend(BaseEmailBackend):
    """An email backend whose sending waits until the test lets it go."""

    release = threading.Event()
    sent: list = []

    def send_messages(self, messages):
        self.release.wait(timeout=10)
        self.sent.extend(messages)
        return len(messages)


def test_at_most_email_queue_max_emails_wait_and_the_request_does_not(client_for, settings, caplog, make_user):
    settings.EMAIL_BACKEND = f"{__name__}.BlockingBackend"
    settings.EMAIL_QUEUE_MAX = 2
    BlockingBackend.release.clear()
    BlockingBackend.sent.clear()
    users = [make_user() for _ in range(3)]
    try:
        with caplog.at_level(logging.WARNING, logger="useraccount.mail"):
            for user in users:
                # Answered while the first email is still being sent.
                response = client_for().post("/api/auth/password/reset/", {"email": user.email}, format="json")
                assert response.status_code == 202
        assert f"Email to user {users[2].id} dropped" in caplog.text
    finally:
        BlockingBackend.release.set()
        mail.wait_until_sent()
    assert [message.to for message in BlockingBackend.sent] == [[users[0].email], [users[1].email]]


def test_email_over_smtp_to_a_real_server(client_for, settings, alice):
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    from tests.plugins.servers import free_port

    received, logins = [], []

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            received.append(envelope)
            return "250 OK"

    def authenticator(server, session, envelope, mechanism, auth_data):
        logins.append((auth_data.login, auth_data.password))
        return AuthResult(success=auth_data.password == b"smtp-secret")

    controller = Controller(
        Handler(), hostname="127.0.0.1", port=free_port(), authenticator=authenticator, auth_require_tls=False,
    )
    controller.start()
    try:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
        settings.EMAIL_HOST_USER, settings.EMAIL_HOST_PASSWORD = "chat", "smtp-secret"
        settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
        settings.DEFAULT_FROM_EMAIL = "Chat <noreply@chat.example.com>"
        assert ask_reset(client_for(), alice.email).status_code == 202
    finally:
        controller.stop()
    assert logins == [(b"chat", b"smtp-secret")]
    [envelope] = received
    assert envelope.mail_from == "noreply@chat.example.com" and envelope.rcpt_tos == [alice.email]
    text = envelope.content.decode()
    uid, token = re.search(r"uid=(\S+)&token=(\S+)", text).groups()
    assert confirm_reset(client_for(), uid, token).status_code == 200


@pytest.mark.parametrize("env, backend", [
    ({}, "console"),
    ({"DJANGO_DEBUG": "0", "DJANGO_SECRET_KEY": "x" * 50}, "dummy"),
    ({"EMAIL_HOST": "smtp.example.com"}, "smtp"),
])
def test_the_email_backend_follows_email_host_and_debug(env, backend):
    from tests.core.test_logs import after_setup

    script = "from django.conf import settings; print(settings.EMAIL_BACKEND)"
    base = {"EMAIL_HOST": "", "DJANGO_DEBUG": "1"}
    assert after_setup(script, **{**base, **env}).stdout.strip() == f"django.core.mail.backends.{backend}.EmailBackend"


def test_password_reset_url_without_its_placeholders_fails_loudly():
    import os
    import subprocess
    import sys

    from tests import ROOT

    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"], cwd=ROOT, capture_output=True, text=True, timeout=60,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "backend.settings", "PASSWORD_RESET_URL": "https://x.example/{uid}"},
    )
    assert result.returncode != 0 and "PASSWORD_RESET_URL must contain {uid} and {token}" in result.stderr


# --- Deleting the account -------------------------------------------------------------------


def test_a_wrong_password_deletes_nothing(client_for, alice):
    response = delete_account(client_for(alice), password="not my password")
    assert response.status_code == 400
    assert response.json()["code"] == "wrong_password" and error_fields(response) == {"password"}
    alice.refresh_from_db()
    assert alice.is_active and alice.deleted_at is None


def test_deleting_needs_a_token(client_for):
    assert delete_account(client_for()).status_code == 401


def test_the_account_is_anonymised_and_its_address_free_again(
    client_for, settings, tmp_path, django_capture_on_commit_callbacks, alice
):
    from tests.useraccount.test_accounts import tiny_png

    settings.MEDIA_ROOT = tmp_path
    client_for(alice).patch("/api/auth/me/", {"avatar": tiny_png()}, format="multipart")
    alice.refresh_from_db()
    avatar_file, email = tmp_path / alice.avatar.name, alice.email
    assert avatar_file.is_file()
    tokens = token_pair_for_user(alice)

    with django_capture_on_commit_callbacks(execute=True):
        assert delete_account(client_for(alice)).status_code == 204

    alice.refresh_from_db()
    assert alice.email == f"deleted-{alice.id.hex}@deleted.invalid"
    assert (alice.name, bool(alice.avatar), alice.is_active, alice.last_login) == ("", False, False, None)
    assert not alice.has_usable_password()
    assert alice.deleted_at is not None and alice.display_name == "Deleted user"
    assert not avatar_file.exists()
    assert bearer(client_for(), tokens["access"]).get("/api/auth/me/").status_code == 401
    assert client_for().post("/api/auth/token/refresh/", {"refresh": tokens["refresh"]}, format="json").status_code == 401
    assert login(client_for(), email).status_code == 400
    data = {"email": email, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    assert client_for().post("/api/auth/register/", data, format="json").status_code == 201


def test_messages_stay_shown_as_from_a_deleted_user(client_for, alice, bob, direct):
    send(direct, alice, "hello from Alice")
    assert delete_account(client_for(alice)).status_code == 204
    response = client_for(bob).get(f"/api/chat/{direct.id}/")
    assert response.status_code == 200, "the direct conversation stays for the other person"
    [message] = response.json()["messages"]
    assert message["body"] == "hello from Alice"
    assert message["created_by"] == {"id": str(alice.id), "name": "Deleted user", "avatar_url": "", "deleted": True}
    users = {user["id"]: user for user in response.json()["conversation"]["users"]}
    assert users[str(alice.id)]["deleted"] is True and "deleted" not in users[str(bob.id)]
    assert ConversationMessage.objects.filter(created_by=alice).count() == 1


def test_the_user_leaves_their_groups_and_an_owned_one_passes_on(client_for, alice, bob, carol, group):
    assert group.owner_id == alice.id
    earliest_after_alice = group.members.exclude(user=alice).order_by("joined_at", "id").first().user_id
    assert delete_account(client_for(alice)).status_code == 204
    group.refresh_from_db()
    assert group.owner_id == earliest_after_alice
    assert set(group.members.values_list("user_id", flat=True)) == {bob.id, carol.id}
    left = ConversationMessage.objects.filter(conversation=group).order_by("seq").last()
    assert left.kind == "system" and left.body == "Deleted user left"
    assert left.system == {"action": "member_left", "user_ids": [str(alice.id)]}
    assert Conversation.objects.filter(id=group.id).exists()


def test_blocks_both_ways_push_devices_and_unsent_uploads_go(
    client_for, django_capture_on_commit_callbacks, alice, bob, carol, direct, attachment_files
):
    from chat.models import PushDevice

    PushDeviceFactory(user=alice, address="alices-phone")
    PushDeviceFactory(user=bob, address="bobs-phone")
    BlockFactory(blocker=alice, blocked=bob)
    BlockFactory(blocker=carol, blocked=alice)
    BlockFactory(blocker=bob, blocked=carol)
    upload = client_for(alice).post(
        f"/api/chat/{direct.id}/attachments/",
        {"file": __import__("io").BytesIO(b"plain text")}, format="multipart",
    )
    assert upload.status_code == 201, upload.json()
    stored = Attachment.objects.get(id=upload.json()["id"]).file.name
    assert (attachment_files / stored).is_file()
    with django_capture_on_commit_callbacks(execute=True):
        assert delete_account(client_for(alice)).status_code == 204
    assert list(Block.objects.values_list("blocker", "blocked")) == [(bob.id, carol.id)]
    assert list(PushDevice.objects.values_list("address", flat=True)) == ["bobs-phone"]
    assert not Attachment.objects.filter(uploaded_by=alice).exists()
    assert not (attachment_files / stored).exists()


def test_a_deleted_user_cannot_be_found_looked_up_or_talked_to_anew(client_for, alice, bob, carol):
    email = alice.email
    assert delete_account(client_for(alice)).status_code == 204
    client = client_for(bob)
    for query in ("Alice", "Deleted", email, alice.email):
        response = client.get("/api/auth/users/", {"q": query})
        assert response.status_code == 200 and response.json() == [], query
    assert client.get(f"/api/auth/{alice.id}/").status_code == 404
    assert client.post(f"/api/chat/start/{alice.id}/").status_code == 404
    assert ask_reset(client_for(), email).status_code == 202 and django_mail.outbox == []


def test_a_deleted_users_direct_conversation_is_closed_to_sends_edits_and_reactions(client_for, alice, bob, direct):
    thumbs = "\N{THUMBS UP SIGN}"
    theirs = send(direct, alice, "hello from Alice")
    mine = send(direct, bob, "hi Alice")
    client = client_for(bob)
    url = f"/api/chat/{direct.id}/messages/"
    assert client.post(f"{url}{theirs.id}/reactions/", {"emoji": thumbs}, format="json").status_code == 200
    assert delete_account(client_for(alice)).status_code == 204
    refused = [
        client.post(url, {"body": "are you there?"}, format="json"),
        client.patch(f"{url}{mine.id}/", {"body": "edited after she left"}, format="json"),
        client.post(f"{url}{theirs.id}/reactions/", {"emoji": "\N{RED APPLE}"}, format="json"),
    ]
    assert [(answer.status_code, answer.json()["code"]) for answer in refused] == [(403, "recipient_deleted")] * 3
    direct.refresh_from_db()
    assert direct.last_seq == 2, "the refused message took no seq"
    mine.refresh_from_db()
    assert mine.body == "hi Alice"
    # Reading, taking one's reaction back and deleting one's own message still work.
    assert [m["body"] for m in client.get(url).json()] == ["hello from Alice", "hi Alice"]
    assert client.delete(f"{url}{theirs.id}/reactions/{thumbs}/").status_code == 200
    assert client.delete(f"{url}{mine.id}/").status_code == 200
    # Starting it again is refused as for anyone who cannot be found.
    started = client.post(f"/api/chat/start/{alice.id}/")
    assert (started.status_code, started.json()["code"]) == (404, "not_found")


@pytest.mark.django_db(transaction=True)
async def test_a_deleted_users_direct_conversation_refuses_sends_on_the_socket(alice, bob, direct):
    from useraccount.services import user_delete

    await database_sync_to_async(user_delete)(user=alice)
    async with room(direct, bob) as ws:
        await ws.send_json_to({"type": "message.send", "body": "hi", "client_id": "x1"})
        error = await receive(ws)
        assert (error["type"], error["code"], error["client_id"]) == ("error", "recipient_deleted", "x1")


def test_deleting_is_limited_like_logging_in(client_for, rest_settings, alice):
    rest_settings(rates={"login_email": "2/min"})
    assert delete_account(client_for(alice), password="guess 1").status_code == 400
    assert delete_account(client_for(alice), password="guess 2").status_code == 400
    assert delete_account(client_for(alice)).status_code == 429
    alice.refresh_from_db()
    assert alice.deleted_at is None


def test_deleting_twice_changes_nothing_more(alice):
    from useraccount.services import user_delete

    first = user_delete(user=alice).deleted_at
    assert user_delete(user=alice).deleted_at == first


# --- Sockets --------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("how", ["change password", "delete account"])
async def test_open_sockets_close_and_the_other_side_stays(client_for, alice, bob, direct, how):
    tokens = await database_sync_to_async(token_pair_for_user)(alice)
    async with room(direct, token=tokens["access"]) as alice_room, notifications(
        token=tokens["access"]
    ) as alice_notes, room(direct, bob) as bob_room:
        client = bearer(client_for(), tokens["access"])
        if how == "change password":
            response = await database_sync_to_async(change_password)(client)
            assert response.status_code == 200
        else:
            assert (await database_sync_to_async(delete_account)(client)).status_code == 204
        assert await close_code(alice_room) == 4401
        assert await close_code(alice_notes) == 4401
        await bob_room.send_json_to({"type": "ping"})
        assert (await receive(bob_room))["type"] == "pong"
    assert await database_sync_to_async(authenticate_access_token)(tokens["access"]) is None
