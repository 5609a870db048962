"""
Data export: the archive's contents (opened as a zip), its limits, the
once-a-day rule, the signed download link (valid, tampered, expired,
another user's), the admin's action and download, the housekeeping,
account deletion, and the ready frame on the notifications socket.
"""

import io
import json
import zipfile
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from django.core import mail, signing
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from chat.conversations.groups import conversation_remove_member
from chat.exports import links
from chat.exports.services import export_build, export_request
from chat.models import DataExport, export_storage
from tests.factories import AttachmentFactory, GroupConversationFactory, UserFactory
from tests.plugins.conversations import send
from tests.plugins.sockets import notifications, receive
from useraccount import mail as account_mail
from useraccount.services import user_delete

pytestmark = pytest.mark.django_db

EXPORT = "/api/auth/export/"


def archive(export: DataExport) -> zipfile.ZipFile:
    with export_storage().open(export.file.name, "rb") as stored:
        return zipfile.ZipFile(io.BytesIO(stored.read()))


def lines(zipped: zipfile.ZipFile, name: str) -> list[dict]:
    return [json.loads(line) for line in zipped.read(name).decode().splitlines()]


def download(client, url: str):
    return client.get(url.replace("http://testserver", ""))


# --- The archive ---------------------------------------------------------------------


def test_the_archive_holds_the_profile_conversations_messages_and_files(built, alice, bob, carol, direct, group):
    send(direct, alice, "hello Bob")
    send(direct, bob, "not Alice's")
    note = AttachmentFactory(conversation=group, user=alice,
                             file=SimpleUploadedFile("plan.txt", b"the plan\n", content_type="text/plain"))
    send(group, alice, "see the plan", attachment_ids=[note.id])
    left = GroupConversationFactory(creator=bob, members=[alice], title="Old team")
    send(left, alice, "bye")
    conversation_remove_member(conversation_id=left.id, user=alice, member_id=alice.id)

    export = built(export_request(user=alice))

    assert export.status == DataExport.READY and not export.truncated
    zipped = archive(export)
    assert {"README.txt", "export.json", "profile.json", "conversations.json", "messages.jsonl",
            "attachments.json", f"attachments/{note.id}/plan.txt"} <= set(zipped.namelist())
    profile = json.loads(zipped.read("profile.json"))
    assert profile["id"] == str(alice.id) and profile["email"] == alice.email and profile["name"] == "Alice"
    conversations = {c["id"]: c for c in json.loads(zipped.read("conversations.json"))}
    assert set(conversations) == {str(direct.id), str(group.id), str(left.id)}
    assert conversations[str(direct.id)]["kind"] == "direct"
    assert {m["name"] for m in conversations[str(group.id)]["members"]} == {"Alice", "Bob", "Carol"}
    assert conversations[str(group.id)]["title"] == "Team" and conversations[str(group.id)]["member"] is True
    # A group she left: listed, with its members now (she is not among them).
    assert conversations[str(left.id)]["member"] is False
    assert [m["id"] for m in conversations[str(left.id)]["members"]] == [str(bob.id)]
    messages = lines(zipped, "messages.jsonl")
    assert [m["body"] for m in messages] == ["hello Bob", "see the plan", "bye"]  # hers only, oldest first
    assert messages[1]["attachments"] == [{"id": str(note.id), "name": "plan.txt"}]
    assert zipped.read(f"attachments/{note.id}/plan.txt") == b"the plan\n"
    [indexed] = json.loads(zipped.read("attachments.json"))
    assert indexed["file"] == f"attachments/{note.id}/plan.txt" and indexed["message_id"] == messages[1]["id"]
    facts = json.loads(zipped.read("export.json"))
    assert facts["truncated"] is False and facts["messages"] == 3 and facts["attachments"] == 1
    readme = zipped.read("README.txt").decode()
    assert "messages.jsonl" in readme and "Nothing was left out" in readme
    # Stored under a random name, never the user's.
    assert str(alice.id) not in export.file.name and "alice" not in export.file.name.lower()


def test_an_archive_past_the_message_limit_is_cut_and_says_so(built, settings, alice, direct):
    settings.DATA_EXPORT_MAX_MESSAGES = 2
    for n in range(4):
        send(direct, alice, f"message {n}")

    export = built(export_request(user=alice))

    zipped = archive(export)
    assert [m["body"] for m in lines(zipped, "messages.jsonl")] == ["message 0", "message 1"]
    assert export.truncated and json.loads(zipped.read("export.json"))["messages_left_out"] is True
    assert "THIS ARCHIVE WAS CUT" in zipped.read("README.txt").decode()


def test_files_past_the_byte_limit_are_left_out_and_listed(built, settings, alice, direct):
    big = AttachmentFactory(conversation=direct, user=alice,
                            file=SimpleUploadedFile("big.txt", b"x" * 5000, content_type="text/plain"))
    send(direct, alice, "big", attachment_ids=[big.id])
    settings.DATA_EXPORT_MAX_BYTES = 3000

    export = built(export_request(user=alice))

    zipped = archive(export)
    assert not any(name.startswith("attachments/") for name in zipped.namelist())
    [indexed] = json.loads(zipped.read("attachments.json"))
    assert indexed["id"] == str(big.id) and indexed["file"] is None
    assert export.truncated and "1 file(s) were left out" in zipped.read("README.txt").decode()


def test_messages_are_read_in_bounded_chunks(built, monkeypatch, alice, direct, django_assert_max_num_queries):
    from chat.exports import selectors

    for n in range(7):
        send(direct, alice, f"message {n}")
    monkeypatch.setattr(selectors, "CHUNK", 3)
    pages = list(selectors.export_messages(user=alice, chunk=3))
    assert [m.body for m in pages] == [f"message {n}" for n in range(7)]  # 3 + 3 + 1, none twice, none lost


# --- Asking, and the once-a-day rule ----------------------------------------------------


def test_asking_twice_within_the_interval_is_refused_saying_when(
    queued, client_for, alice, django_capture_on_commit_callbacks
):
    client = client_for(alice)
    with django_capture_on_commit_callbacks(execute=True):
        first = client.post(EXPORT)
    assert first.status_code == 202 and first.json()["status"] == "pending"
    assert queued == [DataExport.objects.get().id]

    again = client.post(EXPORT)
    assert again.status_code == 429
    body = again.json()
    assert body["code"] == "export_too_soon" and 23 * 3600 < body["retry_after"] <= 24 * 3600 + 1
    assert again["Retry-After"] == str(body["retry_after"])
    assert first.json()["next_request_at"][:16] in body["detail"]
    assert DataExport.objects.count() == 1 and len(queued) == 1

    # A day later: allowed again.
    DataExport.objects.update(created_at=timezone.now() - timedelta(hours=24, seconds=1))
    assert client.post(EXPORT).status_code == 202


def test_a_failed_export_does_not_count(queued, client_for, alice):
    client = client_for(alice)
    assert client.post(EXPORT).status_code == 202
    DataExport.objects.update(status=DataExport.FAILED)
    assert client.post(EXPORT).status_code == 202


def test_the_interval_is_a_setting(queued, settings, client_for, alice):
    settings.DATA_EXPORT_INTERVAL_HOURS = 1
    client = client_for(alice)
    client.post(EXPORT)
    DataExport.objects.update(created_at=timezone.now() - timedelta(minutes=61))
    assert client.post(EXPORT).status_code == 202


def test_the_state_is_shown_and_a_ready_export_has_a_signed_link(built, client_for, alice, direct):
    client = client_for(alice)
    assert client.get(EXPORT).status_code == 404
    send(direct, alice, "hello")
    export = export_request(user=alice)
    assert client.get(EXPORT).json()["status"] == "pending"
    built(export)

    state = client.get(EXPORT).json()
    assert state["status"] == "ready" and state["size"] > 0 and state["truncated"] is False
    assert state["download_url"].startswith("http://testserver/api/auth/export/download/")
    fetched = download(Client(), state["download_url"])  # no token: the link is the credential
    assert fetched.status_code == 200 and fetched["Content-Type"] == "application/zip"
    assert "attachment" in fetched["Content-Disposition"]
    body = b"".join(fetched.streaming_content)
    assert len(body) == state["size"]
    assert zipfile.ZipFile(io.BytesIO(body)).read("messages.jsonl").decode().count("\n") == 1


def test_an_expired_export_is_shown_expired_without_a_link(built, client_for, alice):
    export = built(export_request(user=alice))
    DataExport.objects.filter(id=export.id).update(expires_at=timezone.now() - timedelta(seconds=1))
    state = client_for(alice).get(EXPORT).json()
    assert state["status"] == "expired" and state["download_url"] is None


# --- The signed link ---------------------------------------------------------------------


def test_a_tampered_link_is_refused(built, client_for, alice, bob):
    alice_export = built(export_request(user=alice))
    bob_export = built(export_request(user=bob))
    url, _ = links.export_link(bob_export)
    token = url.rstrip("/").rsplit("/", 1)[1]
    # Bob's signature on Alice's export id.
    forged = token.replace(str(bob_export.id), str(alice_export.id))
    response = download(Client(), f"/api/auth/export/download/{forged}/")
    assert response.status_code == 404 and response.json()["code"] == "not_found"
    # The export id signed for another purpose (Django's default salt).
    other = signing.TimestampSigner().sign(str(alice_export.id))
    assert download(Client(), f"/api/auth/export/download/{other}/").status_code == 404
    assert download(Client(), url).status_code == 200


def test_an_expired_link_is_refused(built, settings, monkeypatch, alice):
    export = built(export_request(user=alice))
    now = signing.time.time()
    monkeypatch.setattr(signing.time, "time", lambda: now - settings.DATA_EXPORT_URL_EXPIRE - 1)
    url, _ = links.export_link(export)
    monkeypatch.undo()
    response = download(Client(), url)
    assert response.status_code == 403 and response.json()["code"] == "link_expired"


def test_a_user_cannot_see_or_download_another_users_export(built, client_for, alice, bob):
    built(export_request(user=alice))
    assert client_for(bob).get(EXPORT).status_code == 404  # Bob's own state: he has none
    # Bob's own link, to his own export, does not open Alice's.
    bob_export = built(export_request(user=bob))
    bob_url = client_for(bob).get(EXPORT).json()["download_url"]
    body = b"".join(download(Client(), bob_url).streaming_content)
    assert json.loads(zipfile.ZipFile(io.BytesIO(body)).read("profile.json"))["id"] == str(bob.id)
    assert str(bob_export.id) in signing.TimestampSigner(salt="chat.exports.download").unsign(
        bob_url.rstrip("/").rsplit("/", 1)[1])


# --- Telling the user -------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
async def test_the_user_is_told_on_their_notifications_socket_when_it_is_ready(queued, alice, bob):
    export = await sync_to_async(export_request)(user=alice)
    async with notifications(alice) as alice_socket, notifications(bob) as bob_socket:
        await sync_to_async(export_build)(export_id=export.id)
        frame = await receive(alice_socket)
        assert frame["type"] == "export.updated" and frame["id"] == str(export.id) and frame["status"] == "ready"
        assert frame["expires_at"]
        assert await bob_socket.receive_nothing(timeout=0.2)


def test_the_user_is_emailed_when_it_is_ready(built, settings, alice, django_capture_on_commit_callbacks):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    with django_capture_on_commit_callbacks(execute=True):
        built(export_request(user=alice))
    account_mail.wait_until_sent()
    [message] = mail.outbox
    assert message.to == [alice.email] and "export" in message.subject.lower()
    assert "/download/" not in message.body  # no link in a mailbox: the app gives a fresh one


def test_a_failed_build_is_marked_failed_and_may_be_asked_again(
    queued, monkeypatch, client_for, alice, django_capture_on_commit_callbacks
):
    from chat.exports import archive as archive_module

    def broken(**kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(archive_module, "archive_write", broken)
    client = client_for(alice)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(EXPORT)
    export_build(export_id=queued[0])
    assert client.get(EXPORT).json()["status"] == "failed"
    assert DataExport.objects.get().error == "OSError: disk full"
    assert client.post(EXPORT).status_code == 202


@pytest.mark.django_db(transaction=True)
def test_the_queue_worker_builds_it(alice, direct, client_for):
    from chat.exports.jobs import QUEUE
    from chat.push import queue

    send(direct, alice, "through the queue")
    queue.broker().flush_all()
    worker = queue.local_worker_start()
    assert client_for(alice).post(EXPORT).status_code == 202
    queue.broker().join(QUEUE, timeout=20_000)
    worker.join()
    export = DataExport.objects.get()
    assert export.status == DataExport.READY
    assert lines(archive(export), "messages.jsonl")[0]["body"] == "through the queue"


# --- Staff ----------------------------------------------------------------------------


@pytest.fixture
def staff_client():
    client = Client()
    client.force_login(UserFactory(email="admin@example.com", name="Sam Support", is_superuser=True, is_staff=True))
    return client


def test_staff_export_a_users_data_from_the_admin_and_download_it_there(queued, staff_client, client_for, alice, direct):
    send(direct, alice, "for support")
    response = staff_client.post("/admin/useraccount/user/", {
        "action": "export_user_data", "_selected_action": [str(alice.id)],
    })
    assert response.status_code == 302
    export = DataExport.objects.get()
    assert export.user == alice and export.requested_by.email == "admin@example.com"
    export_build(export_id=export.id)

    page = staff_client.get("/admin/chat/dataexport/").content.decode()
    assert f"/admin/chat/dataexport/{export.id}/download/" in page
    fetched = staff_client.get(f"/admin/chat/dataexport/{export.id}/download/")
    body = b"".join(fetched.streaming_content)
    assert lines(zipfile.ZipFile(io.BytesIO(body)), "messages.jsonl")[0]["body"] == "for support"
    # Staff's export is theirs: the user does not see it, and may still ask for their own.
    assert client_for(alice).get(EXPORT).status_code == 404
    assert client_for(alice).post(EXPORT).status_code == 202


def test_people_who_are_not_staff_cannot_download_from_the_admin(built, client_for, alice, bob):
    export = built(export_request(user=alice, requested_by=bob))
    client = Client()
    client.force_login(bob)
    response = client.get(f"/admin/chat/dataexport/{export.id}/download/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


# --- Housekeeping and account deletion ----------------------------------------------------


def test_cleanup_deletes_expired_archives_and_fails_lost_exports(
    built, settings, alice, bob, django_capture_on_commit_callbacks
):
    old = built(export_request(user=alice))
    kept = built(export_request(user=bob))
    name = old.file.name
    DataExport.objects.filter(id=old.id).update(expires_at=timezone.now() - timedelta(seconds=1))
    lost = export_request(user=alice, requested_by=bob)
    DataExport.objects.filter(id=lost.id).update(
        created_at=timezone.now() - timedelta(seconds=2 * settings.DATA_EXPORT_TIME_LIMIT + 1))

    with django_capture_on_commit_callbacks(execute=True):
        call_command("cleanup_exports", stdout=io.StringIO())

    old.refresh_from_db(), kept.refresh_from_db(), lost.refresh_from_db()
    assert old.status == DataExport.EXPIRED and not old.file and not export_storage().exists(name)
    assert kept.status == DataExport.READY and export_storage().exists(kept.file.name)
    assert lost.status == DataExport.FAILED


def test_deleting_the_account_deletes_its_exports_and_archives(built, alice, bob, django_capture_on_commit_callbacks):
    ready = built(export_request(user=alice))
    pending = export_request(user=alice, requested_by=bob)
    name = ready.file.name

    with django_capture_on_commit_callbacks(execute=True):
        user_delete(user=alice)

    assert not DataExport.objects.filter(id__in=[ready.id, pending.id]).exists()
    assert not export_storage().exists(name)
    assert export_build(export_id=pending.id) is None  # its queued job finds nothing to build
