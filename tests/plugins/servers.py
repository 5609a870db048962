"""
Real server processes (core.runtime.serve, the production command) against the
test database, free ports, and plain HTTP requests to them.
"""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import NamedTuple

import pytest

from tests import ROOT
from tests.plugins.database import database_url_for_tests


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


class Server:
    def __init__(self, port: int, process: subprocess.Popen, log_path: Path):
        self.port = port
        self.process = process
        self.log_path = log_path
        self.http = f"http://127.0.0.1:{port}"
        self.ws = f"ws://127.0.0.1:{port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def launch_server(folder: Path, port: int | None = None, **env_overrides) -> Server:
    """A server process (core.runtime.serve) against the test database, answering on ``port``; logs in ``folder``."""
    port = port or free_port()
    env = dict(
        os.environ, DATABASE_URL=database_url_for_tests(), DJANGO_LOG_LEVEL="INFO",
        ATTACHMENTS_ROOT=str(folder / "attachments"),
        # A second, not three, before a refused socket on ws/<id>/ closes.
        ORIGINAL_CLIENT_REFUSAL_GRACE="1",
    )
    env.update(env_overrides)
    log_path = folder / f"server-{port}.log"
    log = open(log_path, "wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "core.runtime.serve", "-b", "127.0.0.1", "-p", str(port), "-v", "2",
         "backend.asgi:application"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    server = Server(port, process, log_path)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited early:\n{server.log()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return server
        except OSError:
            time.sleep(0.1)
    stop_servers([server])
    raise RuntimeError(f"server did not start:\n{server.log()}")


def stop_servers(servers: list[Server]) -> None:
    """
    SIGTERM, then SIGKILL after three seconds. A server stops within a
    fraction of a second of SIGTERM, unless one of its threads waits on a
    database that never answers (tests/core/test_health.py): that one would
    take its full timeout.
    """
    for server in servers:
        server.process.terminate()
    deadline = time.monotonic() + 3
    for server in servers:
        try:
            server.process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()


@pytest.fixture
def start_server(transactional_db, tmp_path):
    """Start server processes (core.runtime.serve, the production command) against the test database."""
    servers: list[Server] = []

    def start(port: int | None = None, **env_overrides) -> Server:
        server = launch_server(tmp_path, port, **env_overrides)
        servers.append(server)
        return server

    yield start
    stop_servers(servers)


@pytest.fixture
def timed_work(tmp_path):
    """
    With Redis, ``expire_messages --loop`` and ``send_scheduled --loop`` (a
    look every second) beside the servers a test starts, as the compose stack
    runs them; without, nothing: the embedded server does its timed work
    itself (TIMED_WORK_IN_SERVER, core.timed).
    """
    from django.conf import settings

    if not settings.REDIS_URL:
        yield []
        return
    processes = []
    for command, interval in (("expire_messages", "--interval"), ("send_scheduled", "--max-sleep")):
        with open(tmp_path / f"{command}.log", "wb") as log:
            processes.append(subprocess.Popen(
                [sys.executable, "manage.py", command, "--loop", interval, "1"], cwd=ROOT,
                env=dict(os.environ, DATABASE_URL=database_url_for_tests()), stdout=log, stderr=subprocess.STDOUT,
            ))
    yield processes
    end_processes(processes)


@pytest.fixture
def queue_worker(tmp_path):
    """
    ``queue_worker(**env)``: with Redis, ``manage.py push_worker`` (the queue's
    jobs: pushes, exports, webhooks, link previews) beside the servers a test
    starts, with the same variables; without, nothing: the embedded server
    works its in-memory queue on threads of its own.
    """
    from django.conf import settings

    processes = []

    def start(**env_overrides):
        if not settings.REDIS_URL:
            return None
        # Jobs earlier tests queued and nobody worked (their rows are gone) must not stand before this test's.
        from chat.push import queue

        queue.broker().flush_all()
        env = dict(os.environ, DATABASE_URL=database_url_for_tests(), **env_overrides)
        log_path = tmp_path / f"worker-{len(processes)}.log"
        with open(log_path, "wb") as log:
            process = subprocess.Popen([sys.executable, "manage.py", "push_worker"], cwd=ROOT, env=env,
                                       stdout=log, stderr=subprocess.STDOUT)
        processes.append(process)
        # Ready once it says so: on a loaded machine its start can take longer than a test's wait for a job.
        deadline = time.monotonic() + 60
        while "Push worker started" not in log_path.read_text(errors="replace"):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the queue's worker did not start:\n{log_path.read_text(errors='replace')}")
            time.sleep(0.1)
        return process

    yield start
    end_processes(processes)


def end_processes(processes: list[subprocess.Popen], timeout: float = 20) -> None:
    """SIGTERM, then SIGKILL whatever has not ended within ``timeout`` (a worker inside a slow job)."""
    for process in processes:
        process.terminate()
    deadline = time.monotonic() + timeout
    for process in processes:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
