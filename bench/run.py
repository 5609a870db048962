"""
Benchmark the chat backend against the tutorial-style baseline and a
do-nothing ceiling, in one go.

    .venv/bin/python bench/run.py --smoke
    .venv/bin/python bench/run.py --rooms 50 --members 20 --senders 1 --window 4 --seconds 10 \\
        --processes 1,2 --database-url postgres://postgres@127.0.0.1:5432/chat_bench \\
        --redis-url redis://127.0.0.1:6379/2 --plot docs/benchmarks.png
    .venv/bin/python bench/run.py --idle 10000 --database-url ... --redis-url ...

For every target (``project``: backend.asgi on its rich path ws/chat/<id>/;
``original``: backend.asgi on the original client's path ws/<id>/;
``baseline``: bench.baseline.asgi; ``ceiling``: bench.ceiling, a consumer
that accepts and does nothing) and every process count, one after the other
and against the same database, channel layer and server (daphne): create
fresh rooms and tokens, start the servers, warm them up, connect every member
(connects/s, handshake time, memory per socket), let the senders send for T
seconds with a window of W (deliveries/s, latency, messages lost after a
drain), optionally again at half the measured rate (latency below
saturation), stop the servers by PID, delete the rooms. The ceiling only
connects. Then print the tables and the ratios (to the baseline, and to the
ceiling's connects/s and memory), and write bench/results/<timestamp>.json.

``--idle N`` instead connects N authenticated sockets that stay quiet and
reports memory per socket (one message per room at the end proves they are
live). Without --database-url the database is a throwaway SQLite file and the
channel layer is in memory (one process only).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import resource
import secrets
import shlex
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import psutil

from bench import fixtures, report
from bench.loadgen import TARGETS, LoadGenerator, PhaseStats
from bench.loadgen_processes import LoadGeneratorProcesses
from bench.servers import ServerGroup

RESULTS_DIR = ROOT / "bench" / "results"
SETTLE_SECONDS = 1.0
# Every target by default; the ceiling gives the connect tables their top row.
DEFAULT_TARGETS = ("project", "original", "baseline", "ceiling")
# Benchmark rows older than this belong to a run that crashed, not to one
# going on against the same database.
STALE_BENCH_DATA = timedelta(hours=2)
# Set in the child that runs inside a --ref snapshot: "<ref> <commit>".
SNAPSHOT_ENV = "CHAT_BENCH_SNAPSHOT"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    load = parser.add_argument_group("load")
    load.add_argument("--rooms", type=int, default=50, help="R group conversations (50)")
    load.add_argument("--members", type=int, default=20, help="M members per room (20)")
    load.add_argument("--senders", type=int, default=1, help="S senders per room (1)")
    load.add_argument("--window", type=int, default=4, help="W unacknowledged messages per sender (4)")
    load.add_argument("--seconds", type=float, default=10, help="T seconds of sending (10)")
    load.add_argument("--body-size", type=int, default=64, help="message body length (64)")
    load.add_argument(
        "--half-rate",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="after the max phase, send again paced at half its message rate (on)",
    )
    load.add_argument("--idle", type=int, metavar="N", help="idle mode: N quiet sockets, memory per socket")
    load.add_argument("--smoke", action="store_true", help="2 rooms x 3 members for 2 s; fails on loss")

    servers = parser.add_argument_group("servers")
    servers.add_argument(
        "--repeat", type=int, default=1,
        help="run every target and process count this many times, the targets' order changing every time (1)",
    )  # fmt: skip
    servers.add_argument(
        "--targets", default=",".join(DEFAULT_TARGETS),
        help=f"comma list of {', '.join(TARGETS)} ({','.join(DEFAULT_TARGETS)})",
    )  # fmt: skip
    servers.add_argument("--processes", default="1", help="comma list of server process counts (1)")
    servers.add_argument(
        "--server", choices=("daphne", "uvicorn"), default="daphne",
        help="ASGI server for both targets (daphne)",
    )
    servers.add_argument("--database-url", help="postgres://... (created and migrated if missing)")
    servers.add_argument("--redis-url", help="redis://... for the channel layer (else in-memory)")
    servers.add_argument(
        "--channel-layer-redis-urls", metavar="URL,URL",
        help="shard the channel layer over these Redis servers (CHANNEL_LAYER_REDIS_URLS; else --redis-url)",
    )  # fmt: skip
    servers.add_argument(
        "--server-env", action="append", default=[], metavar="KEY=VALUE",
        help="extra environment for the server processes (repeatable)",
    )  # fmt: skip

    client = parser.add_argument_group("client")
    client.add_argument("--connect-concurrency", type=int, default=200, help="handshakes in flight (200)")
    client.add_argument(
        "--loadgen-processes", type=int, default=1, metavar="N",
        help="spread the sockets (whole rooms) over N load generator processes, results merged (1)",
    )  # fmt: skip
    client.add_argument("--ack-timeout", type=float, default=5.0, help="seconds before an ack counts as missing (5)")
    client.add_argument("--drain-quiet", type=float, default=2.0, help="drain ends after this many quiet seconds (2)")
    client.add_argument("--drain-max", type=float, default=10.0, help="longest drain, seconds (10)")
    client.add_argument(
        "--quiet-cpu", type=float, default=25.0,
        help="before each target, wait for machine CPU under this percent (25)",
    )  # fmt: skip
    client.add_argument("--quiet-wait", type=float, default=120.0, help="longest such wait, seconds (120)")

    output = parser.add_argument_group("output")
    output.add_argument("--plot", type=Path, help="write a PNG comparing the runs")
    output.add_argument(
        "--profile", action="store_true",
        help="py-spy the first project server while connecting and during its max phase (costs CPU: numbers are not comparable)",
    )  # fmt: skip
    output.add_argument("--results-dir", type=Path, default=RESULTS_DIR)
    output.add_argument("--label", default="", help="free text stored with the results")
    parser.add_argument(
        "--ref", metavar="GIT_REF",
        help="benchmark this commit (exported to a temporary directory, with this bench/) "
        "instead of the working tree, which may be mid-edit",
    )  # fmt: skip
    args = parser.parse_args(argv)

    if args.smoke:
        args.rooms, args.members, args.senders, args.seconds = 2, 3, 1, 2
        args.half_rate = False
        args.drain_quiet, args.drain_max = 1.0, 5.0
    args.targets = [name.strip() for name in args.targets.split(",") if name.strip()]
    unknown = set(args.targets) - set(TARGETS)
    if unknown:
        parser.error(f"unknown target(s): {', '.join(sorted(unknown))}")
    args.processes = [int(n) for n in str(args.processes).split(",")]
    if max(args.processes) > 1 and not args.redis_url:
        parser.error("more than one server process needs --redis-url (the in-memory layer is per process)")
    if args.channel_layer_redis_urls and not args.redis_url:
        parser.error("--channel-layer-redis-urls needs --redis-url (presence and rate limits stay there)")
    if args.idle and len(args.processes) > 1:
        parser.error("--idle measures one server process")
    if args.senders > args.members:
        parser.error("--senders cannot exceed --members")
    if args.loadgen_processes < 1:
        parser.error("--loadgen-processes must be at least 1")
    for item in args.server_env:
        if "=" not in item:
            parser.error(f"--server-env wants KEY=VALUE, got {item!r}")
    return args


def raise_open_files_limit() -> int:
    """Lift the soft fd limit to the hard one; the servers inherit it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def machine_description() -> dict:
    cpu_model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpus": os.cpu_count(),
        "cpu_model": cpu_model,
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "kernel": platform.release(),
    }


def service_versions(redis_url: str | None) -> dict:
    from django.db import connection

    versions = {"database": f"{connection.vendor} {connection.Database.__name__}"}
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SHOW server_version")
            versions["database"] = "PostgreSQL " + cursor.fetchone()[0]
        elif connection.vendor == "sqlite":
            cursor.execute("SELECT sqlite_version()")
            versions["database"] = "SQLite " + cursor.fetchone()[0]
    if redis_url:
        import redis

        client = redis.Redis.from_url(redis_url, socket_timeout=5)
        versions["channel_layer"] = "Redis " + client.info("server")["redis_version"]
        client.close()
    else:
        versions["channel_layer"] = "in-memory"
    return versions


SERVICE_PROCESS_NAMES = ("postgres", "redis-server")


def service_processes() -> list[psutil.Process]:
    """PostgreSQL and Redis processes on this machine (read, never touched)."""
    found = []
    for proc in psutil.process_iter(["name"]):
        if (proc.info["name"] or "").startswith(SERVICE_PROCESS_NAMES):
            found.append(proc)
    return found


def _cpu_seconds(processes, *, reaped_children: bool = False) -> float:
    """
    CPU seconds of ``processes``; with ``reaped_children`` also of their
    exited children: PostgreSQL forks a backend per connection, and with
    DATABASE_CONN_MAX_AGE=0 most live for one query, so they are gone before
    the span ends and only show in the postmaster's children times.
    """
    total = 0.0
    for proc in processes:
        try:
            times = proc.cpu_times()
        except psutil.Error:  # a backend that has exited meanwhile
            continue
        total += times.user + times.system
        if reaped_children:
            total += times.children_user + times.children_system
    return total


def _machine_busy() -> float:
    machine = psutil.cpu_times()
    return sum(machine) - machine.idle - getattr(machine, "iowait", 0)


class CpuMeter:
    """
    CPU used over a span by the servers, the load generator's processes,
    PostgreSQL + Redis, and everything else on the machine ("background":
    other people's work, which makes a run noisy when it is not near zero).
    Percent of one core. ``loadgen_busiest_percent`` is the load generator
    process that used the most: near 100 it is measuring itself.
    """

    def __init__(self, servers: ServerGroup, loadgen_pids: list[int]):
        self.servers = servers
        self.loadgen_processes = [psutil.Process(pid) for pid in loadgen_pids]

    def start(self) -> None:
        self.services = service_processes()
        self.wall = time.perf_counter()
        self.server = self.servers.cpu_seconds()
        self.loadgen = [_cpu_seconds([proc]) for proc in self.loadgen_processes]
        self.service = _cpu_seconds(self.services, reaped_children=True)
        self.busy = _machine_busy()

    def stop(self) -> dict:
        wall = time.perf_counter() - self.wall
        # Backends that started during the span count from zero.
        services = self.services + [p for p in service_processes() if p not in self.services]
        server = self.servers.cpu_seconds() - self.server
        loadgen_each = [
            _cpu_seconds([proc]) - before for proc, before in zip(self.loadgen_processes, self.loadgen)
        ]
        loadgen = sum(loadgen_each)
        service = _cpu_seconds(services, reaped_children=True) - self.service
        busy = _machine_busy() - self.busy
        percent = lambda seconds: round(100 * seconds / wall, 1)
        return {
            "server_percent": percent(server),
            "loadgen_percent": percent(loadgen),
            "loadgen_busiest_percent": percent(max(loadgen_each)),
            "loadgen_processes": len(loadgen_each),
            "db_and_redis_percent": percent(service),
            "background_percent": percent(max(0.0, busy - server - loadgen - service)),
            "machine_percent": round(percent(busy) / psutil.cpu_count(), 1),
        }


def wait_for_quiet_machine(limit_percent: float, max_wait: float) -> float:
    """
    Wait until the machine's CPU use stays under ``limit_percent`` for 3 s
    (other work skews every figure), at most ``max_wait`` seconds. Returns
    the CPU use seen last.
    """
    deadline = time.monotonic() + max_wait
    quiet_since = None
    psutil.cpu_percent(interval=None)
    while True:
        used = psutil.cpu_percent(interval=1.0)
        now = time.monotonic()
        quiet_since = (quiet_since or now) if used < limit_percent else None
        if quiet_since and now - quiet_since >= 3:
            return used
        if now >= deadline:
            print(f"   machine still busy ({used:.0f}% CPU) after {max_wait:.0f} s; going on", flush=True)
            return used


async def warm_up(target, plan, port: int) -> None:
    """A message through a few small rooms (a connect for the ceiling): imports, connections and caches warm."""
    generator = LoadGenerator(target, plan, port, drain_quiet=0.5, drain_max=5)
    await generator.connect_all()
    if target.sends:
        await generator.run_phase("warm-up", seconds=5, window=1, messages_per_sender=2)
    await generator.close_all()


def load_generator(args, target, plan, port: int) -> LoadGenerator | LoadGeneratorProcesses:
    """In this process, or spread over --loadgen-processes worker processes."""
    options = {
        "connect_concurrency": args.connect_concurrency,
        "ack_timeout": args.ack_timeout,
        "drain_quiet": args.drain_quiet,
        "drain_max": args.drain_max,
        "body_size": args.body_size,
    }
    if args.loadgen_processes > 1:
        return LoadGeneratorProcesses(target, plan, port, processes=args.loadgen_processes, **options)
    return LoadGenerator(target, plan, port, **options)


async def measure(args, target, plan, warm_plan, servers: ServerGroup, profile_path: Path | None) -> dict:
    """Everything that happens while one target's servers are up."""
    await warm_up(target, warm_plan, servers.port)
    await asyncio.sleep(0.5)
    rss_before = servers.rss()
    generator = load_generator(args, target, plan, servers.port)
    phases: list[PhaseStats] = []
    meter = CpuMeter(servers, generator.pids)
    try:
        connect_profiler = (
            start_profiler(servers.pids[0], None, profile_path.with_suffix(".connect.txt")) if profile_path else None
        )
        meter.start()
        connect = await generator.connect_all()
        connect["cpu"] = meter.stop()
        if connect_profiler:
            await finish_profiler(connect_profiler, interrupt=True)
        await asyncio.sleep(SETTLE_SECONDS if not args.idle else 5.0)
        rss_after = servers.rss()
        open_now = generator.open_sockets()
        if not target.sends:
            pass  # the ceiling: connects and memory only
        elif args.idle:
            # One message per room, paced so the probe does not become a load
            # test; it proves the sockets are live, so it waits for them all.
            probe = await generator.run_phase(
                "idle-probe",
                seconds=30,
                window=1,
                rate=50.0,
                messages_per_sender=1,
                drain_until_complete=60.0,
            )
            phases.append(probe)
        else:
            profiler = start_profiler(servers.pids[0], args.seconds, profile_path) if profile_path else None
            meter.start()
            stats = await generator.run_phase("max", seconds=args.seconds, window=args.window)
            stats.cpu = meter.stop()
            phases.append(stats)
            if profiler:
                await finish_profiler(profiler)
            if args.half_rate and stats.sent:
                meter.start()
                half = await generator.run_phase(
                    "half", seconds=args.seconds, window=args.window, rate=stats.sent / args.seconds / 2
                )
                half.cpu = meter.stop()
                phases.append(half)
        rss_end = servers.rss()
    finally:
        await generator.close_all()
    sockets = max(connect["connected"], 1)
    return {
        "connect": connect,
        "closed_while_idle": connect["connected"] - open_now,
        "close_codes": {str(code): n for code, n in generator.close_codes.items()},
        "other_frames": generator.other_frames,
        "memory": {
            "rss_before_bytes": rss_before,
            "rss_after_bytes": rss_after,
            "rss_end_bytes": rss_end,
            "kb_per_socket": round((rss_after - rss_before) / sockets / 1024, 1),
        },
        "phases": [stats.summary() for stats in phases],
    }


def start_profiler(pid: int, seconds: float | None, path: Path) -> subprocess.Popen:
    """py-spy on ``pid`` for ``seconds`` (None: until finish_profiler interrupts it)."""
    py_spy = Path(sys.executable).parent / "py-spy"
    duration = ["--duration", str(max(1, int(seconds)))] if seconds else []
    command = [
        str(py_spy), "record", "--pid", str(pid), *duration,
        "--rate", "200", "--nonblocking", "--threads", "--format", "raw", "--output", str(path),
    ]  # fmt: skip
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


async def finish_profiler(profiler: subprocess.Popen, interrupt: bool = False) -> None:
    if interrupt:
        profiler.send_signal(signal.SIGINT)  # py-spy writes what it has and exits
    deadline = time.monotonic() + 30
    while profiler.poll() is None and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
    if profiler.poll() is None:
        profiler.terminate()
        profiler.wait(timeout=10)


def run_target(args, target_name: str, processes: int, env: dict, tmp: Path, stamp: str) -> dict:
    """Fixtures, servers and the measurement for one target at one process count."""
    target = TARGETS[target_name]
    tag = f"{target_name[0]}{processes}{secrets.token_hex(3)}"
    fixtures.bench_data_delete(stale_after=STALE_BENCH_DATA)
    vacuum_seconds = fixtures.database_vacuum()
    rooms = args.idle // args.members if args.idle else args.rooms
    started = time.perf_counter()
    plan = fixtures.rooms_create(tag=tag, rooms=rooms, members=args.members, senders=args.senders)
    warm_plan = fixtures.rooms_create(tag=tag + "w", rooms=2 * processes, members=2, senders=1)
    fixtures_seconds = time.perf_counter() - started
    profile_path = None
    if args.profile and target_name == "project" and processes == min(args.processes):
        profile_path = args.results_dir / f"{stamp}-{target_name}-x{processes}.pyspy.txt"
    server_env = dict(env)
    server_env.update(item.split("=", 1) for item in args.server_env)
    print(f"\n== {target_name} x{processes}: {plan.sockets} sockets in {len(plan.rooms)} rooms", flush=True)
    cpu_before = wait_for_quiet_machine(args.quiet_cpu, args.quiet_wait) if not args.smoke else None
    try:
        with ServerGroup(
            target.application, processes=processes, env=server_env, log_dir=tmp, server=args.server
        ) as servers:
            result = asyncio.run(measure(args, target, plan, warm_plan, servers, profile_path))
            errors = servers.log_tail()
    finally:
        fixtures.bench_data_delete(tag=tag)
    result.update(
        {
            "target": target_name,
            "application": target.application,
            "processes": processes,
            "mode": "idle" if args.idle else "load",
            "fixtures_seconds": round(fixtures_seconds, 2),
            "vacuum_seconds": round(vacuum_seconds, 2),
            "machine_cpu_percent_before": cpu_before,
            "server_log_tail": errors[-4000:],
        }
    )
    if profile_path and profile_path.with_suffix(".connect.txt").exists():
        result["connect_profile"] = report.profile_summary(profile_path.with_suffix(".connect.txt"), top=15)
        print("   connect phase:\n" + report.profile_text(result["connect_profile"]))
    if profile_path and profile_path.exists():
        result["profile"] = report.profile_summary(profile_path, top=15)
        print("   max phase:\n" + report.profile_text(result["profile"]))
    connect = result["connect"]
    line = (
        f"   connected {connect['connected']}/{connect['sockets']} at {connect['connects_per_s']}/s "
        f"(handshake p50 {connect['handshake_ms']['p50']} ms), {result['memory']['kb_per_socket']} KB/socket"
    )
    if result["phases"]:
        summary = result["phases"][0]
        line += (
            f"; {summary['phase']}: {summary['deliveries_per_s']} deliveries/s, "
            f"p99 {summary['latency_ms']['p99']} ms, lost {summary['lost']}, "
            f"loadgen CPU {summary['cpu'].get('loadgen_busiest_percent', '-')}% (busiest process)"
        )
    print(line, flush=True)
    if errors:
        print("   server log (tail):\n" + "\n".join("   | " + l for l in errors.splitlines()[-8:]))
    return result


def _stop_on_signal(signum, frame):
    # Unwinds through ServerGroup.__exit__, which stops the servers by PID.
    raise KeyboardInterrupt(f"signal {signum}")


def source_description() -> str:
    if os.environ.get(SNAPSHOT_ENV):
        ref, _, commit = os.environ[SNAPSHOT_ENV].partition(" ")
        return f"git {commit}" if commit.startswith(ref) else f"git {ref} = {commit}"
    described = subprocess.run(
        ["git", "-C", str(ROOT), "describe", "--always", "--dirty"],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    return "working tree " + (described.stdout.strip() or "?")


def run_in_snapshot(args: argparse.Namespace, argv: list[str]) -> int:
    """Export ``args.ref`` plus this bench/ to a temporary tree and run there."""
    commit = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", args.ref + "^{commit}"],
        capture_output=True, text=True, timeout=30, check=True,
    ).stdout.strip()  # fmt: skip
    snapshot = Path(tempfile.mkdtemp(prefix="chat-bench-src-"))
    try:
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", "--format=tar", commit],
            capture_output=True, timeout=120, check=True,
        )  # fmt: skip
        tar_path = snapshot / "source.tar"
        tar_path.write_bytes(archive.stdout)
        with tarfile.open(tar_path) as tar:
            tar.extractall(snapshot, filter="data")
        tar_path.unlink()
        shutil.rmtree(snapshot / "bench", ignore_errors=True)
        shutil.copytree(
            ROOT / "bench", snapshot / "bench", ignore=shutil.ignore_patterns("results", "__pycache__")
        )
        extra = ["--results-dir", str(args.results_dir.resolve())]
        if args.plot:
            extra += ["--plot", str(args.plot.resolve())]
        env = dict(os.environ, **{SNAPSHOT_ENV: f"{args.ref} {commit}"})
        print(f"benchmarking {args.ref} ({commit}) from a snapshot", flush=True)
        child = subprocess.Popen(
            [sys.executable, str(snapshot / "bench" / "run.py"), *argv, *extra], cwd=snapshot, env=env
        )
        try:
            return child.wait()
        except KeyboardInterrupt:
            child.send_signal(signal.SIGINT)
            child.wait(timeout=60)
            raise
    finally:
        shutil.rmtree(snapshot, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _stop_on_signal)
    signal.signal(signal.SIGINT, _stop_on_signal)
    if args.ref and not os.environ.get(SNAPSHOT_ENV):
        return run_in_snapshot(args, argv)
    fd_limit = raise_open_files_limit()
    if args.idle and args.idle + 100 > fd_limit:
        print(f"warning: open-files limit {fd_limit} is below {args.idle} sockets", file=sys.stderr)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    args.results_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="chat-bench-") as tmp_name:
        tmp = Path(tmp_name)
        database_url = args.database_url or f"sqlite:///{tmp / 'bench.sqlite3'}"
        env = fixtures.server_environment(
            database_url=database_url, redis_url=args.redis_url, secret_key=secrets.token_urlsafe(40)
        )
        if args.channel_layer_redis_urls:
            env["CHANNEL_LAYER_REDIS_URLS"] = args.channel_layer_redis_urls
        fixtures.django_setup(env)
        fixtures.prepare_database(database_url)
        result = {
            "started": stamp,
            "command": shlex.join(["python", "bench/run.py", *_public_args(argv)]),
            "source": source_description(),
            "label": args.label,
            "machine": machine_description(),
            "services": service_versions(args.redis_url),
            "config": {
                "rooms": args.idle // args.members if args.idle else args.rooms,
                "members": args.members,
                "senders": args.senders,
                "window": args.window,
                "seconds": args.seconds,
                "body_size": args.body_size,
                "processes": args.processes,
                "targets": args.targets,
                "idle": args.idle,
                "repeat": args.repeat,
                "connect_concurrency": args.connect_concurrency,
                "loadgen_processes": args.loadgen_processes,
                "ack_timeout": args.ack_timeout,
                "server": args.server,
                "server_env": args.server_env,
                "database": "postgresql" if args.database_url else "sqlite",
                "channel_layer": "redis" if args.redis_url else "in-memory",
                "channel_layer_redis_urls": args.channel_layer_redis_urls,
                "open_files_limit": fd_limit,
            },
            "runs": [],
        }
        print(
            f"{result['machine']['cpus']} x {result['machine']['cpu_model']}, "
            f"{result['services']['database']}, {result['services']['channel_layer']}",
            flush=True,
        )
        for repeat in range(args.repeat):
            targets = target_order(args.targets, repeat)
            for processes in args.processes:
                for target_name in targets:
                    run = run_target(args, target_name, processes, env, tmp, f"{stamp}-r{repeat}")
                    run["repeat"] = repeat
                    result["runs"].append(run)
    result["ratios"] = report.ratios(result["runs"])
    out_path = args.results_dir / f"{stamp}.json"
    out_path.write_text(json.dumps(result, indent=2) + "\n")

    print()
    if args.idle:
        print(report.text_table(report.IDLE_HEADER, report.idle_rows(result["runs"])))
    else:
        print(report.text_table(report.CONNECT_HEADER, report.connect_rows(result["runs"])))
        print()
        print(report.text_table(report.LOAD_HEADER, report.load_rows(result["runs"])))
    if args.repeat > 1:
        print("\nover the repeats:")
        print(report.text_table(report.SUMMARY_HEADER, report.summary_rows(result["runs"])))
    print("\n".join(report.ratio_lines(result["ratios"])))
    print(f"\nresults: {out_path.relative_to(ROOT) if out_path.is_relative_to(ROOT) else out_path}")
    if args.plot and not args.idle:
        report.plot(result["runs"], args.plot, title=report.plot_title(result))
        print(f"plot: {args.plot}")
    return smoke_verdict(result) if args.smoke else 0


def _public_args(argv: list[str]) -> list[str]:
    """The command line as typed: without the absolute paths a snapshot run adds."""
    if not os.environ.get(SNAPSHOT_ENV):
        return argv
    return argv[: -4 if "--plot" in argv[-2:-1] else -2]


def target_order(targets: list[str], repeat: int) -> list[str]:
    """
    The targets' order in repeat ``repeat``: a row of a balanced Latin square
    (Williams' design), so that over the repeats each target runs in every
    position and straight after every other target equally often, and none
    always runs on a machine one particular other target just warmed. With
    two targets: as given, then reversed, and so on.
    """
    count = len(targets)
    base, low, high = [], 0, count - 1
    for position in range(count):  # 0, 1, n-1, 2, n-2, ...
        if position % 2 == 0:
            base.append(low)
            low += 1
        else:
            base.append(high)
            high -= 1
    # Labelled so that the first repeat runs them in the order given.
    row = [targets[base.index((symbol + repeat) % count)] for symbol in base]
    # With an odd number of targets the square needs its mirror image too.
    return row[::-1] if count % 2 and (repeat // count) % 2 else row


def smoke_verdict(result: dict) -> int:
    """CI check: every socket connected, messages flowed, neither of the project's paths lost any."""
    failures = []
    for run in result["runs"]:
        name = f"{run['target']} x{run['processes']}"
        if run["connect"]["connected"] != run["connect"]["sockets"]:
            failures.append(f"{name}: {run['connect']['failures']}")
        if not run["phases"]:
            continue  # the ceiling: connects only
        phase = run["phases"][0]
        if not phase["deliveries"]:
            failures.append(f"{name}: no deliveries")
        if run["target"] in ("project", "original") and phase["lost"]:
            failures.append(f"{name}: lost {phase['lost']}")
    for failure in failures:
        print("smoke FAILED: " + failure, file=sys.stderr)
    if not failures:
        print("smoke OK")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
