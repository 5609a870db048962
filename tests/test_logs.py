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

from tests.conftest import access_token, free_port, http_request

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
    lines = [json.loads(line) for line in server.log().splitlines() if line.startswith("{")]
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


def test_a_server_error_reaches_sentry_without_the_token(start_server, fake_sentry, alice):
    server = start_server(
        SENTRY_DSN=f"http://publickey@127.0.0.1:{fake_sentry}/1", SENTRY_ENVIRONMENT="ci",
        DATABASE_URL=f"postgres://postgres@127.0.0.1:{free_port()}/nothing", DATABASE_POOL="0", REDIS_URL="",
    )
    secret = access_token(alice)  # valid, so the server looks its user up in the database it cannot reach
    status, _ = get(f"{server.http}/api/auth/me/?token={secret}", Authorization=f"Bearer {secret}")
    assert status == 500
    assert wait_for(lambda: any("OperationalError" in body for body in FakeSentry.received)), server.log()[-600:] + str(FakeSentry.received)[:1500]
    events = "\n".join(FakeSentry.received)
    assert '"environment":"ci"' in events.replace(" ", "")
    assert secret not in events
    assert "[Filtered]" in events


def test_without_a_dsn_nothing_is_sent(start_server, fake_sentry, alice):
    server = start_server(DATABASE_URL=f"postgres://postgres@127.0.0.1:{free_port()}/nothing", DATABASE_POOL="0",
                          REDIS_URL="")
    assert get(f"{server.http}/api/auth/me/", Authorization=f"Bearer {access_token(alice)}")[0] == 500
    time.sleep(1)
    assert FakeSentry.received == []
