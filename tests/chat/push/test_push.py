"""
Push notifications (chat.push): the device registry over REST, who gets a
push, and real pushes through the queue to push services on 127.0.0.1: a Web
Push service whose payloads are decrypted here with the subscription's keys,
and FCM's HTTP v1 API with its OAuth token endpoint.
"""

import base64
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import http_ece
import pytest
from asgiref.sync import async_to_sync
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from django.utils import timezone

from chat.messages.services import message_edit
from chat.models import ConversationMember, PushDevice
from chat.push import queue, senders
from chat.push.devices import b64url_encode, vapid_public_key
from chat.push.payload import PAYLOAD_MAX_BYTES, encoded, excerpt, push_payload
from chat.push.recipients import Member, push_recipients
from chat.realtime.presence import presence_store
from chat.conversations.groups import conversation_rename
from core import metrics
from tests import ROOT
from tests.factories import BlockFactory, GroupConversationFactory, PushDeviceFactory
from tests.plugins.conversations import send
from tests.plugins.database import database_url_for_tests

pytestmark = pytest.mark.django_db

VAPID_PRIVATE_KEY = "So_1K8FQlg5AdoWhAFInEYGyvqIGnmLOdXK0JYYP4OE"
ENDPOINT = "https://fcm.googleapis.com/fcm/send/abc:def"


def counter(metric, **labels) -> float:
    return metric.labels(**labels)._value.get()


# --- A push service on 127.0.0.1 ------------------------------------------------


class PushService:
    """Records every request; answers each with the next status of ``statuses`` (then 201)."""

    def __init__(self):
        self.requests: list[dict] = []
        self.statuses: list[int] = []
        self.bodies: dict[int, bytes] = {}
        self.received = threading.Condition()
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with service.received:
                    status = service.statuses.pop(0) if service.statuses else 201
                    service.requests.append(
                        {"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body,
                         "status": status}
                    )
                    service.received.notify_all()
                answer = service.bodies.get(status, b"")
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, count: int, timeout: float = 15) -> list[dict]:
        with self.received:
            assert self.received.wait_for(lambda: len(self.requests) >= count, timeout), self.requests
        return self.requests

    def to(self, path: str) -> list[dict]:
        return [request for request in self.requests if request["path"] == path]


@pytest.fixture
def push_service():
    service = PushService()
    yield service
    service.server.shutdown()
    service.server.server_close()


@pytest.fixture
def web_push(settings):
    settings.PUSH_VAPID_PRIVATE_KEY = VAPID_PRIVATE_KEY
    settings.PUSH_VAPID_SUBJECT = "mailto:ops@example.com"
    settings.PUSH_RETRY_BACKOFF = 0.01
    settings.PUSH_RETRY_BACKOFF_MAX = 0.05
    return settings


class Subscription:
    """A browser's side of a Web Push subscription: its keys, and its device row pointing at the local service."""

    def __init__(self, user, service: PushService):
        self.private_key = ec.generate_private_key(ec.SECP256R1())
        self.auth = os.urandom(16)
        self.path = f"/push/{uuid.uuid4().hex}"
        public = self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        # Made directly: the API accepts only https endpoints on known push services.
        self.device = PushDevice.objects.create(
            user=user, kind=PushDevice.WEBPUSH, address=service.url + self.path,
            p256dh=b64url_encode(public), auth=b64url_encode(self.auth),
        )

    def decrypt(self, request: dict) -> dict:
        plain = http_ece.decrypt(request["body"], private_key=self.private_key, auth_secret=self.auth, version="aes128gcm")
        return json.loads(plain)


@pytest.fixture
def subscribe(push_service):
    return lambda user: Subscription(user, push_service)


@pytest.fixture
def worker(transactional_db):
    """The queue, emptied, worked by threads of this process; ``worker()`` waits until it is idle."""
    queue.broker().flush_all()
    running = queue.local_worker_start()

    def idle():
        queue.broker().join(queue.QUEUE, timeout=20_000)
        running.join()

    yield idle
    idle()


def online(user):
    connection_id = f"test-{uuid.uuid4().hex}"
    async_to_sync(presence_store().touch)(str(user.id), connection_id)
    return lambda: async_to_sync(presence_store().leave)(str(user.id), connection_id)


# --- Web Push end to end ----------------------------------------------------------


def test_a_message_reaches_an_offline_member_as_an_encrypted_web_push(web_push, worker, push_service, subscribe, direct, alice, bob):
    bob_browser = subscribe(bob)
    alice_browser = subscribe(alice)
    message = send(direct, alice, "Lunch at noon?")
    worker()
    [request] = push_service.wait_for(1)
    assert request["path"] == bob_browser.path  # not the sender's own browser
    assert not push_service.to(alice_browser.path)
    assert bob_browser.decrypt(request) == {
        "type": "message", "conversation_id": str(direct.id), "conversation_title": "",
        "message_id": str(message.id), "seq": message.seq, "sender_id": str(alice.id),
        "sender_name": alice.display_name, "body": "Lunch at noon?", "attachments": 0,
        "thread_id": None, "mentioned": False,
    }
    headers = request["headers"]
    assert headers["content-encoding"] == "aes128gcm"
    assert headers["ttl"] == str(web_push.PUSH_TTL)
    assert headers["authorization"].startswith("vapid t=")
    assert headers["authorization"].endswith(f"k={vapid_public_key(VAPID_PRIVATE_KEY)}")


def test_a_push_the_service_accepted_delivers_its_message_at_the_next_flush(web_push, worker, push_service, subscribe, direct, alice, bob):
    from chat.realtime.delivery_flush import push_deliveries

    subscribe(bob)
    message = send(direct, alice, "Lunch at noon?")
    worker()
    push_service.wait_for(1)
    member = ConversationMember.objects.get(conversation=direct, user=bob)
    assert member.delivered_seq == 0  # noted in memory, not written per push
    push_deliveries().flush()
    member.refresh_from_db()
    assert member.delivered_seq == message.seq


def test_a_rejected_push_delivers_nothing(web_push, worker, push_service, subscribe, direct, alice, bob):
    from chat.realtime.delivery_flush import push_deliveries

    push_service.statuses = [400]
    subscribe(bob)
    send(direct, alice)
    worker()
    push_service.wait_for(1)
    push_deliveries().flush()
    assert ConversationMember.objects.get(conversation=direct, user=bob).delivered_seq == 0


def test_a_gone_subscription_is_removed(web_push, worker, push_service, subscribe, direct, alice, bob):
    removed = counter(metrics.PUSH_DEVICES_REMOVED, kind="webpush")
    push_service.statuses = [410]
    bob_browser = subscribe(bob)
    send(direct, alice)
    worker()
    push_service.wait_for(1)
    assert not PushDevice.objects.filter(id=bob_browser.device.id).exists()
    assert counter(metrics.PUSH_DEVICES_REMOVED, kind="webpush") == removed + 1


def test_a_failing_push_service_is_tried_again_and_then_given_up(web_push, worker, push_service, subscribe, direct, alice, bob):
    web_push.PUSH_MAX_ATTEMPTS = 3
    dropped = counter(metrics.PUSH_DROPPED, reason="gave_up")
    push_service.statuses = [500, 503, 500, 201]
    bob_browser = subscribe(bob)
    send(direct, alice)
    worker()
    push_service.wait_for(3)
    worker()
    assert [request["status"] for request in push_service.requests] == [500, 503, 500]  # three attempts, no fourth
    assert counter(metrics.PUSH_DROPPED, reason="gave_up") == dropped + 1
    assert PushDevice.objects.filter(id=bob_browser.device.id).exists()  # a failure is not a dead subscription


def test_a_failure_that_passes_is_delivered_on_a_later_attempt(web_push, worker, push_service, subscribe, direct, alice, bob):
    sent = counter(metrics.PUSH_SENT, kind="webpush")
    push_service.statuses = [503]
    bob_browser = subscribe(bob)
    send(direct, alice, "second time lucky")
    worker()
    requests = push_service.wait_for(2)
    assert [request["status"] for request in requests] == [503, 201]
    assert bob_browser.decrypt(requests[1])["body"] == "second time lucky"
    assert counter(metrics.PUSH_SENT, kind="webpush") == sent + 1


def test_a_rejected_push_is_dropped_without_retrying(web_push, worker, push_service, subscribe, direct, alice, bob):
    dropped = counter(metrics.PUSH_DROPPED, reason="rejected")
    push_service.statuses = [400]
    subscribe(bob)
    send(direct, alice)
    worker()
    push_service.wait_for(1)
    worker()
    assert len(push_service.requests) == 1
    assert counter(metrics.PUSH_DROPPED, reason="rejected") == dropped + 1


def test_muted_blocking_and_online_members_get_no_push(web_push, worker, push_service, subscribe, make_user, alice):
    muted, muted_for_now, blocking, on, expired, plain = (make_user() for _ in range(6))
    group = GroupConversationFactory(creator=alice, members=[muted, muted_for_now, blocking, on, expired, plain])
    later, earlier = timezone.now() + timedelta(hours=1), timezone.now() - timedelta(minutes=1)
    ConversationMember.objects.filter(conversation=group, user=muted).update(muted=True)
    ConversationMember.objects.filter(conversation=group, user=muted_for_now).update(muted=True, muted_until=later)
    ConversationMember.objects.filter(conversation=group, user=expired).update(muted=True, muted_until=earlier)
    BlockFactory(blocker=blocking, blocked=alice)
    browsers = {user: subscribe(user) for user in (muted, muted_for_now, blocking, on, expired, plain)}
    leave = online(on)
    try:
        send(group, alice)
        worker()
    finally:
        leave()
    reached = {request["path"] for request in push_service.wait_for(2)}
    assert reached == {browsers[expired].path, browsers[plain].path}


def test_members_get_pushes_when_presence_is_unknown(web_push, worker, push_service, subscribe, direct, alice, bob, monkeypatch):
    from chat.realtime import presence

    monkeypatch.setattr("chat.realtime.presence.online_among", lambda user_ids: presence.UNKNOWN)
    leave = online(bob)
    try:
        subscribe(bob)
        send(direct, alice)
        worker()
    finally:
        leave()
    push_service.wait_for(1)


def test_system_messages_and_deleted_messages_are_not_pushed(web_push, transactional_db, subscribe, group, alice, bob, monkeypatch):
    from chat.messages.services import message_delete

    subscribe(bob)
    jobs = []
    monkeypatch.setattr(queue, "_send", lambda actor, *args: jobs.append((actor, args)))
    conversation_rename(conversation_id=group.id, user=alice, title="Renamed")
    assert jobs == []  # a system message queues nothing
    message = send(group, alice)
    message_delete(conversation_id=group.id, user=alice, message_id=message.id)
    [(actor, args)] = jobs
    queue.message_fan_out(*args)  # the worker reaches the job after the delete
    assert len(jobs) == 1  # and pushes to no device


def test_one_job_per_message_queued_after_commit(web_push, transactional_db, direct, group, alice, monkeypatch):
    from django.db import transaction

    sent = []
    monkeypatch.setattr(queue, "_send", lambda actor, *args: sent.append((actor, args)))
    message = send(group, alice)
    assert sent == [("push_message", (str(message.id),))]  # one job however many members
    with pytest.raises(RuntimeError), transaction.atomic():
        send(direct, alice)
        assert len(sent) == 1  # nothing before the commit
        raise RuntimeError("rolled back")
    assert len(sent) == 1
    send(group, alice, client_id="once")
    send(group, alice, client_id="once")  # a resend is not a new message
    assert len(sent) == 2


async def test_a_message_sent_on_a_socket_queues_its_push_off_the_event_loop(web_push, transactional_db, direct, alice, monkeypatch):
    from chat.messages.send import message_send_from_loop
    from core.outbox import carry_out

    threads = []
    monkeypatch.setattr(queue, "_send", lambda actor, *args: threads.append(threading.current_thread()))
    await carry_out(message_send_from_loop, conversation_id=direct.id, sender=alice, body="from a socket")
    assert len(threads) == 1 and threads[0] is not threading.main_thread()


def test_nothing_is_queued_without_push_configured(transactional_db, direct, alice, monkeypatch):
    sent = []
    monkeypatch.setattr(queue, "_send", lambda actor, *args: sent.append(actor))
    send(direct, alice)
    assert sent == []


# --- FCM ----------------------------------------------------------------------------


@pytest.fixture
def fcm(settings, tmp_path, push_service, monkeypatch):
    """A service account whose token endpoint and FCM API are the local push service."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    account = tmp_path / "service-account.json"
    account.write_text(json.dumps({
        "type": "service_account", "project_id": "chat-test", "private_key_id": "1",
        "private_key": pem.decode(), "client_email": "push@chat-test.iam.gserviceaccount.com",
        "client_id": "1", "token_uri": f"{push_service.url}/token",
    }))
    settings.PUSH_FCM_CREDENTIALS = str(account)
    settings.PUSH_RETRY_BACKOFF = 0.01
    push_service.bodies[200] = json.dumps({"access_token": "the-oauth-token", "expires_in": 3600}).encode()
    push_service.bodies[404] = json.dumps({"error": {"code": 404, "status": "NOT_FOUND", "details": [
        {"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": "UNREGISTERED"}]}}).encode()
    monkeypatch.setattr(senders, "FCM_URL", push_service.url + "/v1/projects/{project}/messages:send")
    return push_service


def test_a_message_reaches_an_app_through_fcm(fcm, worker, group, alice, bob):
    fcm.statuses = [200, 200]  # the token, then the message
    device = PushDeviceFactory(user=bob, address="bobs-phone:token_1")
    message = send(group, alice, "Hello team")
    worker()
    token_request, push = fcm.wait_for(2)
    assert token_request["path"] == "/token"
    assert push["path"] == "/v1/projects/chat-test/messages:send"
    assert push["headers"]["authorization"] == "Bearer the-oauth-token"
    body = json.loads(push["body"])["message"]
    assert body["token"] == device.address
    assert body["data"]["message_id"] == str(message.id)
    assert body["data"]["seq"] == str(message.seq)
    assert body["data"]["body"] == "Hello team"
    assert body["notification"] == {"title": "Team", "body": f"{alice.display_name}: Hello team"}
    assert body["android"]["ttl"] == "86400s"


def test_an_unregistered_fcm_token_is_removed(fcm, worker, direct, alice, bob):
    fcm.statuses = [200, 404]
    device = PushDeviceFactory(user=bob, address="bobs-old-phone")
    send(direct, alice)
    worker()
    fcm.wait_for(2)
    worker()
    assert not PushDevice.objects.filter(id=device.id).exists()


def test_a_plain_fcm_404_keeps_the_device(fcm, worker, direct, alice, bob):
    fcm.statuses = [200, 404]
    fcm.bodies[404] = b'{"error": {"code": 404, "status": "NOT_FOUND"}}'  # a wrong project, say
    device = PushDeviceFactory(user=bob, address="bobs-phone")
    send(direct, alice)
    worker()
    fcm.wait_for(2)
    worker()
    assert PushDevice.objects.filter(id=device.id).exists()


# --- The queue outlives the web process --------------------------------------------------


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="the durable queue is Redis (the production configuration)")
def test_a_queued_push_waits_in_redis_for_a_worker_started_later(web_push, transactional_db, push_service, subscribe, direct, alice, bob, tmp_path):
    queue.local_worker_stop()
    queue.broker().flush_all()
    bob_browser = subscribe(bob)
    message = send(direct, alice, "kept in Redis")
    # The job is in Redis, not in this process: no worker has run, and this process could die now.
    assert queue.broker().do_qsize(queue.QUEUE) == 1
    time.sleep(0.3)
    assert push_service.requests == []
    log = open(tmp_path / "worker.log", "wb")
    env = dict(
        os.environ, DATABASE_URL=database_url_for_tests(), PUSH_VAPID_PRIVATE_KEY=VAPID_PRIVATE_KEY,
        PUSH_VAPID_SUBJECT="mailto:ops@example.com", PUSH_WORKER_THREADS="2",
    )
    process = subprocess.Popen([sys.executable, "manage.py", "push_worker"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        [request] = push_service.wait_for(1, timeout=30)
    except AssertionError:
        raise AssertionError((tmp_path / "worker.log").read_text())
    finally:
        process.terminate()
        process.wait(timeout=20)
    assert bob_browser.decrypt(request)["message_id"] == str(message.id)
    assert queue.broker().do_qsize(queue.QUEUE) == 0


# --- Who gets a push, and what it says (no I/O) -----------------------------------------


def test_recipients_are_the_members_not_muted_not_blocking_and_not_online():
    now = timezone.now()
    sender, *others = (uuid.uuid4() for _ in range(6))
    muted, muted_until_later, muted_until_earlier, blocking, online_one = others
    members = [
        Member(sender), Member(muted, muted=True), Member(muted_until_later, True, now + timedelta(seconds=1)),
        Member(muted_until_earlier, True, now - timedelta(seconds=1)), Member(blocking), Member(online_one),
    ]
    chosen = push_recipients(
        members, sender_id=sender, online={str(online_one)}, blocked_sender={blocking}, now=now
    )
    assert chosen == [muted_until_earlier]
    unknown = push_recipients(members, sender_id=sender, online=None, blocked_sender=set(), now=now)
    assert unknown == [muted_until_earlier, blocking, online_one]


def test_the_body_excerpt_is_bounded_and_may_be_left_out(settings, direct, alice):
    assert excerpt("one\n\ntwo   three", 100) == "one two three"
    assert excerpt("abcdefghij", 5) == "abcd…"
    assert excerpt("secret", 0) == ""
    message = send(direct, alice, "x" * 500)
    message.refresh_from_db()
    settings.PUSH_BODY_EXCERPT = 120
    assert len(push_payload(message)["body"]) == 120
    settings.PUSH_BODY_EXCERPT = 0
    assert push_payload(message)["body"] == ""


def test_a_payload_stays_under_the_push_services_limit(settings, direct, alice):
    settings.PUSH_BODY_EXCERPT = 1000
    alice.name = "\U0001f600" * 255
    alice.save()
    message = send(direct, alice, "\U0001f600" * 1000)
    message.refresh_from_db()
    payload = push_payload(message)
    assert len(encoded(payload)) <= PAYLOAD_MAX_BYTES
    assert payload["body"].endswith("…")


# --- The device registry over REST ---------------------------------------------------------


def browser_keys() -> dict:
    public = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return {"p256dh": b64url_encode(public), "auth": b64url_encode(os.urandom(16))}


def register(client, **fields):
    return client.post("/api/devices/", fields, format="json")


def test_a_browser_registers_lists_and_removes_its_subscription(web_push, client_for, alice):
    client = client_for(alice)
    keys = browser_keys()
    created = register(client, kind="webpush", endpoint=ENDPOINT, keys=keys)
    assert created.status_code == 201, created.json()
    device = created.json()
    assert device["kind"] == "webpush" and device["endpoint"] == ENDPOINT and device["token"] is None
    again = register(client, kind="webpush", endpoint=ENDPOINT, keys=keys)
    assert again.status_code == 200 and again.json()["id"] == device["id"]
    assert [d["id"] for d in client.get("/api/devices/").json()] == [device["id"]]
    assert client.delete(f"/api/devices/{device['id']}/").status_code == 204
    assert client.get("/api/devices/").json() == []
    assert client.delete(f"/api/devices/{device['id']}/").status_code == 404
    on_443 = register(client, kind="webpush", endpoint="https://fcm.googleapis.com:443/fcm/send/x", keys=keys)
    assert on_443.status_code == 201, "the https port, written out, is the same endpoint's port"


def test_an_address_registered_by_another_user_moves_to_them(web_push, client_for, alice, bob):
    keys = browser_keys()
    first = register(client_for(alice), kind="webpush", endpoint=ENDPOINT, keys=keys).json()
    moved = register(client_for(bob), kind="webpush", endpoint=ENDPOINT, keys=keys)
    assert moved.status_code == 200 and moved.json()["id"] == first["id"]
    assert client_for(alice).get("/api/devices/").json() == []
    assert client_for(alice).delete(f"/api/devices/{first['id']}/").status_code == 404  # not theirs any more
    assert PushDevice.objects.get().user == bob


def test_an_app_registers_its_fcm_token(settings, client_for, alice):
    settings.PUSH_FCM_CREDENTIALS = "/nonexistent/only-read-when-sending.json"
    answer = register(client_for(alice), kind="fcm", token="dGVzdA:APA91b-token_1")
    assert answer.status_code == 201
    assert answer.json()["token"] == "dGVzdA:APA91b-token_1" and answer.json()["endpoint"] is None


@pytest.mark.parametrize("fields, code, field", [
    ({"endpoint": "http://fcm.googleapis.com/fcm/send/x"}, "invalid_endpoint", "endpoint"),
    ({"endpoint": "https://internal.example.com/admin"}, "invalid_endpoint", "endpoint"),
    ({"endpoint": "https://fcm.googleapis.com.evil.example/x"}, "invalid_endpoint", "endpoint"),
    ({"endpoint": "https://user:pw@fcm.googleapis.com/x"}, "invalid_endpoint", "endpoint"),
    ({"endpoint": "https://fcm.googleapis.com:8443/fcm/send/x"}, "invalid_endpoint", "endpoint"),
    ({"endpoint": "https://fcm.googleapis.com:80/fcm/send/x"}, "invalid_endpoint", "endpoint"),
    ({"endpoint": "https://fcm.googleapis.com:99999/fcm/send/x"}, "invalid_endpoint", "endpoint"),
    ({"endpoint": "https://fcm.googleapis.com/" + "x" * 1024}, "invalid", "endpoint"),
    ({"keys": {"p256dh": b64url_encode(b"\x04" + b"\x00" * 64), "auth": b64url_encode(b"a" * 16)}}, "invalid_keys", "keys.p256dh"),
    ({"keys": {"p256dh": "not base64!", "auth": b64url_encode(b"a" * 16)}}, "invalid_keys", "keys.p256dh"),
    ({"keys": {"p256dh": None, "auth": b64url_encode(b"a" * 15)}}, "invalid", "keys.p256dh"),
    ({"keys": "wrong"}, "invalid", "keys.non_field_errors"),
    ({"keys": None}, "invalid", "keys"),
])
def test_a_malformed_subscription_is_refused(web_push, client_for, alice, fields, code, field):
    valid = {"kind": "webpush", "endpoint": ENDPOINT, "keys": browser_keys()}
    answer = register(client_for(alice), **{**valid, **fields})
    assert answer.status_code == 400, answer.json()
    assert answer.json()["code"] == code, answer.json()
    assert field in answer.json()["fields"], answer.json()
    assert not PushDevice.objects.exists()


def test_a_short_auth_secret_is_refused(web_push, client_for, alice):
    keys = {**browser_keys(), "auth": b64url_encode(b"a" * 15)}
    answer = register(client_for(alice), kind="webpush", endpoint=ENDPOINT, keys=keys)
    assert answer.status_code == 400 and answer.json()["code"] == "invalid_keys"


def test_a_malformed_fcm_token_is_refused(settings, client_for, alice):
    settings.PUSH_FCM_CREDENTIALS = "/nonexistent.json"
    for token in ("has spaces", "a" * 1025, "quote\"d"):
        answer = register(client_for(alice), kind="fcm", token=token)
        assert answer.status_code == 400, token


def test_devices_per_user_are_bounded(web_push, client_for, alice):
    web_push.PUSH_MAX_DEVICES_PER_USER = 2
    client = client_for(alice)
    for n in range(2):
        assert register(client, kind="webpush", endpoint=f"{ENDPOINT}{n}", keys=browser_keys()).status_code == 201
    over = register(client, kind="webpush", endpoint=f"{ENDPOINT}x", keys=browser_keys())
    assert over.status_code == 400 and over.json()["code"] == "too_many_devices"
    # Registering one of the two again is not one more.
    again = register(client, kind="webpush", endpoint=f"{ENDPOINT}0", keys=browser_keys())
    assert again.status_code == 200
    assert PushDevice.objects.count() == 2


def test_a_kind_the_server_does_not_send_is_refused(client_for, alice):
    answer = register(client_for(alice), kind="webpush", endpoint=ENDPOINT, keys=browser_keys())
    assert answer.status_code == 400 and answer.json()["code"] == "push_unavailable"
    answer = register(client_for(alice), kind="fcm", token="abc")
    assert answer.status_code == 400 and answer.json()["code"] == "push_unavailable"


def test_the_vapid_key_command_prints_an_env_line_and_the_public_key_as_the_docs_say():
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("push_vapid_keys", stdout=out)
    first, second = out.getvalue().splitlines()
    name, private = first.split("=")
    assert name == "PUSH_VAPID_PRIVATE_KEY" and len(private) == 43 and len(base64.urlsafe_b64decode(private + "=")) == 32
    assert second == f"# public key (GET /api/devices/vapid/): {vapid_public_key(private)}"
    assert len(vapid_public_key(private)) == 87
    operations = (ROOT / "docs" / "operations.md").read_text()
    assert "`PUSH_VAPID_PRIVATE_KEY=<43 characters>`" in operations
    assert "`# public key (GET /api/devices/vapid/): <87 characters>`" in operations


def test_clients_get_the_vapid_public_key(settings, client_for, alice, client):
    assert client_for(alice).get("/api/devices/vapid/").json() == {"public_key": None}
    settings.PUSH_VAPID_PRIVATE_KEY = VAPID_PRIVATE_KEY
    key = client_for(alice).get("/api/devices/vapid/").json()["public_key"]
    assert len(base64.urlsafe_b64decode(key + "=")) == 65
    assert client.get("/api/devices/").status_code == 401


# --- Mentions and notification levels (chat.notify's rule) ---------------------------------
# A mention reaches a member who muted the conversation or chose "mentions", never one who
# chose "none" or blocked the sender; an edit that adds a mention pushes to the newly
# mentioned only; each device's push says whether it is for a mention.


def test_recipients_follow_levels_mutes_and_mentions():
    now = timezone.now()
    sender, muted, mentions_only, nothing, blocking, plain = (uuid.uuid4() for _ in range(6))
    members = [
        Member(sender), Member(muted, muted=True), Member(mentions_only, level="mentions"),
        Member(nothing, level="none"), Member(blocking), Member(plain),
    ]

    def chosen(**mentions):
        return set(push_recipients(
            members, sender_id=sender, online=set(), blocked_sender={blocking}, now=now, **mentions
        ))

    assert chosen() == {plain}
    everyone_mentioned = {muted, mentions_only, nothing, blocking, plain, sender}
    assert chosen(mentioned=everyone_mentioned) == {muted, mentions_only, plain}
    assert chosen(mentions_all=True) == {muted, mentions_only, plain}
    assert chosen(mentioned={muted}) == {muted, plain}


def test_a_mention_is_pushed_through_a_mute_and_marked(web_push, worker, push_service, subscribe, make_user, alice):
    muted, mentions_only, nothing = (make_user() for _ in range(3))
    group = GroupConversationFactory(creator=alice, members=[muted, mentions_only, nothing])
    ConversationMember.objects.filter(conversation=group, user=muted).update(muted=True)
    ConversationMember.objects.filter(conversation=group, user=mentions_only).update(notification_level="mentions")
    ConversationMember.objects.filter(conversation=group, user=nothing).update(notification_level="none")
    browsers = {user: subscribe(user) for user in (muted, mentions_only, nothing)}
    send(group, alice, "plain: nobody")
    send(group, alice, f"<@{muted.id}> <@{mentions_only.id}> <@{nothing.id}> look")
    worker()
    requests = push_service.wait_for(2)
    assert {request["path"] for request in requests} == {browsers[muted].path, browsers[mentions_only].path}
    for request in requests:
        browser = next(b for b in browsers.values() if b.path == request["path"])
        assert browser.decrypt(request)["mentioned"] is True


def test_an_edit_pushes_to_the_newly_mentioned_only(web_push, worker, push_service, subscribe, make_user, alice):
    first, added, blocking = (make_user() for _ in range(3))
    group = GroupConversationFactory(creator=alice, members=[first, added, blocking])
    for user in (first, added, blocking):
        ConversationMember.objects.filter(conversation=group, user=user).update(muted=True)
    BlockFactory(blocker=blocking, blocked=alice)
    browsers = {user: subscribe(user) for user in (first, added, blocking)}
    message = send(group, alice, f"<@{first.id}> look")
    worker()
    assert [r["path"] for r in push_service.wait_for(1)] == [browsers[first].path]
    message_edit(
        conversation_id=group.id, user=alice, message_id=message.id,
        body=f"<@{first.id}> <@{added.id}> <@{blocking.id}> look",
    )
    worker()
    requests = push_service.wait_for(2)
    assert [r["path"] for r in requests] == [browsers[first].path, browsers[added].path]
    pushed = browsers[added].decrypt(requests[1])
    assert pushed["mentioned"] is True
    assert pushed["body"] == f"@{first.name} @{added.name} @{blocking.name} look", "the markup reads as names"
