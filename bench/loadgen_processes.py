"""
The load generator spread over several processes (``run.py --loadgen-processes N``).

One asyncio process reads, parses and counts every frame the servers send;
near a whole core of CPU it would be measuring itself rather than the server.
``LoadGeneratorProcesses`` splits a plan's rooms over N worker processes
(whole rooms, so a message's sender and its receivers share a process, its
acknowledgement and its deliveries are counted in one place, and its latency
is read on the clock it was stamped with), runs a ``LoadGenerator`` in each,
drives them in step and merges what they measured:

    generator = LoadGeneratorProcesses(target, plan, port, processes=2, connect_concurrency=100)
    connect = await generator.connect_all()          # merged: every socket, one span
    stats = await generator.run_phase("max", seconds=10, window=4)
    await generator.close_all()                      # also stops the workers

It answers like ``LoadGenerator`` (``connect_all``, ``open_sockets``,
``run_phase``, ``close_all``, ``close_codes``, ``other_frames``, ``pids``).
The workers start every phase within a millisecond or so of each other; a
phase's span is from the first one's start to the last one's end, read on
``time.perf_counter`` (CLOCK_MONOTONIC, one clock for the whole machine).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import traceback
from collections import Counter
from multiprocessing.connection import Connection

from bench.fixtures import Plan
from bench.loadgen import ConnectResult, LoadGenerator, PhaseStats, Target

# Longest wait for a worker's answer: the longest phase plus its drain, with room to spare.
ANSWER_TIMEOUT = 900.0
STOP_TIMEOUT = 10.0


class WorkerFailed(RuntimeError):
    pass


def _work(connection: Connection, target: Target, plan: Plan, port: int, options: dict) -> None:
    """A worker process: one LoadGenerator, driven by (method, kwargs) requests on ``connection``."""
    asyncio.run(_serve(connection, LoadGenerator(target, plan, port, **options)))


async def _serve(connection: Connection, generator: LoadGenerator) -> None:
    loop = asyncio.get_running_loop()
    connection.send(("ok", "ready"))
    while True:
        # Read in a thread: the loop keeps reading the sockets in between.
        method, kwargs = await loop.run_in_executor(None, connection.recv)
        if method is None:
            return
        try:
            value = getattr(generator, method)
            result = value(**kwargs) if callable(value) else value
            if asyncio.iscoroutine(result):
                result = await result
        except Exception:  # noqa: BLE001 (the runner raises it, with the worker's traceback)
            connection.send(("error", traceback.format_exc()))
        else:
            connection.send(("ok", result))


def _answer(connection: Connection, pid: int):
    if not connection.poll(ANSWER_TIMEOUT):
        raise WorkerFailed(f"load generator process {pid} did not answer in {ANSWER_TIMEOUT:.0f} s")
    status, value = connection.recv()
    if status != "ok":
        raise WorkerFailed(f"load generator process {pid} failed:\n{value}")
    return value


class LoadGeneratorProcesses:
    def __init__(self, target: Target, plan: Plan, port: int, *, processes: int, **options):
        parts = [Plan(rooms=plan.rooms[index::processes]) for index in range(processes)]
        parts = [part for part in parts if part.rooms]
        concurrency = options.pop("connect_concurrency", 200)
        # The same number of handshakes in flight in all as one process would have.
        shares = [concurrency // len(parts) + (index < concurrency % len(parts)) for index in range(len(parts))]
        self.senders = [sum(room.senders for room in part.rooms) for part in parts]
        self.close_codes: Counter = Counter()
        self.other_frames = 0
        self._connections: list[Connection] = []
        self._processes: list[multiprocessing.Process] = []
        # spawn, not fork: the runner has Django, database connections and threads.
        context = multiprocessing.get_context("spawn")
        try:
            for part, share in zip(parts, shares):
                ours, theirs = context.Pipe()
                process = context.Process(
                    target=_work,
                    args=(theirs, target, part, port, dict(options, connect_concurrency=max(1, share))),
                    name="bench-loadgen",
                    daemon=True,  # never outlives the runner
                )
                process.start()
                theirs.close()
                self._connections.append(ours)
                self._processes.append(process)
            # Started and imported before anything is measured.
            for connection, process in zip(self._connections, self._processes):
                _answer(connection, process.pid)
        except BaseException:
            self._stop()
            raise

    @property
    def pids(self) -> list[int]:
        """This process (which only waits) and the workers."""
        return [os.getpid()] + [process.pid for process in self._processes]

    async def _call_each(self, method: str, kwargs_each: list[dict]) -> list:
        for connection, kwargs in zip(self._connections, kwargs_each):
            connection.send((method, kwargs))
        loop = asyncio.get_running_loop()
        return await asyncio.gather(
            *(
                loop.run_in_executor(None, _answer, connection, process.pid)
                for connection, process in zip(self._connections, self._processes)
            )
        )

    async def _call(self, method: str, **kwargs) -> list:
        return await self._call_each(method, [kwargs] * len(self._connections))

    async def connect_all(self) -> dict:
        return ConnectResult.merge(await self._call("connect_raw")).summary()

    def open_sockets(self) -> int:
        for connection in self._connections:
            connection.send(("open_sockets", {}))
        return sum(_answer(c, p.pid) for c, p in zip(self._connections, self._processes))

    async def run_phase(self, name: str, *, rate: float | None = None, **kwargs) -> PhaseStats:
        """The phase in every worker at once; a paced rate is shared by their senders."""
        total = sum(self.senders) or 1
        kwargs_each = [
            dict(kwargs, name=name, rate=rate * senders / total if rate else None) for senders in self.senders
        ]
        merged = PhaseStats.merge(await self._call_each("run_phase", kwargs_each))
        merged.rate = rate
        return merged

    async def close_all(self) -> None:
        """Close every socket, collect the workers' tallies, stop the workers."""
        try:
            await self._call("close_all")
            for codes in await self._call("close_codes"):
                self.close_codes.update(codes)
            self.other_frames = sum(await self._call("other_frames"))
        finally:
            self._stop()

    def _stop(self) -> None:
        for connection in self._connections:
            try:
                connection.send((None, {}))
            except OSError:
                pass
        for process in self._processes:
            process.join(STOP_TIMEOUT)
            if process.is_alive():
                process.terminate()
                process.join(STOP_TIMEOUT)
        for connection in self._connections:
            connection.close()
        self._connections = []
