"""
A secure deploy by default: with debug off, Django's deploy check is clean,
plain HTTP is redirected (but not health checks and metrics), cookies are
Secure and HSTS is sent; HTTPS is believed from trusted proxies only.
"""

import os
import subprocess
import sys
import time

import pytest

from tests import ROOT
from tests.plugins.servers import http_request

PRODUCTION = {
    "DJANGO_DEBUG": "0",
    "DJANGO_SECRET_KEY": "deploy-check-" + "k3y-" * 12,
    "DJANGO_ALLOWED_HOSTS": "chat.example.com,127.0.0.1",
}


def deploy_check(**env) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, env={**os.environ, **PRODUCTION, **env},
    )


def test_the_deploy_check_is_clean_in_production():
    result = deploy_check()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_turning_https_off_is_what_the_check_warns_about():
    result = deploy_check(DJANGO_HTTPS="0")
    assert result.returncode != 0
    for warning in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert warning in result.stderr


def test_leaving_the_redirect_to_the_proxy_passes_the_check():
    result = deploy_check(DJANGO_SECURE_SSL_REDIRECT="0")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "security.W008" not in result.stdout + result.stderr


def fetch(url: str, **headers) -> tuple[int, dict]:
    answer = http_request(url, headers={"Host": "chat.example.com", **headers}, redirects=False)
    return answer.status, dict(answer.headers)


@pytest.mark.live
@pytest.mark.django_db(transaction=True)
def test_a_production_server_redirects_to_https_but_not_its_probes(start_server):
    server = start_server(**PRODUCTION, TRUSTED_PROXIES="127.0.0.1")
    status, headers = fetch(f"{server.http}/api/")
    assert (status, headers["Location"]) == (301, "https://chat.example.com/api/")
    assert fetch(f"{server.http}/health/ready")[0] == 200
    assert fetch(f"{server.http}/health/live")[0] == 200
    assert fetch(f"{server.http}/metrics")[0] == 200
    # Probes and scrapers that address the container by IP are answered; nobody else is.
    container = {"Host": "172.18.0.5:8000"}
    assert fetch(f"{server.http}/health/ready", **container)[0] == 200
    assert fetch(f"{server.http}/health/live", **container)[0] == 200
    assert fetch(f"{server.http}/metrics", **container)[0] == 200
    assert fetch(f"{server.http}/api/", **container)[0] == 400
    assert fetch(f"{server.http}/api/", **container, **{"X-Forwarded-Proto": "https"})[0] == 400
    # Through the TLS proxy: served, and browsers are told to stay on HTTPS.
    status, headers = fetch(f"{server.http}/api/", **{"X-Forwarded-Proto": "https"})
    assert status == 200
    assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


@pytest.mark.live
@pytest.mark.django_db(transaction=True)
def test_only_a_trusted_proxy_can_say_the_request_was_https(start_server):
    server = start_server(**PRODUCTION)  # no TRUSTED_PROXIES
    assert fetch(f"{server.http}/api/", **{"X-Forwarded-Proto": "https"})[0] == 301


# --- The container entrypoint -------------------------------------------------------


def run(command: list[str], **env) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={**os.environ, **env})


def test_waiting_for_a_database_that_is_not_up_gives_up_with_the_reason():
    from tests.plugins.servers import free_port

    started = time.monotonic()
    result = run([sys.executable, "manage.py", "wait_for_database", "--timeout", "2"],
                 DATABASE_URL=f"postgres://postgres@127.0.0.1:{free_port()}/chat")
    assert result.returncode == 1
    assert "Waiting for the database" in result.stderr
    assert "still unavailable after 2 s" in result.stderr and "Connection refused" in result.stderr
    assert time.monotonic() - started < 30


@pytest.mark.django_db
def test_a_database_that_refuses_fails_at_once_with_its_words():
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("a refusal needs a PostgreSQL server: the PostgreSQL pass runs it")
    from tests.plugins.database import database_url_for_tests

    wrong = database_url_for_tests().rsplit("/", 1)[0] + "/no_such_database_here"
    started = time.monotonic()
    result = run([sys.executable, "manage.py", "wait_for_database", "--timeout", "60"], DATABASE_URL=wrong)
    assert result.returncode == 1
    assert 'database "no_such_database_here" does not exist' in result.stderr
    assert "Waiting" not in result.stderr
    assert time.monotonic() - started < 20, "no waiting for a setting waiting cannot fix"


def test_the_entrypoint_stops_at_once_on_a_bad_setting():
    path = f"{os.path.dirname(sys.executable)}{os.pathsep}{os.environ['PATH']}"  # "python" is the image's
    result = run(["sh", "docker-entrypoint.sh", "true"], DJANGO_DEBUG="0", DJANGO_SECRET_KEY="", PATH=path)
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr
    assert "Waiting for the database" not in result.stderr


def test_the_entrypoint_stops_at_once_on_a_failing_system_check():
    path = f"{os.path.dirname(sys.executable)}{os.pathsep}{os.environ['PATH']}"
    result = run(["sh", "docker-entrypoint.sh", "true"], PUSH_VAPID_PRIVATE_KEY="a-key", PUSH_VAPID_SUBJECT="", PATH=path)
    assert result.returncode != 0
    assert "(chat.E002) PUSH_VAPID_SUBJECT" in result.stderr
    assert "Waiting for the database" not in result.stderr
