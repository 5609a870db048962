"""
Outgoing webhooks (chat.webhooks) end to end: subscriptions over REST, events
from the services delivered through the queue to a real HTTPS receiver on
127.0.0.1 (tests/plugins/receivers.py), verified there as docs/webhooks.md
shows, retried, logged, dropped and counted; the outbound rules at subscribe
and at delivery time.
"""

import hashlib
import hmac
import json
import time

import pytest

from chat.conversations.groups import conversation_add_members, conversation_remove_member
from chat.messages.services import message_delete, message_edit
from chat.models import WebhookDelivery, WebhookSubscription
from chat.webhooks.emit import webhook_index_forget
from core import metrics, outbound
from tests.plugins.conversations import send

pytestmark = pytest.mark.django_db


def verify(secret: str, header: str, body: bytes, tolerance: int = 300) -> bool:
    """The receiver's check, as docs/webhooks.md gives it."""
    parts = dict(item.split("=", 1) for item in header.split(","))
    timestamp, signature = parts["t"], parts["v1"]
    if abs(time.time() - int(timestamp)) > tolerance:
        return False
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature)


def counter(metric, **labels) -> float:
    return (metric.labels(**labels) if labels else metric)._value.get()


@pytest.fixture
def fast_retries(settings):
    settings.WEBHOOK_RETRY_BACKOFF = 0.01
    settings.WEBHOOK_RETRY_BACKOFF_MAX = 0.05
    return settings


def subscribe(client, receiver, conversation, path="/hook", **fields):
    response = client.post(
        "/api/webhooks/", {"url": receiver.url(path), "conversation_id": str(conversation.id), **fields}, format="json"
    )
    assert response.status_code == 201, response.json()
    return response.json()


def deliveries(receiver, count, path="/hook"):
    receiver.wait_for(count)
    return [request for request in receiver.requests if request["path"] == path]


# --- Subscribing ------------------------------------------------------------------


def test_the_owner_subscribes_and_sees_the_secret_once(client_for, receiver, group, alice):
    client = client_for(alice)
    created = subscribe(client, receiver, group)
    assert created["secret"].startswith("whsec_") and len(created["secret"]) > 40
    assert created["events"] == ["message.created", "message.edited", "message.deleted", "member.joined", "member.left"]
    assert created["conversation_id"] == str(group.id) and created["member_of_id"] is None and created["active"]
    shown = client.get(f"/api/webhooks/{created['id']}/").json()
    assert "secret" not in shown
    assert [item["id"] for item in client.get("/api/webhooks/").json()] == [created["id"]]
    assert [item["id"] for item in client.get(f"/api/webhooks/?conversation_id={group.id}").json()] == [created["id"]]


def test_members_who_are_not_admins_cannot_subscribe_or_see_subscriptions(client_for, receiver, group, alice, bob):
    created = subscribe(client_for(alice), receiver, group)
    response = client_for(bob).post("/api/webhooks/", {"url": receiver.url("/hook"), "conversation_id": str(group.id)},
                                    format="json")
    assert (response.status_code, response.json()["code"]) == (403, "not_admin")
    assert client_for(bob).get("/api/webhooks/").json() == []
    assert client_for(bob).get(f"/api/webhooks/{created['id']}/").status_code == 404
    assert client_for(bob).delete(f"/api/webhooks/{created['id']}/").status_code == 404


def test_a_direct_conversation_has_no_webhooks(client_for, receiver, direct, alice):
    response = client_for(alice).post(
        "/api/webhooks/", {"url": receiver.url("/hook"), "conversation_id": str(direct.id)}, format="json"
    )
    assert (response.status_code, response.json()["code"]) == (400, "direct_conversation")


@pytest.mark.parametrize(
    "url", ["http://93.184.216.34/hook", "https://10.0.0.5/hook", "https://localhost/hook", "https://[::1]/hook",
            "https://169.254.169.254/latest", "not a url"],
)
def test_a_private_or_plain_http_receiver_is_refused_at_subscribe_time(client_for, receiver, group, alice, url):
    response = client_for(alice).post("/api/webhooks/", {"url": url, "conversation_id": str(group.id)}, format="json")
    assert (response.status_code, response.json()["code"]) == (400, "invalid_url")
    assert not WebhookSubscription.objects.exists()


def test_events_and_target_are_checked(client_for, receiver, group, alice):
    client = client_for(alice)
    bad_events = client.post("/api/webhooks/", {"url": receiver.url("/h"), "conversation_id": str(group.id),
                                                "events": ["message.read"]}, format="json")
    assert (bad_events.status_code, bad_events.json()["code"]) == (400, "invalid_events")
    no_target = client.post("/api/webhooks/", {"url": receiver.url("/h")}, format="json")
    assert (no_target.status_code, no_target.json()["code"]) == (400, "invalid_target")


def test_subscriptions_per_conversation_are_bounded(settings, client_for, receiver, group, alice):
    settings.WEBHOOK_MAX_PER_TARGET = 2
    client = client_for(alice)
    subscribe(client, receiver, group)
    subscribe(client, receiver, group)
    response = client.post("/api/webhooks/", {"url": receiver.url("/h"), "conversation_id": str(group.id)}, format="json")
    assert (response.status_code, response.json()["code"]) == (400, "too_many_webhooks")


@pytest.fixture
def bot(db):
    from useraccount.bots import bot_create

    return bot_create(name="Weather")


def test_only_staff_follow_a_bots_conversations(client_for, receiver, make_user, alice, bot):
    response = client_for(alice).post("/api/webhooks/", {"url": receiver.url("/h"), "member_of_id": str(bot.id)},
                                      format="json")
    assert (response.status_code, response.json()["code"]) == (403, "not_staff")
    staff = make_user("Ops", is_staff=True)
    response = client_for(staff).post("/api/webhooks/", {"url": receiver.url("/h"), "member_of_id": str(bot.id)},
                                      format="json")
    assert response.status_code == 201 and response.json()["member_of_id"] == str(bot.id)


def test_staff_cannot_follow_a_persons_conversations(client_for, receiver, make_user, bob):
    """Following a user is how an integration hears a bot's groups, not a way to read a person's direct messages."""
    staff = make_user("Ops", is_staff=True)
    response = client_for(staff).post("/api/webhooks/", {"url": receiver.url("/h"), "member_of_id": str(bob.id)},
                                      format="json")
    assert (response.status_code, response.json()["code"], list(response.json()["fields"])) == (
        400, "invalid_target", ["member_of_id"])
    assert not WebhookSubscription.objects.exists()


def test_update_pauses_changes_and_rechecks_the_url(client_for, receiver, group, alice):
    client = client_for(alice)
    created = subscribe(client, receiver, group)
    changed = client.patch(f"/api/webhooks/{created['id']}/", {"events": ["member.left"], "active": False}, format="json")
    assert changed.status_code == 200 and changed.json()["events"] == ["member.left"] and not changed.json()["active"]
    refused = client.patch(f"/api/webhooks/{created['id']}/", {"url": "https://127.0.0.2/x"}, format="json")
    assert (refused.status_code, refused.json()["code"]) == (400, "invalid_url")
    assert client.delete(f"/api/webhooks/{created['id']}/").status_code == 204
    assert not WebhookSubscription.objects.exists()


# --- Delivering --------------------------------------------------------------------


def test_a_message_is_delivered_signed_and_the_receiver_verifies_it(jobs, client_for, receiver, group, alice, bob):
    created = subscribe(client_for(alice), receiver, group)
    message = send(group, bob, "Deploy done")
    [request] = deliveries(receiver, 1)
    jobs()
    assert request["method"] == "POST" and request["headers"]["content-type"] == "application/json"
    assert verify(created["secret"], request["headers"]["x-chat-signature"], request["body"])
    assert not verify("whsec_wrong", request["headers"]["x-chat-signature"], request["body"])
    assert not verify(created["secret"], request["headers"]["x-chat-signature"], request["body"] + b" ")
    event = json.loads(request["body"])
    assert event["type"] == "message.created" == request["headers"]["x-chat-event"]
    assert event["id"] == request["headers"]["x-chat-webhook-id"] and request["headers"]["x-chat-attempt"] == "1"
    assert event["conversation_id"] == str(group.id)
    assert event["data"]["message"]["id"] == str(message.id) and event["data"]["message"]["body"] == "Deploy done"
    assert event["data"]["message"]["created_by"]["id"] == str(bob.id)
    [logged] = client_for(alice).get(f"/api/webhooks/{created['id']}/deliveries/").json()
    assert logged["event_id"] == event["id"] and logged["status_code"] == 200 and logged["delivered"]
    assert logged["attempt"] == 1 and logged["error"] == "" and logged["duration_ms"] >= 0


def test_edit_delete_join_and_leave_are_delivered(jobs, client_for, receiver, group, alice, bob, carol, make_user):
    subscribe(client_for(alice), receiver, group)
    message = send(group, bob, "first")
    receiver.wait_for(1)
    message_edit(conversation_id=group.id, user=bob, message_id=message.id, body="first, edited")
    message_delete(conversation_id=group.id, user=bob, message_id=message.id)
    dave = make_user("Dave")
    conversation_add_members(conversation_id=group.id, user=alice, user_ids=[dave.id])
    conversation_remove_member(conversation_id=group.id, user=carol, member_id=carol.id)
    receiver.wait_for(5)
    jobs()
    events = {json.loads(r["body"])["type"]: json.loads(r["body"])["data"] for r in receiver.requests}
    assert set(events) == {"message.created", "message.edited", "message.deleted", "member.joined", "member.left"}
    assert events["message.edited"]["message"]["body"] == "first, edited"
    assert events["message.deleted"]["message"]["deleted"] is True and events["message.deleted"]["message"]["body"] == ""
    assert events["member.joined"] == {"user_id": str(dave.id), "actor_id": str(alice.id)}
    assert events["member.left"] == {"user_id": str(carol.id), "actor_id": str(carol.id)}


def test_only_the_events_subscribed_to_are_delivered(jobs, client_for, receiver, group, alice, bob, carol):
    subscribe(client_for(alice), receiver, group, events=["member.left"])
    send(group, bob, "not delivered")
    conversation_remove_member(conversation_id=group.id, user=carol, member_id=carol.id)
    [request] = receiver.wait_for(1)
    jobs()
    assert len(receiver.requests) == 1 and json.loads(request["body"])["type"] == "member.left"


def test_a_failed_delivery_is_retried_with_backoff_then_succeeds(jobs, fast_retries, client_for, receiver, group, alice, bob):
    created = subscribe(client_for(alice), receiver, group)
    receiver.answer("/hook", status=500)
    receiver.answer("/hook", status=503)
    send(group, bob, "retry me")
    first, second, third = deliveries(receiver, 3)
    jobs()
    assert [r["status"] for r in (first, second, third)] == [500, 503, 200]
    assert [r["headers"]["x-chat-attempt"] for r in (first, second, third)] == ["1", "2", "3"]
    assert len({r["headers"]["x-chat-webhook-id"] for r in (first, second, third)}) == 1
    assert first["body"] == third["body"]
    log = client_for(alice).get(f"/api/webhooks/{created['id']}/deliveries/").json()
    assert [(row["attempt"], row["status_code"], row["delivered"], row["error"]) for row in log] == [
        (3, 200, True, ""), (2, 503, False, "answered 503"), (1, 500, False, "answered 500"),
    ]


def test_a_delivery_that_keeps_failing_is_dropped_and_counted(jobs, fast_retries, client_for, receiver, group, alice, bob):
    fast_retries.WEBHOOK_MAX_ATTEMPTS = 3
    subscribe(client_for(alice), receiver, group)
    for _ in range(5):
        receiver.answer("/hook", status=500)
    dropped = counter(metrics.WEBHOOK_DROPPED, reason="gave_up")
    send(group, bob, "never accepted")
    deliveries(receiver, 3)
    jobs()
    assert len(receiver.requests) == 3
    assert counter(metrics.WEBHOOK_DROPPED, reason="gave_up") == dropped + 1


def test_a_name_that_resolves_to_a_private_address_at_delivery_is_refused(jobs, client_for, receiver, group, alice, bob, monkeypatch):
    """DNS rebinding: public when subscribed, 127.0.0.1 (not allow-listed as this name) when delivered."""
    real_resolve = outbound.resolve
    monkeypatch.setattr(outbound, "resolve", lambda host, port: ["93.184.216.34"] if host == "receiver.test" else real_resolve(host, port))
    response = client_for(alice).post(
        "/api/webhooks/", {"url": receiver.url("/hook", host="receiver.test"), "conversation_id": str(group.id)},
        format="json",
    )
    assert response.status_code == 201
    monkeypatch.setattr(outbound, "resolve", lambda host, port: ["127.0.0.1"] if host == "receiver.test" else real_resolve(host, port))
    refused = counter(metrics.WEBHOOK_DROPPED, reason="refused")
    send(group, bob, "to a rebound name")
    jobs()
    jobs()
    assert receiver.requests == []
    [row] = WebhookDelivery.objects.all()
    assert row.status_code is None and not row.delivered and row.error.startswith("refused:") and row.attempt == 1
    assert counter(metrics.WEBHOOK_DROPPED, reason="refused") == refused + 1


def test_a_rotated_secret_signs_the_next_deliveries(jobs, client_for, receiver, group, alice, bob):
    client = client_for(alice)
    created = subscribe(client, receiver, group)
    rotated = client.post(f"/api/webhooks/{created['id']}/secret/").json()
    assert rotated["secret"] != created["secret"] and rotated["secret_rotated_at"]
    send(group, bob, "after rotation")
    [request] = deliveries(receiver, 1)
    jobs()
    assert verify(rotated["secret"], request["headers"]["x-chat-signature"], request["body"])
    assert not verify(created["secret"], request["headers"]["x-chat-signature"], request["body"])


def test_the_log_keeps_the_newest_rows(jobs, settings, client_for, receiver, group, alice, bob):
    settings.WEBHOOK_LOG_ROWS = 2
    created = subscribe(client_for(alice), receiver, group)
    for n in range(4):
        send(group, bob, f"message {n}")
    receiver.wait_for(4)
    jobs()
    log = client_for(alice).get(f"/api/webhooks/{created['id']}/deliveries/").json()
    bodies = [json.loads(r["body"]) for r in receiver.requests]
    # Four deliveries on parallel worker threads: the two logged last are kept, newest first.
    assert len(log) == 2 == WebhookDelivery.objects.count()
    assert {row["event_id"] for row in log} < {body["id"] for body in bodies}
    assert log[0]["created_at"] >= log[1]["created_at"]


def test_a_bots_subscription_follows_the_conversations_it_is_in(jobs, client_for, receiver, make_user, group, direct, alice, bob, bot):
    staff = make_user("Ops", is_staff=True)
    response = client_for(staff).post("/api/webhooks/", {"url": receiver.url("/bot"), "member_of_id": str(bot.id)},
                                      format="json")
    assert response.status_code == 201
    send(group, alice, "the bot is not here yet")
    conversation_add_members(conversation_id=group.id, user=alice, user_ids=[bot.id])
    send(direct, alice, "the bot is not here")
    send(group, alice, "the bot is here")
    conversation_remove_member(conversation_id=group.id, user=alice, member_id=bot.id)
    send(group, alice, "the bot has left")
    receiver.wait_for(3)
    jobs()
    seen = [(json.loads(r["body"])["type"], json.loads(r["body"])["data"].get("message", {}).get("body")) for r in receiver.requests]
    # Worker threads deliver side by side: in any order (docs/webhooks.md), so compare them sorted.
    assert sorted(seen, key=str) == sorted(
        [("member.joined", None), ("message.created", "the bot is here"), ("member.left", None)], key=str
    )


def test_a_paused_or_deleted_subscription_gets_nothing(jobs, client_for, receiver, group, alice, bob):
    client = client_for(alice)
    created = subscribe(client, receiver, group)
    client.patch(f"/api/webhooks/{created['id']}/", {"active": False}, format="json")
    send(group, bob, "while paused")
    jobs()
    assert receiver.requests == []
    client.patch(f"/api/webhooks/{created['id']}/", {"active": True}, format="json")
    send(group, bob, "resumed")
    receiver.wait_for(1)
    jobs()
    assert json.loads(receiver.requests[0]["body"])["data"]["message"]["body"] == "resumed"


def test_a_conversation_without_webhooks_queues_nothing(jobs, client_for, receiver, group, direct, alice, bob, monkeypatch):
    from chat.push import queue

    subscribe(client_for(alice), receiver, group)
    webhook_index_forget()
    send(group, bob, "loads the index")
    receiver.wait_for(1)
    jobs()
    sent = []
    monkeypatch.setattr(queue, "job_send", lambda *args, **kwargs: sent.append(args))
    monkeypatch.setattr("chat.webhooks.emit.job_send", lambda *args, **kwargs: sent.append(args))
    send(direct, bob, "no webhook here")
    assert sent == []


# --- Who keeps receiving -----------------------------------------------------------


def test_an_admins_subscription_stops_when_they_are_demoted_or_leave(jobs, client_for, receiver, group, alice, bob, carol):
    from chat.conversations.groups import conversation_set_role

    conversation_set_role(conversation_id=group.id, user=alice, member_id=bob.id, role="admin")
    conversation_set_role(conversation_id=group.id, user=alice, member_id=carol.id, role="admin")
    by_bob = subscribe(client_for(bob), receiver, group, path="/bob")
    subscribe(client_for(carol), receiver, group, path="/carol")
    send(group, alice, "while both are admins")
    receiver.wait_for(2)
    jobs()
    conversation_set_role(conversation_id=group.id, user=alice, member_id=bob.id, role="member")
    conversation_remove_member(conversation_id=group.id, user=carol, member_id=carol.id)
    send(group, alice, "after")
    jobs()
    bodies = {path: [json.loads(r["body"])["data"].get("message", {}).get("body") for r in receiver.to(path)]
              for path in ("/bob", "/carol")}
    # Bob, a member again, and Carol, gone, hear nothing more of the group through what they set up.
    assert bodies == {"/bob": ["while both are admins"], "/carol": ["while both are admins"]}
    # The owner still sees Bob's subscription, to delete it.
    assert by_bob["id"] in [item["id"] for item in client_for(alice).get("/api/webhooks/").json()]


def test_a_staff_members_subscription_stops_when_they_are_no_longer_staff(jobs, client_for, receiver, make_user, group, alice, bot):
    staff = make_user("Ops", is_staff=True)
    response = client_for(staff).post("/api/webhooks/", {"url": receiver.url("/bot"), "member_of_id": str(bot.id)},
                                      format="json")
    assert response.status_code == 201
    conversation_add_members(conversation_id=group.id, user=alice, user_ids=[bot.id])
    send(group, alice, "while staff")
    receiver.wait_for(2)
    jobs()
    staff.is_staff = False
    staff.save(update_fields=["is_staff"])
    send(group, alice, "no longer staff")
    jobs()
    bodies = [json.loads(r["body"])["data"].get("message", {}).get("body") for r in receiver.to("/bot")]
    # The bot's member.joined and the message (workers deliver side by side: in either order), and nothing after.
    assert sorted(bodies, key=lambda body: body or "") == [None, "while staff"]
