"""
Shared fixtures: users, authenticated API clients, WebSocket communicators
against the real ASGI application, and real daphne server processes.
"""

import functools
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from contextlib import asynccontextmanager
from pathlib import Path
from typing import NamedTuple

import pytest
from channels.testing import WebsocketCommunicator
from django.db import connection
from rest_framework.test import APIClient

from backend.asgi import application
from backend.asyncdb import close_loop_connections
from useraccount.models import User
from rest_framework_simplejwt.tokens import AccessToken

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "correct-horse-battery-staple"


def pytest_configure(config):
    """
    Give each run its own SQLite test database file, in a fresh temporary
    folder: server processes started by the tests open it too (so it cannot
    live in memory), and two runs side by side must not share it.
    """
    from django.db import connections

    database = connections["default"].settings_dict
    if database["ENGINE"].endswith("sqlite3"):
        folder = tempfile.mkdtemp(prefix="chat-tests-")
        database["TEST"]["NAME"] = os.path.join(folder, "test_db.sqlite3")
        config.add_cleanup(lambda: shutil.rmtree(folder, ignore_errors=True))


@pytest.fixture(scope="session", autouse=True)
def frame_checker():
    """Every frame a consumer sends or carries out, checked against the AsyncAPI document (tests/protocol.py)."""
    from chat.consumers import Consumer
    from tests.protocol import FrameChecker

    checker = FrameChecker()
    original_send, original_receive = Consumer.send, Consumer.receive

    async def send(self, text_data=None, bytes_data=None, close=False):
        if text_data is not None:
            checker.check_sent(self, text_data)
        await original_send(self, text_data=text_data, bytes_data=bytes_data, close=close)

    async def receive(self, text_data=None, bytes_data=None):
        await checker.check_received(self, text_data, lambda: original_receive(self, text_data, bytes_data))

    Consumer.send, Consumer.receive = send, receive
    yield checker
    Consumer.send, Consumer.receive = original_send, original_receive


@pytest.fixture(scope="session", autouse=True)
def loop_connections_closed(django_db_setup):
    """The event loops' PostgreSQL connections (chat.fast_send) end before the test database is dropped."""
    yield
    close_loop_connections()


@pytest.fixture(autouse=True)
def frames_follow_the_protocol_document(frame_checker):
    """Fails the test in which a consumer sent a frame the AsyncAPI document does not describe."""
    before = len(frame_checker.failures)
    yield
    if failures := frame_checker.failures[before:]:
        pytest.fail("Frames that do not match the AsyncAPI document:\n" + "\n".join(failures[:10]))


@pytest.fixture(autouse=True)
def redis_assumed_up():
    """Each test starts with Redis counted as up (core.outages), whatever the last one did."""
    from core.outages import REDIS

    REDIS.down_since, REDIS.failures = None, 0


@pytest.fixture(autouse=True)
def attachment_files(settings, tmp_path):
    """Attachments go to the test's own folder (the returned path), never the project's."""
    root = tmp_path / "attachments"
    settings.STORAGES = {
        **settings.STORAGES,
        "attachments": {"BACKEND": "django.core.files.storage.FileSystemStorage",
                        "OPTIONS": {"location": root, "base_url": None}},
    }
    return root


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # Django's default hasher takes a quarter of a second per user.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def short_refusal_grace(settings):
    """
    The original path (ws/<id>/) closes a refused socket after 0.3 s, not the
    default 3 s: long enough to answer what a client sends at once, short
    enough that the tests of its refusals do not wait out the real one.
    """
    settings.ORIGINAL_CLIENT_REFUSAL_GRACE = 0.3


@pytest.fixture
def rest_settings(settings):
    """Override REST_FRAMEWORK keys and throttle rates: ``rest_settings(rates={"register": "2/min"})``."""

    def override(*, rates: dict | None = None, **keys) -> None:
        current = settings.REST_FRAMEWORK
        settings.REST_FRAMEWORK = {
            **current,
            **keys,
            "DEFAULT_THROTTLE_RATES": {**current["DEFAULT_THROTTLE_RATES"], **(rates or {})},
        }

    return override


@pytest.fixture(autouse=True)
def fresh_rate_limits():
    """
    Every test starts with no request counted by the REST rate limits, also in
    the server processes it starts (they share Redis). On Redis only the
    throttles' keys go: the database may hold other things.
    """
    from django.conf import settings
    from django.core.cache import caches

    cache = caches["default"]
    if settings.REDIS_URL:
        client = redis_client(settings.REDIS_URL)
        keys = list(client.scan_iter(match=cache.make_key("throttle_*"), count=1000))
        if keys:
            client.delete(*keys)
    else:
        cache.clear()


@functools.cache
def redis_client(url: str):
    import redis

    return redis.Redis.from_url(url)


@pytest.fixture
def make_user():
    counter = iter(range(1, 10_000))

    def make(name: str | None = None, **fields) -> User:
        n = next(counter)
        name = name if name is not None else f"User {n}"
        email = fields.pop("email", f"{name.lower().replace(' ', '.')}.{n}@example.com")
        return User.objects.create_user(email=email, password=PASSWORD, name=name, **fields)

    return make


@pytest.fixture
def alice(make_user):
    return make_user("Alice")


@pytest.fixture
def bob(make_user):
    return make_user("Bob")


@pytest.fixture
def carol(make_user):
    return make_user("Carol")


def access_token(user: User) -> str:
    """An access token; unlike a refresh token it needs no database write."""
    return str(AccessToken.for_user(user))


@pytest.fixture
def client_for():
    def make(user: User | None = None) -> APIClient:
        client = APIClient()
        if user is not None:
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {access_token(user)}")
        return client

    return make


def error_fields(response) -> set[str]:
    """
    The input fields a REST error answer names, after checking it has the one
    error shape: ``fields`` (the top-level field keys on register and login,
    which the original tutorial client reads there).
    """
    body = response.json()
    assert isinstance(body.get("code"), str) and isinstance(body.get("detail"), str), body
    if "fields" in body:
        assert set(body) <= {"code", "detail", "fields"}, body
        return {name.split(".")[0] for name in body["fields"]}
    return set(body) - {"code", "detail", "retry_after"}


@asynccontextmanager
async def open_socket(path: str, *, token: str | None = None, headers=None, connect=True):
    """A WebsocketCommunicator on the real application, always disconnected."""
    if token is not None:
        path = f"{path}{'&' if '?' in path else '?'}token={token}"
    communicator = WebsocketCommunicator(application, path, headers=headers or [])
    try:
        if connect:
            connected, code = await communicator.connect(timeout=5)
            communicator.connected_ok = connected
            communicator.close_code = code
        yield communicator
    finally:
        await communicator.disconnect()


async def expect_close(communicator, code: int):
    """The socket was accepted and then closed with ``code``."""
    assert communicator.connected_ok, "the socket should be accepted before it is closed"
    message = await communicator.receive_output(timeout=5)
    assert message == {"type": "websocket.close", "code": code}


class FakeClock:
    """A clock for code that takes one: it moves only when told to."""

    def __init__(self, now: float = 1_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    """A fake wall clock starting at the real time (Redis expiries are real)."""
    return FakeClock(time.time())


# --- Sockets ------------------------------------------------------------------------

PRESENCE_FRAMES = {"presence", "presence.state"}
UNKNOWN_ID = "00000000-0000-0000-0000-000000000000"


def room(conversation, user=None, *, token=None, after=None, original=False):
    """A room socket: ``ws/chat/<id>/``, or the original client's ``ws/<id>/``."""
    path = f"/ws/{conversation.id}/" if original else f"/ws/chat/{conversation.id}/"
    if after is not None:
        path += f"?after={after}"
    return open_socket(path, token=token or access_token(user))


def notifications(user=None, *, token=None):
    return open_socket("/ws/notifications/", token=token or access_token(user))


async def receive(ws, *, skip=PRESENCE_FRAMES) -> dict:
    """The next frame, passing over those whose type is in ``skip``."""
    while True:
        frame = json.loads(await ws.receive_from(timeout=5))
        if frame["type"] not in skip:
            return frame


async def receive_many(ws, count: int) -> list[dict]:
    return [await receive(ws) for _ in range(count)]


async def assert_silent(ws, *, skip=PRESENCE_FRAMES, timeout=0.2) -> None:
    """No frame (other than skipped ones) arrives within ``timeout`` seconds."""
    while not await ws.receive_nothing(timeout=timeout):
        frame = json.loads(await ws.receive_from())
        assert frame["type"] in skip, f"unexpected frame {frame}"


async def drain(ws) -> list[dict]:
    """The frames waiting now (those sent on connect), so later checks see only new ones."""
    frames = []
    while not await ws.receive_nothing(timeout=0.1):
        frames.append(json.loads(await ws.receive_from()))
    return frames


async def close_code(ws) -> int:
    """The code of the close the server sends next, passing over text frames before it."""
    while True:
        message = await ws.receive_output(timeout=5)
        if message["type"] == "websocket.close":
            return message["code"]


def seqs(frames) -> list[int]:
    return [frame["seq"] for frame in frames]


def presence_frame(user, online: bool) -> dict:
    return {"type": "presence", "user_id": str(user.id), "online": online}


# --- Real servers --------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Answer(NamedTuple):
    status: int
    headers: object  # case-insensitive, as urllib gives them
    body: bytes

    def json(self):
        return json.loads(self.body)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def http_request(url: str, *, data: dict | None = None, headers: dict | None = None, redirects: bool = True,
                 timeout: float = 15, method: str | None = None, body: bytes | None = None) -> Answer:
    """
    A request to a real server (a JSON body when ``data`` is given, else
    ``body`` as it is); error statuses are answers, not exceptions.
    """
    headers = dict(headers or {})
    if data is not None:
        body = json.dumps(data).encode()
        headers.setdefault("Content-Type", "application/json")
    opener = urllib.request.build_opener(*([] if redirects else [_NoRedirect]))
    try:
        request = urllib.request.Request(url, data=body, headers=headers, method=method)
        with opener.open(request, timeout=timeout) as response:
            return Answer(response.status, response.headers, response.read())
    except urllib.error.HTTPError as error:
        return Answer(error.code, error.headers, error.read())


@pytest.fixture
def silent_port():
    """A local TCP port that accepts connections and never answers: a hung PostgreSQL or Redis."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(50)
    accepted, stop = [], threading.Event()

    def accept():
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except OSError:
                pass

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join()
    for accepted_socket in accepted:
        accepted_socket.close()
    listener.close()


def database_url_for_tests() -> str:
    """A DATABASE_URL pointing a server process at the test database."""
    settings = connection.settings_dict
    if settings["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{settings['NAME']}"
    auth = settings["USER"] or ""
    if settings.get("PASSWORD"):
        auth += f":{settings['PASSWORD']}"
    host = settings["HOST"] or "127.0.0.1"
    port = settings["PORT"] or 5432
    return f"postgres://{auth}@{host}:{port}/{settings['NAME']}"


class Server:
    def __init__(self, port: int, process: subprocess.Popen, log_path: Path):
        self.port = port
        self.process = process
        self.log_path = log_path
        self.http = f"http://127.0.0.1:{port}"
        self.ws = f"ws://127.0.0.1:{port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@pytest.fixture
def start_server(transactional_db, tmp_path):
    """Start server processes (backend.serve, the production command) against the test database."""
    servers: list[Server] = []

    def start(port: int | None = None, **env_overrides) -> Server:
        port = port or free_port()
        env = dict(
            os.environ, DATABASE_URL=database_url_for_tests(), DJANGO_LOG_LEVEL="INFO",
            ATTACHMENTS_ROOT=str(tmp_path / "attachments"),
            # A second, not three, before a refused socket on ws/<id>/ closes.
            ORIGINAL_CLIENT_REFUSAL_GRACE="1",
        )
        env.update(env_overrides)
        log_path = tmp_path / f"server-{port}.log"
        log = open(log_path, "wb")
        process = subprocess.Popen(
            [sys.executable, "-m", "backend.serve", "-b", "127.0.0.1", "-p", str(port), "-v", "2",
             "backend.asgi:application"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
        server = Server(port, process, log_path)
        servers.append(server)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"server exited early:\n{server.log()}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                return server
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"server did not start:\n{server.log()}")

    yield start
    for server in servers:
        server.process.terminate()
    for server in servers:
        try:
            server.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.process.kill()


# --- Conversations ---------------------------------------------------------------


@pytest.fixture
def direct(alice, bob):
    """The direct conversation between Alice and Bob."""
    from chat.services import conversation_start_direct

    conversation, _ = conversation_start_direct(user=alice, other_user_id=bob.id)
    return conversation


@pytest.fixture
def group(alice, bob, carol):
    """A group conversation of Alice, Bob and Carol."""
    from chat.services import conversation_create_group

    return conversation_create_group(creator=alice, user_ids=[bob.id, carol.id], title="Team")[0]


# --- Data helpers (sync code only) ---------------------------------------------------


def send(conversation, sender, body="hello", **fields) :
    from chat.services import message_send

    return message_send(conversation_id=conversation.id, sender=sender, body=body, **fields)[0]


def send_many(conversation, sender, count: int) -> None:
    for n in range(1, count + 1):
        send(conversation, sender, f"message {n}")


def post_message(client, conversation, body="hello", **fields):
    """POST a message over REST; the response."""
    return client.post(f"/api/chat/{conversation.id}/messages/", {"body": body, **fields}, format="json")


def last_read_seq(conversation, user) -> int:
    from chat.models import ConversationMember

    return ConversationMember.objects.get(conversation=conversation, user=user).last_read_seq


class OwnRedis:
    """A redis-server of a test's own on a free port, to kill, stop and restart (never the shared one)."""

    def __init__(self):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = None

    def start(self):
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                import redis

                redis.Redis.from_url(self.url, socket_timeout=0.5).ping()
                return
            except Exception:
                time.sleep(0.05)
        raise RuntimeError("own Redis did not start")

    def kill(self):
        self.process.kill()
        self.process.wait()


@pytest.fixture
def own_redis():
    redis = OwnRedis()
    redis.start()
    yield redis
    if redis.process.poll() is None:
        redis.process.send_signal(signal.SIGCONT)
        redis.kill()
