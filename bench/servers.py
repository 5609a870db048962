"""
Starting and stopping the server processes under test.

``ServerGroup`` starts N daphne (or uvicorn) processes that serve one ASGI application on
one shared port: the runner binds N listening sockets to the same port with
``SO_REUSEPORT`` (the kernel spreads new connections over them) and hands one
to each process with ``daphne --fd``. Each process also listens on a private
port, used only to see that it is up. Processes are stopped by PID.

    with ServerGroup("backend.asgi:application", processes=2, env=env, log_dir=tmp) as servers:
        servers.port, servers.pids, servers.rss()

The listening sockets are made here with a backlog of 1024; plain
``daphne -b HOST -p PORT`` gets Twisted's default backlog of 50.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Self

import psutil

ROOT = Path(__file__).resolve().parent.parent
LISTEN_BACKLOG = 1024
START_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0
# Lines every start produces: the readiness probe's 404 and WhiteNoise's
# warning about a static root that the benchmark never collects.
LOG_NOISE = ("Not Found: /", "No directory at:", "mw_instance = middleware(")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def reuseport_sockets(count: int) -> list[socket.socket]:
    """``count`` listening sockets on one fresh port, each inheritable."""
    sockets = []
    port = 0
    for _ in range(count):
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        listener.bind(("127.0.0.1", port))
        listener.listen(LISTEN_BACKLOG)
        listener.set_inheritable(True)
        port = listener.getsockname()[1]
        sockets.append(listener)
    return sockets


def server_command(server: str, application: str, fd: int, private_port: int) -> list[str]:
    """The command line of one server process listening on inherited socket ``fd``."""
    if server == "uvicorn":
        # uvicorn serves the inherited socket only; readiness is probed on it.
        return [
            sys.executable, "-m", "uvicorn", "--fd", str(fd),
            "--loop", "uvloop", "--http", "httptools", "--ws", "websockets",
            "--lifespan", "off", "--no-access-log", "--log-level", "warning",
            application,
        ]  # fmt: skip
    # The project's server command (daphne with the interpreter tuned for serving) where
    # the tree being measured has one: core/runtime/serve.py, or backend/serve.py before it moved.
    launcher = "daphne"
    if application.startswith("backend."):
        for module in ("core.runtime.serve", "backend.serve"):
            if (ROOT / (module.replace(".", "/") + ".py")).exists():
                launcher = module
                break
    return [
        sys.executable, "-m", launcher,
        "--fd", str(fd),
        "-b", "127.0.0.1", "-p", str(private_port),
        "-v", "0",
        application,
    ]  # fmt: skip


class ServerGroup:
    def __init__(
        self, application: str, *, processes: int, env: dict, log_dir: Path, server: str = "daphne"
    ):
        self.server = server
        self.application = application
        self.processes_wanted = processes
        self.env = env
        self.log_dir = log_dir
        self.port: int | None = None
        self.private_ports: list[int] = []
        self.procs: list[subprocess.Popen] = []
        self._logs = []

    @property
    def pids(self) -> list[int]:
        return [proc.pid for proc in self.procs]

    def __enter__(self) -> Self:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def start(self) -> None:
        listeners = reuseport_sockets(self.processes_wanted)
        self.port = listeners[0].getsockname()[1]
        env = {key: value for key, value in os.environ.items() if key != "REDIS_URL"}
        env.update(self.env)
        try:
            for index, listener in enumerate(listeners):
                private_port = free_port()
                log = open(self.log_dir / f"server-{self.port}-{index}.log", "ab")  # noqa: SIM115 (open while the server runs; closed in stop)
                self._logs.append(log)
                command = server_command(
                    self.server, self.application, listener.fileno(), private_port
                )
                self.procs.append(
                    subprocess.Popen(
                        command,
                        cwd=ROOT,
                        env=env,
                        pass_fds=(listener.fileno(),),
                        stdin=subprocess.DEVNULL,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                    )
                )
                self.private_ports.append(private_port if self.server == "daphne" else self.port)
        finally:
            # The children hold their own copies; ours would keep the port
            # open (and queue connections nobody accepts) after they exit.
            for listener in listeners:
                listener.close()
        deadline = time.monotonic() + START_TIMEOUT
        for proc, private_port in zip(self.procs, self.private_ports):
            self._wait_ready(proc, private_port, deadline)

    def _wait_ready(self, proc: subprocess.Popen, port: int, deadline: float) -> None:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(
                    f"server {proc.pid} exited with {proc.returncode}; see {self.log_dir}"
                )
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2).close()
                return
            except urllib.error.HTTPError:
                return  # any HTTP answer means the process is serving
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"server {proc.pid} did not start within {START_TIMEOUT:.0f} s")

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=STOP_TIMEOUT)
        for log in self._logs:
            log.close()
        self._logs = []

    def rss(self) -> int:
        """Resident memory of all server processes, bytes."""
        return sum(psutil.Process(pid).memory_info().rss for pid in self.pids)

    def cpu_seconds(self) -> float:
        total = 0.0
        for pid in self.pids:
            times = psutil.Process(pid).cpu_times()
            total += times.user + times.system
        return total

    def log_tail(self, lines: int = 20) -> str:
        """The last lines of every server's log, without start-up noise, for error reports."""
        out = []
        for path in sorted(self.log_dir.glob(f"server-{self.port}-*.log")):
            text = [
                line
                for line in path.read_text(errors="replace").splitlines()
                if line.strip() and not any(noise in line for noise in LOG_NOISE)
            ][-lines:]
            if text:
                out.append(f"--- {path.name}\n" + "\n".join(text))
        return "\n".join(out)
