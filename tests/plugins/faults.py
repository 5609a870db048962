"""
Services that fail on purpose: a port that accepts and never answers (a hung
PostgreSQL or Redis), and a redis-server and a PostgreSQL of a test's own to
kill, stop and restart (never the shared ones).
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

from tests import ROOT
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


class OwnPostgres:
    """
    A PostgreSQL of a test's own (initdb into a temporary folder, on a free
    port), migrated, to stop and restart under traffic; never the shared one.
    PostgreSQL will not run as root: under root it runs as the ``postgres`` user.
    """

    def __init__(self):
        self.folder = Path(tempfile.mkdtemp(prefix="chat-postgres-"))
        self.data = self.folder / "data"
        self.port = free_port()
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/chat"
        self._as = []
        if os.geteuid() == 0:
            import pwd

            owner = pwd.getpwnam("postgres")
            os.chown(self.folder, owner.pw_uid, owner.pw_gid)
            self._as = ["runuser", "-u", "postgres", "--"]

    def _run(self, *command: str) -> None:
        subprocess.run([*self._as, *command], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def create(self) -> None:
        """initdb, start, make the database and migrate it (what a server process needs)."""
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync")
        self.start()
        import psycopg

        with psycopg.connect(f"postgresql://postgres@127.0.0.1:{self.port}/postgres", autocommit=True) as conn:
            conn.execute("CREATE DATABASE chat")
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, check=True,
            env=dict(os.environ, DATABASE_URL=self.url),
        )

    def start(self) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.folder / "log"), "-o", options, "-w", "start")

    def stop(self) -> None:
        """A fast shutdown, as a restart or a failover does: sessions are ended (AdminShutdown)."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def remove(self) -> None:
        if (self.data / "postmaster.pid").exists():
            subprocess.run([*self._as, "pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        shutil.rmtree(self.folder, ignore_errors=True)


def _has_user(name: str) -> bool:
    import pwd

    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


@pytest.fixture
def own_postgres():
    """An OwnPostgres, running; skipped without initdb and pg_ctl (failing under CI=true)."""
    missing = [tool for tool in ("initdb", "pg_ctl") if shutil.which(tool) is None]
    if os.geteuid() == 0 and (shutil.which("runuser") is None or not _has_user("postgres")):
        missing.append("runuser and a postgres user (PostgreSQL will not run as root)")
    if missing:
        reason = f"needs {' and '.join(missing)}"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    postgres = OwnPostgres()
    try:
        postgres.create()
        yield postgres
    finally:
        postgres.remove()
