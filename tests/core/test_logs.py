"""
Logs an operator can read: one line per event, JSON lines on request, the
request or socket id on each, no token; and Sentry events when SENTRY_DSN is
set, received by a stand-in Sentry server and read back.
"""

import gzip
import http.server
import json
import threading
import time

import pytest

from tests.plugins.servers import http_request
from tests.plugins.users import access_token

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.live]


def get(url: str, **headers):
    """The status and the (case-insensitive) headers of a GET."""
    answer = http_request(url, headers=headers)
    return answer.status, answer.headers


def wait_for(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def test_json_lines_once_each_with_the_request_id(start_server):
    server = start_server(DJANGO_LOG_FORMAT="json")
    status, headers = get(f"{server.http}/metrics", **{"X-Request-ID": "support-ticket-42", "X-Forwarded-For": "x"})
    assert status == 200 and headers["X-Request-ID"] == "support-ticket-42"
    status, headers = get(f"{server.http}/api/auth/me/")
    assert status == 401
    generated = headers["X-Request-ID"]
    assert len(generated) == 32
    assert wait_for(lambda: generated in server.log())
    lines = [json.loads(line) for line in server.log().splitlines()]  # every line, Python's warnings included
    unauthorized = [line for line in lines if line.get("request_id") == generated]
    assert [line["message"] for line in unauthorized].count("Unauthorized: /api/auth/me/") == 1, unauthorized
    assert {"time", "level", "logger", "message", "socket_id"} <= set(unauthorized[0])
    # Tokens stay out of every field, Django's request repr included.
    status, headers = get(f"{server.http}/api/auth/me/?token=abc.def.ghi-secret")
    assert wait_for(lambda: headers["X-Request-ID"] in server.log())
    time.sleep(0.3)
    assert "ghi-secret" not in server.log()
    # A bad id from outside is replaced, not logged as sent.
    assert get(f"{server.http}/health/live", **{"X-Request-ID": "x" * 65})[1]["X-Request-ID"] != "x" * 65


def after_setup(script: str, **env):
    """What a fresh interpreter prints running ``script`` after django.setup(), with ``env`` set."""
    import os
    import subprocess
    import sys

    from tests import ROOT

    result = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {script}"], cwd=ROOT, capture_output=True,
        text=True, timeout=60, env={**os.environ, "DJANGO_SETTINGS_MODULE": "backend.settings", **env},
    )
    assert result.returncode == 0, result.stderr
    return result


@pytest.mark.parametrize("level, number", [("ERROR", 40), ("DEBUG", 10), ("warning", 30)])
def test_the_log_level_applies_to_djangos_loggers_too(level, number):
    names = ("", "django", "django.request", "django.server", "chat.access")
    script = f"import json, logging; print(json.dumps([logging.getLogger(n).getEffectiveLevel() for n in {names}]))"
    assert set(json.loads(after_setup(script, DJANGO_LOG_LEVEL=level).stdout)) == {number}


def test_python_warnings_are_log_lines_too():
    result = after_setup("import warnings; warnings.warn('the old way is going away', DeprecationWarning)",
                         DJANGO_LOG_FORMAT="json", PYTHONWARNINGS="default")
    lines = [json.loads(line) for line in result.stderr.splitlines()]
    assert [(line["logger"], line["level"]) for line in lines] == [("py.warnings", "WARNING")]
    assert "DeprecationWarning: the old way is going away" in lines[0]["message"]


async def test_each_socket_and_request_logs_under_its_own_id():
    import logging

    from core.logs import ContextFilter, LogContextMiddleware

    records = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(record)

    handler = Keep()
    handler.addFilter(ContextFilter())
    log = logging.getLogger("tests.log_context")
    log.addHandler(handler)
    log.setLevel(logging.INFO)

    async def app(scope, receive, send):
        log.info("inside %s", scope["type"])

    async def nothing(*args):
        return None

    try:
        wrapped = LogContextMiddleware(app)
        for _ in range(2):
            await wrapped({"type": "websocket", "headers": []}, nothing, nothing)
        await wrapped({"type": "http", "headers": [(b"x-request-id", b"abc-1")]}, nothing, nothing)
    finally:
        log.removeHandler(handler)
    first, second, request = records
    assert first.socket_id != "-" and second.socket_id != "-" and first.socket_id != second.socket_id
    assert request.request_id == "abc-1"


class FakeSentry(http.server.BaseHTTPRequestHandler):
    """Accepts Sentry envelopes and keeps their decoded bodies."""

    received: list[str] = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        FakeSentry.received.append(body.decode("utf-8", "replace"))
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


@pytest.fixture
def fake_sentry():
    FakeSentry.received = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), FakeSentry)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def database_without_tables(tmp_path) -> str:
    """
    A database on which every query fails, for server errors: an unreachable
    one is a 503 instead, logged once per outage (core.outages), not sent.
    """
    return f"sqlite:///{tmp_path / 'no-tables.sqlite3'}"


def test_a_server_error_reaches_sentry_without_the_token(start_server, fake_sentry, alice, tmp_path):
    server = start_server(
        SENTRY_DSN=f"http://publickey@127.0.0.1:{fake_sentry}/1", SENTRY_ENVIRONMENT="ci",
        DATABASE_URL=database_without_tables(tmp_path), REDIS_URL="",
    )
    secret = access_token(alice)  # valid, so the server looks its user up in a database that fails
    status, _ = get(f"{server.http}/api/auth/me/?token={secret}", Authorization=f"Bearer {secret}")
    assert status == 500
    assert wait_for(lambda: any("OperationalError" in body for body in FakeSentry.received)), server.log()[-600:] + str(FakeSentry.received)[:1500]
    events = "\n".join(FakeSentry.received)
    assert '"environment":"ci"' in events.replace(" ", "")
    assert secret not in events
    assert "[Filtered]" in events


def test_a_failed_register_or_login_reaches_sentry_without_the_password_or_the_email(start_server, fake_sentry, tmp_path):
    server = start_server(
        SENTRY_DSN=f"http://publickey@127.0.0.1:{fake_sentry}/1",
        DATABASE_URL=database_without_tables(tmp_path), REDIS_URL="",
    )
    password, email = "Tr0ub4dor-and-3-horses", "someone.private@example.org"
    register = {"email": email, "password1": password, "password2": password, "name": "Someone"}
    assert http_request(f"{server.http}/api/auth/register/", data=register).status == 500
    assert http_request(f"{server.http}/api/auth/login/", data={"email": email, "password": password}).status == 500
    assert wait_for(lambda: sum("OperationalError" in body for body in FakeSentry.received) >= 2), server.log()[-600:]
    events = "\n".join(FakeSentry.received)
    assert "/api/auth/register/" in events and "/api/auth/login/" in events
    assert password not in events
    assert email not in events and "someone.private" not in events


def test_without_a_dsn_nothing_is_sent(start_server, fake_sentry, alice, tmp_path):
    server = start_server(DATABASE_URL=database_without_tables(tmp_path), REDIS_URL="")
    assert get(f"{server.http}/api/auth/me/", Authorization=f"Bearer {access_token(alice)}")[0] == 500
    time.sleep(1)
    assert FakeSentry.received == []
