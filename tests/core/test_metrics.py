"""
/metrics (core.metrics): who may read it, that the counters move with what
happens on the sockets and REST, and that several server processes sharing
PROMETHEUS_MULTIPROC_DIR answer for each other.
"""

import asyncio
import json
import os
import urllib.request

import pytest
from prometheus_client import REGISTRY
from websockets.asyncio.client import connect

from tests.plugins.sockets import expect_close, receive, room
from tests.plugins.users import access_token

pytestmark = pytest.mark.django_db(transaction=True)


def sample(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


class Deltas:
    """Metric values now, to compare with later."""

    def __init__(self, *series):
        self.series = series
        self.before = {key: sample(key[0], **dict(key[1:])) for key in series}

    def __getitem__(self, key) -> float:
        return sample(key[0], **dict(key[1:])) - self.before[key]


def series(name: str, **labels) -> tuple:
    return (name, *sorted(labels.items()))


def test_metrics_are_served_to_this_host_and_refused_to_others(client):
    answer = client.get("/metrics", REMOTE_ADDR="127.0.0.1")
    assert answer.status_code == 200
    assert answer["Content-Type"].startswith("text/plain; version=")
    assert "# TYPE chat_sockets_open gauge" in answer.content.decode()
    assert "# TYPE chat_send_seconds histogram" in answer.content.decode()
    refused = client.get("/metrics", REMOTE_ADDR="203.0.113.9")
    assert (refused.status_code, refused.json()["code"]) == (403, "forbidden")
    assert client.get("/metrics", REMOTE_ADDR="::1").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="::ffff:127.0.0.1").status_code == 200, "IPv4 on a dual-stack listener"
    assert client.get("/metrics", REMOTE_ADDR="::ffff:203.0.113.9").status_code == 403
    assert client.get("/metrics", REMOTE_ADDR="unknown").status_code == 403, "a client a proxy could not tell"


def test_a_token_admits_from_anywhere_and_networks_are_a_setting(client, settings):
    import ipaddress

    settings.METRICS_TOKEN = "s3cret-scrape-token"
    settings.METRICS_ALLOWED_NETWORKS = (ipaddress.ip_network("10.0.0.0/8"),)
    assert client.get("/metrics", REMOTE_ADDR="203.0.113.9", HTTP_AUTHORIZATION="Bearer s3cret-scrape-token").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="203.0.113.9", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 403, "this host is no longer listed"
    assert client.get("/metrics", REMOTE_ADDR="10.2.3.4").status_code == 200
    assert client.post("/metrics", REMOTE_ADDR="10.2.3.4").status_code == 405


def test_a_bad_network_list_fails_loudly(monkeypatch):
    from django.core.exceptions import ImproperlyConfigured

    from core.env import Env, networks

    monkeypatch.setenv("METRICS_ALLOWED_NETWORKS", "10.0.0.0/8, office")
    with pytest.raises(ImproperlyConfigured, match="METRICS_ALLOWED_NETWORKS"):
        Env()("METRICS_ALLOWED_NETWORKS", cast=networks, default="")
    monkeypatch.setenv("METRICS_ALLOWED_NETWORKS", "")
    assert Env()("METRICS_ALLOWED_NETWORKS", cast=networks, default="127.0.0.0/8") == ()


async def test_socket_counters_follow_what_happens(alice, bob, carol, direct, settings):
    settings.SOCKET_RATE_LIMITS = {**settings.SOCKET_RATE_LIMITS, "message": "2/10s"}
    watch = Deltas(
        series("chat_sockets_open", kind="rich"), series("chat_socket_connects_total", kind="rich"),
        series("chat_messages_saved_total"), series("chat_send_seconds_count"),
        series("chat_message_deliveries_total", kind="rich"), series("chat_socket_server_closes_total", code="4403"),
        series("chat_rate_limited_total", limit="socket_message"), series("chat_catch_up_pages_total"),
    )
    async with room(direct, alice) as a, room(direct, bob, after=0) as b:
        assert watch[series("chat_sockets_open", kind="rich")] == 2
        await a.send_json_to({"type": "message.send", "body": "one"})
        await a.send_json_to({"type": "message.send", "body": "two"})
        await a.send_json_to({"type": "message.send", "body": "three"})
        assert [(await receive(b))["body"] for _ in range(2)] == ["one", "two"]
        frames = [await receive(a) for _ in range(3)]  # the refusal may overtake the broadcasts
        assert [frame["body"] for frame in frames if frame["type"] == "chat.message"] == ["one", "two"]
        assert [frame["code"] for frame in frames if frame["type"] == "error"] == ["throttled"]
    async with room(direct, carol) as refused:
        await expect_close(refused, 4403)
    assert watch[series("chat_sockets_open", kind="rich")] == 0
    assert watch[series("chat_socket_connects_total", kind="rich")] == 2
    assert watch[series("chat_messages_saved_total")] == 2
    assert watch[series("chat_send_seconds_count")] == 2
    assert watch[series("chat_message_deliveries_total", kind="rich")] == 4
    assert watch[series("chat_socket_server_closes_total", code="4403")] == 1
    assert watch[series("chat_rate_limited_total", limit="socket_message")] == 1
    assert watch[series("chat_catch_up_pages_total")] >= 1


def test_rest_rate_limits_and_redis_failures_are_counted(client, settings):
    from core.outages import REDIS

    watch = Deltas(series("chat_rate_limited_total", limit="rest_login_ip"), series("chat_redis_errors_total"))
    current = settings.REST_FRAMEWORK
    settings.REST_FRAMEWORK = {**current, "DEFAULT_THROTTLE_RATES": {
        **current["DEFAULT_THROTTLE_RATES"], "login_ip": "1/min", "login_email": "off",
    }}
    body = {"email": "nobody@example.com", "password": "wrong-password"}
    assert client.post("/api/auth/login/", body, content_type="application/json").status_code == 400
    assert client.post("/api/auth/login/", body, content_type="application/json").status_code == 429
    assert watch[series("chat_rate_limited_total", limit="rest_login_ip")] == 1
    REDIS.failed(ConnectionError("refused"))
    REDIS.succeeded()
    assert watch[series("chat_redis_errors_total")] == 1


def scrape(server) -> dict[str, float]:
    with urllib.request.urlopen(f"{server.http}/metrics", timeout=10) as response:
        text = response.read().decode()
    values = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            values[name] = float(value)
    return values


@pytest.mark.live
async def test_processes_sharing_a_metrics_folder_answer_for_each_other(start_server, tmp_path, alice, direct):
    shared = {"PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics")}
    os.mkdir(shared["PROMETHEUS_MULTIPROC_DIR"])
    first, second = start_server(**shared), start_server(**shared)
    token = access_token(alice)
    request = urllib.request.Request(
        f"{first.http}/api/chat/{direct.id}/messages/", data=json.dumps({"body": "hi"}).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    await asyncio.to_thread(urllib.request.urlopen, request, timeout=10)
    async with connect(f"{first.ws}/ws/chat/{direct.id}/?token={token}"):
        await asyncio.sleep(0.5)
        seen = await asyncio.to_thread(scrape, second)
        assert seen['chat_messages_saved_total'] == 1
        assert seen['chat_sockets_open{kind="rich"}'] == 1
    await asyncio.sleep(0.5)
    assert (await asyncio.to_thread(scrape, second))['chat_sockets_open{kind="rich"}'] == 0
    async with connect(f"{first.ws}/ws/chat/{direct.id}/?token={token}"):
        await asyncio.sleep(0.5)
        assert (await asyncio.to_thread(scrape, second))['chat_sockets_open{kind="rich"}'] == 1
        first.process.kill()  # a crash: no clean close, no exit hook
        await asyncio.to_thread(first.process.wait, 10)
    after = await asyncio.to_thread(scrape, second)
    assert after.get('chat_sockets_open{kind="rich"}', 0) == 0, "a process that died stops counting its sockets"
    assert after["chat_messages_saved_total"] == 1, "its counts stay"
