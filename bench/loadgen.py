"""
The load generator: asyncio WebSocket clients for group-chat rooms.

One ``LoadGenerator`` owns one socket per room member of a ``fixtures.Plan``,
all in this process and event loop. ``bench/run.py`` drives it:

    generator = LoadGenerator(PROJECT, plan, port=8000)
    connect = await generator.connect_all()          # connects/s, failures
    stats = await generator.run_phase("max", seconds=10, window=4)
    stats.summary()                                   # deliveries/s, latency, lost
    await generator.close_all()

In a phase the first ``room.senders`` members of every room send; each keeps
at most ``window`` messages unacknowledged (optionally also paced to a rate).
A sender's acknowledgement is its own copy of the message coming back through
the room: on both of the project's paths the sender's socket gets the room's
``chat.message`` frame like every member's (the rich path's frame also
carries the ``client_id``; the original client's frame has none, and its
client profile, chat.realtime.profiles.ORIGINAL, sends it messages only, its
own included), and the baseline broadcasts to the whole group, sender
included. An acknowledgement that has not come after ``ack_timeout`` seconds
frees its window slot and is counted, so a dropped frame cannot stall a
sender. The ``ceiling`` target only connects: it has no message phase.

Every body starts with ``<message id> <send time ns>``: receivers compute the
latency (same process, same monotonic clock) and drop duplicates by id. A
delivery is a message received by a member other than its sender; messages
lost = (messages sent x other connected members) - distinct deliveries,
counted after a drain that waits for the sockets to go quiet.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import random
import time
from collections import Counter
from dataclasses import dataclass, field

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from bench.fixtures import Member, Plan, Room


@dataclass(frozen=True)
class Target:
    """A server under test: what to run, where to connect, what to send."""

    name: str
    application: str
    path: str  # formatted with conversation_id and token
    protocol: str  # "project", "tutorial", or "none" (connects only, sends nothing)

    @property
    def sends(self) -> bool:
        """Whether the target has a message phase (the ceiling only accepts sockets)."""
        return self.protocol != "none"

    def url(self, port: int, room: Room, member: Member) -> str:
        path = self.path.format(conversation_id=room.conversation_id, token=member.token)
        return f"ws://127.0.0.1:{port}{path}"

    def frame(self, room: Room, member: Member, message_id: str, body: str) -> str:
        if self.protocol == "project":
            return json.dumps({"type": "message.send", "body": body, "client_id": message_id})
        # The djangobnb client's frame.
        return json.dumps(
            {
                "event": "chat_message",
                "data": {
                    "body": body,
                    "name": member.name,
                    "conversation_id": room.conversation_id,
                    "sent_to_id": None,
                },
            }
        )


# The project on its rich path, with the rich protocol's frames
# (BENCH_PROJECT_APP serves another application there: bench/stair.py).
PROJECT = Target(
    name="project",
    application=os.environ.get("BENCH_PROJECT_APP", "backend.asgi:application"),
    path="/ws/chat/{conversation_id}/?token={token}",
    protocol="project",
)
# The project on the original tutorial client's path, with that client's frames.
ORIGINAL = Target(
    name="original",
    application="backend.asgi:application",
    path="/ws/{conversation_id}/?token={token}",
    protocol="tutorial",
)
BASELINE = Target(
    name="baseline",
    application="bench.baseline.asgi:application",
    path="/ws/{conversation_id}/?token={token}",
    protocol="tutorial",
)
# daphne and a Channels consumer that accepts and does nothing: what any
# Channels application costs per connect and per socket (bench/ceiling.py).
# Same path and query string as PROJECT, so the handshakes are byte for byte
# the same size.
CEILING = Target(
    name="ceiling",
    application="bench.ceiling:application",
    path="/ws/chat/{conversation_id}/?token={token}",
    protocol="none",
)
TARGETS = {target.name: target for target in (PROJECT, ORIGINAL, BASELINE, CEILING)}


class Client:
    """One socket: its member, and its sender state while a phase runs."""

    __slots__ = ("index", "is_sender", "member", "pending", "reader", "room", "seen", "slots", "ws")

    def __init__(self, index: int, room: Room, member: Member, is_sender: bool):
        self.index = index
        self.room = room
        self.member = member
        self.is_sender = is_sender
        self.ws: ClientConnection | None = None
        self.reader: asyncio.Task | None = None
        self.seen: set[str] = set()
        self.pending: dict[str, int] = {}  # message id -> send time, ns
        self.slots: asyncio.Semaphore | None = None

    @property
    def open(self) -> bool:
        return self.ws is not None and self.ws.close_code is None


def percentile(sorted_values: list, fraction: float):
    """Nearest-rank percentile of an already sorted list (None when empty)."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def _quoted_message_id(body) -> str:
    """
    The message id in an error frame of the original path, which has no
    ``client_id`` but quotes the message that was not sent (events.original_client_error).
    """
    if isinstance(body, str) and body.startswith("\u201c"):
        return body[1:].partition(" ")[0]
    return ""


def _ms(nanoseconds) -> float | None:
    return None if nanoseconds is None else round(nanoseconds / 1e6, 2)


@dataclass
class ConnectResult:
    """What opening the sockets took; ``summary()`` is what gets reported."""

    sockets: int
    concurrency: int
    started: float  # time.perf_counter(): CLOCK_MONOTONIC, the same in every process
    ended: float
    handshakes: list[int]  # ns, one per socket opened
    failures: Counter

    @classmethod
    def merge(cls, parts: list[ConnectResult]) -> ConnectResult:
        """Several load generators' connects, which ran at the same time, as one."""
        return cls(
            sockets=sum(part.sockets for part in parts),
            concurrency=sum(part.concurrency for part in parts),
            started=min(part.started for part in parts),
            ended=max(part.ended for part in parts),
            handshakes=[ns for part in parts for ns in part.handshakes],
            failures=sum((part.failures for part in parts), Counter()),
        )

    def summary(self) -> dict:
        elapsed = self.ended - self.started
        handshakes = sorted(self.handshakes)
        connected = len(handshakes)
        return {
            "sockets": self.sockets,
            "connected": connected,
            "failures": dict(self.failures),
            "seconds": round(elapsed, 3),
            "connects_per_s": round(connected / elapsed, 1) if elapsed else None,
            "concurrency": self.concurrency,
            "handshake_ms": {
                "p50": _ms(percentile(handshakes, 0.50)),
                "p99": _ms(percentile(handshakes, 0.99)),
                "max": _ms(handshakes[-1] if handshakes else None),
            },
        }


@dataclass
class PhaseStats:
    """Counters of one load phase; ``summary()`` is what gets reported."""

    name: str
    seconds: float
    window: int
    rate: float | None
    start_ns: int = 0
    end_ns: int = 0
    senders: int = 0
    sent: int = 0
    expected: int = 0
    acked: int = 0
    ack_timeouts: int = 0
    late_acks: int = 0
    unacked_at_end: int = 0
    send_failures: int = 0
    errors: Counter = field(default_factory=Counter)
    deliveries: int = 0
    deliveries_in_window: int = 0
    duplicates: int = 0
    drain_seconds: float = 0.0
    latencies: list[int] = field(default_factory=list)
    ack_latencies: list[int] = field(default_factory=list)
    cpu: dict = field(default_factory=dict)

    @classmethod
    def merge(cls, parts: list[PhaseStats]) -> PhaseStats:
        """The same phase run by several load generators at once, as one."""
        first = parts[0]
        merged = cls(name=first.name, seconds=first.seconds, window=first.window, rate=first.rate)
        merged.start_ns = min(part.start_ns for part in parts)
        merged.end_ns = max(part.end_ns for part in parts)
        merged.drain_seconds = max(part.drain_seconds for part in parts)
        for name in (
            "senders", "sent", "expected", "acked", "ack_timeouts", "late_acks", "unacked_at_end",
            "send_failures", "deliveries", "deliveries_in_window", "duplicates",
        ):  # fmt: skip
            setattr(merged, name, sum(getattr(part, name) for part in parts))
        merged.errors = sum((part.errors for part in parts), Counter())
        merged.latencies = [ns for part in parts for ns in part.latencies]
        merged.ack_latencies = [ns for part in parts for ns in part.ack_latencies]
        return merged

    def summary(self) -> dict:
        latencies = sorted(self.latencies)
        acks = sorted(self.ack_latencies)
        return {
            "phase": self.name,
            "seconds": self.seconds,
            "window": self.window,
            "rate_limit_messages_per_s": self.rate,
            "senders": self.senders,
            "messages_sent": self.sent,
            "messages_per_s": round(self.sent / self.seconds, 1),
            "messages_acked": self.acked,
            "ack_timeouts": self.ack_timeouts,
            "late_acks": self.late_acks,
            "unacked_at_end": self.unacked_at_end,
            "send_failures": self.send_failures,
            "error_frames": dict(self.errors),
            "deliveries_expected": self.expected,
            "deliveries": self.deliveries,
            "deliveries_in_window": self.deliveries_in_window,
            "deliveries_per_s": round(self.deliveries_in_window / self.seconds, 1),
            "lost": self.expected - self.deliveries,
            "duplicates": self.duplicates,
            "drain_seconds": round(self.drain_seconds, 2),
            "latency_ms": {
                "p50": _ms(percentile(latencies, 0.50)),
                "p99": _ms(percentile(latencies, 0.99)),
                "max": _ms(latencies[-1] if latencies else None),
            },
            "ack_latency_ms": {
                "p50": _ms(percentile(acks, 0.50)),
                "p99": _ms(percentile(acks, 0.99)),
                "max": _ms(acks[-1] if acks else None),
            },
            "cpu": self.cpu,
        }


class LoadGenerator:
    def __init__(
        self,
        target: Target,
        plan: Plan,
        port: int,
        *,
        connect_concurrency: int = 200,
        open_timeout: float = 30.0,
        connect_phase_timeout: float = 300.0,
        ack_timeout: float = 5.0,
        drain_quiet: float = 2.0,
        drain_max: float = 10.0,
        body_size: int = 64,
    ):
        self.target = target
        self.port = port
        self.connect_concurrency = connect_concurrency
        self.open_timeout = open_timeout
        self.connect_phase_timeout = connect_phase_timeout
        self.ack_timeout_ns = int(ack_timeout * 1e9)
        self.drain_quiet_ns = int(drain_quiet * 1e9)
        self.drain_max = drain_max
        self.padding = "x" * max(0, body_size - 40)
        self.clients: list[Client] = []
        for room in plan.rooms:
            for position, member in enumerate(room.members):
                self.clients.append(
                    Client(len(self.clients), room, member, is_sender=position < room.senders)
                )
        self.phases: list[PhaseStats] = []
        self.last_frame_ns = 0
        self.close_codes: Counter = Counter()
        self.other_frames = 0
        self.unparsed_frames = 0

    @property
    def pids(self) -> list[int]:
        """The processes doing the load generator's work: this one."""
        return [os.getpid()]

    # --- Connecting ---------------------------------------------------------

    async def connect_all(self) -> dict:
        """Open every socket, at most ``connect_concurrency`` handshakes at once."""
        return (await self.connect_raw()).summary()

    async def connect_raw(self) -> ConnectResult:
        """``connect_all`` before summing up: what several load generators' results merge from."""
        slots = asyncio.Semaphore(self.connect_concurrency)
        handshakes: list[int] = []
        failures: Counter = Counter()

        async def open_one(client: Client) -> None:
            async with slots:
                started = time.perf_counter_ns()
                try:
                    client.ws = await connect(
                        self.target.url(self.port, client.room, client.member),
                        compression=None,
                        ping_interval=None,
                        open_timeout=self.open_timeout,
                        close_timeout=2,
                        max_size=2**20,
                    )
                except Exception as error:  # noqa: BLE001 (counted and reported, never retried)
                    failures[type(error).__name__] += 1
                    return
                handshakes.append(time.perf_counter_ns() - started)
                client.reader = asyncio.create_task(self._read(client))

        started = time.perf_counter()
        tasks = [asyncio.create_task(open_one(client)) for client in self.clients]
        _, pending = await asyncio.wait(tasks, timeout=self.connect_phase_timeout)
        for task in pending:
            task.cancel()
            failures["connect_phase_timeout"] += 1
        return ConnectResult(
            sockets=len(self.clients),
            concurrency=self.connect_concurrency,
            started=started,
            ended=time.perf_counter(),
            handshakes=handshakes,
            failures=failures,
        )

    def open_sockets(self) -> int:
        return sum(1 for client in self.clients if client.open)

    # --- Receiving ----------------------------------------------------------

    async def _read(self, client: Client) -> None:
        ws = client.ws
        try:
            async for raw in ws:
                self._on_frame(client, raw, time.perf_counter_ns())
        except ConnectionClosed:
            pass
        finally:
            self.close_codes[ws.close_code] += 1

    def _on_frame(self, client: Client, raw, now: int) -> None:
        self.last_frame_ns = now
        try:
            frame = json.loads(raw)
            body = frame.get("body")
        except (ValueError, AttributeError):
            self.unparsed_frames += 1
            return
        # Before the body: the original path's error frames have one too
        # (a notice the tutorial client shows as a message).
        if frame.get("type") == "error":
            self._on_error(client, frame)
            return
        if not isinstance(body, str):
            self.other_frames += 1
            return
        message_id, _, rest = body.partition(" ")
        sent_ns, _, _ = rest.partition(" ")
        try:
            phase_index, sender_index, _ = message_id.split(".", 2)
            stats = self.phases[int(phase_index)]
            sender_index = int(sender_index)
            sent_ns = int(sent_ns)
        except (ValueError, IndexError):
            self.other_frames += 1
            return
        if sender_index == client.index:
            sent_at = client.pending.pop(message_id, None)
            if sent_at is None:
                stats.late_acks += 1
            else:
                stats.acked += 1
                stats.ack_latencies.append(now - sent_at)
                client.slots.release()
            return
        if message_id in client.seen:
            stats.duplicates += 1
            return
        client.seen.add(message_id)
        stats.deliveries += 1
        if now <= stats.end_ns:
            stats.deliveries_in_window += 1
        stats.latencies.append(now - sent_ns)

    def _on_error(self, client: Client, frame: dict) -> None:
        message_id = frame.get("client_id") or _quoted_message_id(frame.get("body"))
        code = frame.get("code", "?")
        try:
            stats = self.phases[int(message_id.split(".", 1)[0])]
        except (ValueError, IndexError):
            stats = self.phases[-1] if self.phases else None
        if stats is None:
            self.other_frames += 1
            return
        stats.errors[code] += 1
        if client.pending.pop(message_id, None) is not None:
            client.slots.release()

    # --- Sending ------------------------------------------------------------

    async def run_phase(
        self,
        name: str,
        *,
        seconds: float,
        window: int,
        rate: float | None = None,
        messages_per_sender: int | None = None,
        drain_until_complete: float | None = None,
    ) -> PhaseStats:
        """
        Send for ``seconds`` (or until each sender sent its count), then drain.

        ``drain_until_complete`` (seconds): instead of stopping at the first
        quiet spell, wait that long at most for every expected delivery.
        """
        stats = PhaseStats(name=name, seconds=seconds, window=window, rate=rate)
        phase_index = len(self.phases)
        self.phases.append(stats)
        senders = [client for client in self.clients if client.is_sender and client.open]
        stats.senders = len(senders)
        interval = len(senders) / rate if rate else 0.0
        for client in senders:
            client.slots = asyncio.Semaphore(window)
            client.pending = {}
        # Expected receivers: the room's other members whose sockets are open
        # now; one that fails to connect is a connect failure, not a loss.
        open_members = Counter(id(client.room) for client in self.clients if client.open)
        stats.start_ns = time.perf_counter_ns()
        stats.end_ns = stats.start_ns + int(seconds * 1e9)
        watchdog = asyncio.create_task(self._expire_acks(senders))
        try:
            await asyncio.gather(
                *(
                    self._send_loop(
                        client,
                        stats,
                        phase_index,
                        interval,
                        messages_per_sender,
                        receivers=open_members[id(client.room)] - 1,
                    )
                    for client in senders
                )
            )
            await self._drain(stats, senders, until_complete=drain_until_complete)
        finally:
            watchdog.cancel()
        for client in senders:
            stats.unacked_at_end += len(client.pending)
            client.pending = {}
        return stats

    async def _send_loop(
        self,
        client: Client,
        stats: PhaseStats,
        phase_index: int,
        interval: float,
        limit: int | None,
        *,
        receivers: int,
    ) -> None:
        # Paced senders start at random offsets so the room sends do not line up.
        next_at = time.perf_counter() + (random.uniform(0, interval) if interval else 0.0)
        count = 0
        while limit is None or count < limit:
            if interval:
                delay = next_at - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                next_at = max(next_at + interval, time.perf_counter() - interval)
            if time.perf_counter_ns() >= stats.end_ns:
                return
            # Bounded: every slot comes back with its ack, an error frame or
            # the ack timeout (_expire_acks).
            await client.slots.acquire()
            sent_at = time.perf_counter_ns()
            if sent_at >= stats.end_ns:
                client.slots.release()
                return
            count += 1
            message_id = f"{phase_index}.{client.index}.{count}"
            body = f"{message_id} {sent_at} {self.padding}"
            client.pending[message_id] = sent_at
            try:
                await client.ws.send(self.target.frame(client.room, client.member, message_id, body))
            except ConnectionClosed:
                client.pending.pop(message_id, None)
                stats.send_failures += 1
                return
            stats.sent += 1
            stats.expected += receivers

    async def _expire_acks(self, senders: list[Client]) -> None:
        """Free the window slot of every ack older than the ack timeout."""
        while True:
            await asyncio.sleep(0.25)
            cutoff = time.perf_counter_ns() - self.ack_timeout_ns
            for client in senders:
                expired = [key for key, sent_at in client.pending.items() if sent_at < cutoff]
                for message_id in expired:
                    del client.pending[message_id]
                    self.phases[int(message_id.split(".", 1)[0])].ack_timeouts += 1
                    client.slots.release()

    async def _drain(
        self, stats: PhaseStats, senders: list[Client], until_complete: float | None = None
    ) -> None:
        """
        Wait until no frame has arrived for ``drain_quiet`` and no ack is
        outstanding (the ack watchdog expires those), at most ``drain_max``;
        or, with ``until_complete``, until every expected delivery is in.
        """
        started = time.perf_counter()
        started_ns = time.perf_counter_ns()
        limit = until_complete or self.drain_max
        while time.perf_counter() - started < limit:
            await asyncio.sleep(0.1)
            if until_complete:
                if stats.deliveries >= stats.expected and not any(c.pending for c in senders):
                    break
                continue
            last_activity = max(self.last_frame_ns, started_ns)
            quiet = time.perf_counter_ns() - last_activity >= self.drain_quiet_ns
            if quiet and not any(client.pending for client in senders):
                break
        stats.drain_seconds = time.perf_counter() - started

    # --- Closing ------------------------------------------------------------

    async def close_all(self) -> None:
        slots = asyncio.Semaphore(500)

        async def close_one(client: Client) -> None:
            async with slots:
                try:
                    await asyncio.wait_for(client.ws.close(), timeout=5)
                except Exception:  # noqa: BLE001 (whatever went wrong, the socket goes)
                    client.ws.transport.abort()

        await asyncio.gather(*(close_one(c) for c in self.clients if c.ws is not None))
        readers = [c.reader for c in self.clients if c.reader is not None]
        _, pending = await asyncio.wait(readers, timeout=10) if readers else (None, [])
        for task in pending:
            task.cancel()
