"""
/health/live and /health/ready (core.health): readiness means the database
and Redis answer in time, tried against real servers with a dependency
missing or hanging.
"""

import json
import os
import time

import pytest

from tests.plugins.servers import free_port, http_request

pytestmark = pytest.mark.django_db(transaction=True)


def get(url: str) -> tuple[int, dict, float]:
    started = time.monotonic()
    answer = http_request(url)
    return answer.status, answer.json(), time.monotonic() - started


def test_live_and_ready_answer_when_all_is_well(client, settings):
    live = client.get("/health/live")
    assert (live.status_code, live.json()) == (200, {"status": "ok"})
    ready = client.get("/health/ready")
    expected = {"database": "ok", **({"redis": "ok"} if settings.REDIS_URL else {})}
    assert (ready.status_code, ready.json()) == (200, {"status": "ok", "checks": expected})
    assert ready["Cache-Control"] == "no-store"
    assert client.get("/health/").json() == ready.json(), "the old path is readiness"
    assert client.post("/health/ready").status_code == 405


def test_probes_and_scrapers_may_address_the_server_by_its_ip(client, settings):
    settings.ALLOWED_HOSTS = ["chat.example.com"]
    container = {"HTTP_HOST": "172.18.0.5:8000", "REMOTE_ADDR": "127.0.0.1"}
    assert client.get("/health/live", **container).status_code == 200
    assert client.get("/health/ready", **container).status_code == 200
    assert client.get("/health/", **container).status_code == 200
    assert client.get("/metrics", **container).status_code == 200
    assert client.post("/health/live", **container).status_code == 405
    # Every other path still checks the host.
    assert client.get("/api/", **container).status_code == 400
    assert client.get("/health/nothing", **container).status_code == 400
    assert client.get("/api/", HTTP_HOST="chat.example.com").status_code == 200


@pytest.mark.live
def test_ready_fails_while_redis_is_unreachable_and_live_does_not(start_server):
    server = start_server(REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")
    status, body, _ = get(f"{server.http}/health/ready")
    assert status == 503
    assert body["status"] == "unavailable"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["redis"].startswith("failed: ")
    assert get(f"{server.http}/health/live")[:2] == (200, {"status": "ok"})
    assert "Readiness check: redis failed" in server.log()


@pytest.mark.live
def test_ready_answers_in_time_when_redis_hangs(start_server, silent_port):
    server = start_server(REDIS_URL=f"redis://127.0.0.1:{silent_port}/0", HEALTH_CHECK_TIMEOUT="1")
    status, body, took = get(f"{server.http}/health/ready")
    assert status == 503
    assert body["checks"]["redis"] == "failed: no answer within 1 s"
    assert took < 5


@pytest.mark.live
def test_ready_fails_while_the_database_is_unreachable(start_server):
    server = start_server(DATABASE_URL=f"postgres://postgres@127.0.0.1:{free_port()}/chat", REDIS_URL="")
    status, body, _ = get(f"{server.http}/health/ready")
    # Refused at once; with the connection pool the check waits for the pool's retries and times out.
    assert status == 503 and list(body["checks"]) == ["database"]
    assert body["checks"]["database"] in ("failed: OperationalError", "failed: no answer within 2 s")
    assert "127.0.0.1" not in json.dumps(body), "driver messages stay in the log"
    assert get(f"{server.http}/health/live")[0] == 200


@pytest.mark.live
def test_a_hung_database_holds_one_thread_however_often_it_is_probed(start_server, silent_port):
    server = start_server(
        DATABASE_URL=f"postgres://postgres@127.0.0.1:{silent_port}/chat", REDIS_URL="", HEALTH_CHECK_TIMEOUT="1",
    )
    status, body, took = get(f"{server.http}/health/ready")
    assert (status, body["checks"]["database"]) == (503, "failed: no answer within 1 s")
    assert took < 5
    again = get(f"{server.http}/health/ready")
    assert again[1]["checks"]["database"] == "failed: no answer within 1 s (the previous check has not returned)"
    assert again[2] < 1, "it does not wait on a check already stuck"


@pytest.mark.live
def test_the_container_health_check_follows_readiness(start_server):
    import subprocess
    import sys

    from tests import ROOT

    def check(server) -> int:
        env = dict(os.environ, PORT=str(server.port), DJANGO_ALLOWED_HOSTS=".example.com,localhost")
        return subprocess.run([sys.executable, "scripts/healthcheck.py"], cwd=ROOT, env=env,
                              capture_output=True, timeout=30).returncode

    assert check(start_server(DJANGO_ALLOWED_HOSTS=".example.com,localhost")) == 0
    assert check(start_server(DJANGO_ALLOWED_HOSTS=".example.com,localhost",
                              REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")) == 1
