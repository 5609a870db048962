"""
Services that fail on purpose: a port that accepts and never answers (a hung
PostgreSQL or Redis), and a redis-server of a test's own to kill, stop and
restart (never the shared one).
"""

import signal
import socket
import subprocess
import threading
import time

import pytest

from tests.plugins.servers import free_port


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
