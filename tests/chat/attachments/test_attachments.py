"""
Attachments: upload, limits, types read from the bytes, who may download,
messages that carry them, cleanup; on the filesystem and on S3-compatible
object storage (a local moto server speaking the S3 API).
"""

import io
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from channels.db import database_sync_to_async
from django.core.management import call_command
from django.utils import timezone
from PIL import Image

from chat.models import Attachment, ConversationMessage
from tests.factories import UserFactory
from tests.plugins.conversations import UNKNOWN_ID, post_message
from tests.plugins.servers import free_port, http_request
from tests.plugins.sockets import receive, room

pytestmark = pytest.mark.django_db(transaction=True)

PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def png(width=64, height=48) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(buffer, "PNG")
    return buffer.getvalue()


def named(data: bytes, name: str):
    file = io.BytesIO(data)
    file.name = name
    return file


def upload(client, conversation, data: bytes, name="photo.png", **extra):
    return client.post(f"/api/chat/{conversation.id}/attachments/", {"file": named(data, name)}, format="multipart",
                       **extra)


def test_an_image_upload_is_described_and_stored_under_a_random_name(client_for, alice, direct, attachment_files):
    response = upload(client_for(alice), direct, png(), name="../../etc/my holiday.png")
    assert response.status_code == 201
    data = response.json()
    assert data["name"] == "my holiday.png"
    assert (data["content_type"], data["width"], data["height"], data["size"]) == ("image/png", 64, 48, len(png()))
    assert data["url"] == f"http://testserver/api/chat/{direct.id}/attachments/{data['id']}/"
    attachment = Attachment.objects.get(id=data["id"])
    assert "holiday" not in attachment.file.name
    assert (attachment_files / attachment.file.name).read_bytes() == png()
    assert attachment.message_id is None


def test_the_type_comes_from_the_bytes_not_the_name(client_for, alice, direct):
    response = upload(client_for(alice), direct, PDF, name="cat.png")
    assert response.status_code == 201
    assert response.json()["content_type"] == "application/pdf"
    assert response.json()["width"] is None
    text = upload(client_for(alice), direct, "caf\u00e9 notes\n".encode(), name="notes.exe")
    assert text.json()["content_type"] == "text/plain"


@pytest.mark.parametrize("data,name", [
    (b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 64, "setup.png"),
    (b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "logo.svg"),
    (b"<html><script>alert(1)</script></html>", "page.txt"),
    (b"\x00\x01\x02\x03" * 100, "blob.bin"),
])
def test_types_not_accepted_are_refused_with_415(client_for, alice, direct, attachment_files, data, name):
    response = upload(client_for(alice), direct, data, name=name)
    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_type"
    assert not Attachment.objects.exists()
    assert not attachment_files.exists() or not any(attachment_files.rglob("*.*"))


def test_the_accepted_types_are_a_setting(settings, client_for, alice, direct):
    settings.CHAT_ATTACHMENT_TYPES = frozenset({"image/png"})
    assert upload(client_for(alice), direct, PDF, name="a.pdf").status_code == 415
    assert upload(client_for(alice), direct, png()).status_code == 201


def test_a_file_over_the_limit_is_refused_with_413(settings, client_for, alice, direct):
    settings.CHAT_ATTACHMENT_MAX_BYTES = 1000
    response = upload(client_for(alice), direct, b"a" * 1001, name="big.txt")
    assert response.status_code == 413
    assert response.json()["code"] == "too_large"
    assert upload(client_for(alice), direct, b"a" * 1000, name="ok.txt").status_code == 201


def test_a_declared_length_over_the_limit_is_refused_before_reading(settings, client_for, alice, direct):
    settings.CHAT_ATTACHMENT_MAX_BYTES = 1000
    response = client_for(alice).generic(
        "POST", f"/api/chat/{direct.id}/attachments/", b"x", content_type="multipart/form-data; boundary=x",
        CONTENT_LENGTH=str(1000 + 64 * 1024 + 1),
    )
    assert response.status_code == 413


def test_an_empty_or_missing_file_is_a_400(client_for, alice, direct):
    assert upload(client_for(alice), direct, b"", name="empty.txt").json()["code"] == "empty_file"
    response = client_for(alice).post(f"/api/chat/{direct.id}/attachments/", {}, format="multipart")
    assert response.status_code == 400


def test_only_members_upload(client_for, carol, direct):
    assert upload(client_for(carol), direct, png()).status_code == 404
    assert not Attachment.objects.exists()


def test_a_message_carries_attachments_and_members_download_them(client_for, alice, bob, carol, direct):
    as_alice = client_for(alice)
    photo = upload(as_alice, direct, png()).json()
    paper = upload(as_alice, direct, PDF, name="paper.pdf").json()
    response = post_message(as_alice, direct, "", attachment_ids=[paper["id"], photo["id"]])
    assert response.status_code == 201
    message = response.json()
    assert message["body"] == ""
    assert [a["id"] for a in message["attachments"]] == [paper["id"], photo["id"]]
    assert message["attachments"][1] == photo
    history = client_for(bob).get(f"/api/chat/{direct.id}/messages/").json()
    assert history[-1]["attachments"] == message["attachments"]
    download = client_for(bob).get(photo["url"])
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == png()
    assert download["Content-Type"] == "image/png"
    assert download["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in download["Content-Security-Policy"]
    assert download["Content-Disposition"] == "inline; filename*=UTF-8''photo.png"
    assert client_for(carol).get(photo["url"]).status_code == 404
    assert client_for().get(photo["url"]).status_code == 401
    other = f"/api/chat/{direct.id}/attachments/{UNKNOWN_ID}/"
    assert client_for(bob).get(other).status_code == 404


def test_an_unsent_upload_is_its_uploaders_alone(client_for, alice, bob, direct):
    photo = upload(client_for(alice), direct, png()).json()
    assert client_for(alice).get(photo["url"]).status_code == 200
    assert client_for(bob).get(photo["url"]).status_code == 404


@pytest.mark.parametrize("case", ["someone else's", "another conversation", "already sent", "unknown", "too many"])
def test_a_message_takes_only_the_senders_unsent_uploads_here(settings, client_for, alice, bob, group, direct, case):
    settings.CHAT_MESSAGE_MAX_ATTACHMENTS = 1
    mine = upload(client_for(alice), direct, png()).json()["id"]
    ids = {
        "someone else's": [upload(client_for(bob), direct, png()).json()["id"]],
        "another conversation": [upload(client_for(alice), group, png()).json()["id"]],
        "already sent": [mine],
        "unknown": [UNKNOWN_ID],
        "too many": [mine, upload(client_for(alice), direct, png()).json()["id"]],
    }[case]
    if case == "already sent":
        assert post_message(client_for(alice), direct, "first", attachment_ids=[mine]).status_code == 201
    before = ConversationMessage.objects.filter(conversation=direct).count()
    response = post_message(client_for(alice), direct, "look", attachment_ids=ids)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_attachment"
    assert ConversationMessage.objects.filter(conversation=direct).count() == before


def test_a_resend_with_its_attachments_is_the_original(client_for, alice, direct):
    photo = upload(client_for(alice), direct, png()).json()["id"]
    first = post_message(client_for(alice), direct, "", attachment_ids=[photo], client_id="c-1")
    again = post_message(client_for(alice), direct, "", attachment_ids=[photo], client_id="c-1")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()


def test_without_attachments_a_body_is_still_needed(client_for, alice, direct):
    response = post_message(client_for(alice), direct, "  ", attachment_ids=[])
    assert response.status_code == 400 and response.json()["code"] == "empty_body"


def test_deleting_a_message_deletes_its_files(client_for, alice, bob, direct, attachment_files):
    photo = upload(client_for(alice), direct, png()).json()
    message = post_message(client_for(alice), direct, "", attachment_ids=[photo["id"]]).json()
    path = attachment_files / Attachment.objects.get(id=photo["id"]).file.name
    assert path.exists()
    deleted = client_for(alice).delete(f"/api/chat/{direct.id}/messages/{message['id']}/").json()
    assert deleted["attachments"] == []
    assert not path.exists()
    assert client_for(bob).get(photo["url"]).status_code == 404


def test_cleanup_removes_old_unsent_uploads_only(client_for, alice, direct, attachment_files):
    as_alice = client_for(alice)
    old_unsent = upload(as_alice, direct, png()).json()["id"]
    old_sent = upload(as_alice, direct, png()).json()["id"]
    new_unsent = upload(as_alice, direct, png()).json()["id"]
    post_message(as_alice, direct, "", attachment_ids=[old_sent])
    Attachment.objects.filter(id__in=[old_unsent, old_sent]).update(created_at=timezone.now() - timedelta(hours=25))
    old_file = attachment_files / Attachment.objects.get(id=old_unsent).file.name
    out = io.StringIO()
    call_command("cleanup_attachments", stdout=out)
    assert "Deleted 1 " in out.getvalue()
    assert set(Attachment.objects.values_list("id", flat=True)) == {
        Attachment.objects.get(id=old_sent).id, Attachment.objects.get(id=new_unsent).id,
    }
    assert not old_file.exists()


async def test_a_message_with_attachments_over_the_socket(client_for, alice, bob, direct):
    photo = (await database_sync_to_async(upload)(client_for(alice), direct, png())).json()
    async with room(direct, alice) as mine, room(direct, bob) as theirs:
        await mine.send_json_to({"type": "message.send", "attachment_ids": [photo["id"]], "client_id": "p1"})
        for ws in (mine, theirs):
            frame = await receive(ws)
            assert frame["type"] == "chat.message" and frame["body"] == ""
            [carried] = frame["attachments"]
            assert {**carried, "url": None} == {**photo, "url": None}
            assert photo["url"].endswith(carried["url"]), "absolute on the origin the sender came in on"
        await mine.send_json_to({"type": "message.send", "attachment_ids": "nope"})
        assert (await receive(mine))["code"] == "invalid_attachment"


def test_the_admin_shows_a_messages_attachments(client, alice, direct, client_for):
    photo = upload(client_for(alice), direct, png(), name="beach.png").json()
    message = post_message(client_for(alice), direct, "look", attachment_ids=[photo["id"]]).json()
    staff = UserFactory(email="staff@example.com", password="x", name="Staff", is_superuser=True)
    client.force_login(staff)
    page = client.get(f"/admin/chat/conversationmessage/{message['id']}/change/")
    assert page.status_code == 200
    assert "beach.png" in page.content.decode()
    listing = client.get("/admin/chat/attachment/")
    assert listing.status_code == 200 and "beach.png" in listing.content.decode()
    download = client.get(f"/admin/chat/attachment/{photo['id']}/download/")
    assert download.status_code == 200 and b"".join(download.streaming_content) == png()
    client.logout()
    assert client.get(f"/admin/chat/attachment/{photo['id']}/download/").status_code == 302, "to the login page"


# --- S3-compatible object storage ------------------------------------------------------


@pytest.fixture
def s3_server(tmp_path):
    """A local S3-compatible server (moto) with a bucket; stopped after the test."""
    port = free_port()
    log = open(tmp_path / "moto.log", "wb")
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while not _up(url):
        if time.monotonic() > deadline or process.poll() is not None:
            process.kill()
            raise RuntimeError((tmp_path / "moto.log").read_text())
        time.sleep(0.2)
    import boto3

    credentials = {"aws_access_key_id": "test-key", "aws_secret_access_key": "test-secret"}
    boto3.client("s3", endpoint_url=url, region_name="us-east-1", **credentials).create_bucket(Bucket="chat-files")
    yield url, credentials
    process.terminate()
    process.wait(timeout=10)


def _up(url: str) -> bool:
    try:
        http_request(f"{url}/moto-api/", timeout=2)
        return True
    except OSError:
        return False


def test_attachments_on_s3_are_private_objects_behind_short_lived_signed_urls(
    s3_server, start_server, client_for, alice, bob, carol, direct
):
    import boto3

    url, credentials = s3_server
    server = start_server(
        ATTACHMENTS_S3_BUCKET="chat-files", ATTACHMENTS_S3_ENDPOINT_URL=url, ATTACHMENTS_S3_REGION="us-east-1",
        ATTACHMENTS_S3_ADDRESSING_STYLE="path", ATTACHMENTS_URL_EXPIRE="60",
        AWS_ACCESS_KEY_ID=credentials["aws_access_key_id"], AWS_SECRET_ACCESS_KEY=credentials["aws_secret_access_key"],
        THROTTLE_USER="off",
    )
    from tests.plugins.users import access_token

    boundary = "----chat-test-boundary"
    body = (
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"beach.png\"\r\n"
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode() + png() + f"\r\n--{boundary}--\r\n".encode()
    uploaded = http_request(
        f"{server.http}/api/chat/{direct.id}/attachments/", body=body, method="POST",
        headers={"Authorization": f"Bearer {access_token(alice)}", "Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert uploaded.status == 201, uploaded.body
    photo = uploaded.json()
    sent = http_request(f"{server.http}/api/chat/{direct.id}/messages/", data={"body": "", "attachment_ids": [photo["id"]]},
                        headers={"Authorization": f"Bearer {access_token(alice)}"})
    assert sent.status == 201

    s3 = boto3.client("s3", endpoint_url=url, region_name="us-east-1", **credentials)
    [stored] = s3.list_objects_v2(Bucket="chat-files")["Contents"]
    assert stored["Key"].startswith(f"attachments/{direct.id.hex}/") and "beach" not in stored["Key"]
    assert s3.get_object(Bucket="chat-files", Key=stored["Key"])["Body"].read() == png()
    acl = s3.get_object_acl(Bucket="chat-files", Key=stored["Key"])
    assert all("AllUsers" not in str(grant.get("Grantee")) for grant in acl["Grants"]), "not public"
    unsigned = http_request(f"{url}/chat-files/{stored['Key']}")
    assert unsigned.status == 403, "the object cannot be read without a signature"

    redirect = http_request(photo["url"].replace("http://testserver", server.http), redirects=False,
                            headers={"Authorization": f"Bearer {access_token(bob)}"})
    assert redirect.status == 302
    signed = redirect.headers["Location"]
    assert signed.startswith(f"{url}/chat-files/attachments/") and "Signature" in signed and "Expires=" in signed
    fetched = http_request(signed)
    assert fetched.status == 200 and fetched.body == png()
    assert fetched.headers["Content-Type"] == "image/png"
    denied = http_request(photo["url"].replace("http://testserver", server.http), redirects=False,
                          headers={"Authorization": f"Bearer {access_token(carol)}"})
    assert denied.status == 404
