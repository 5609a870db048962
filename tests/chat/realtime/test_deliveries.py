"""
Delivered positions in memory (chat.realtime.deliveries) and the process's
flushers (chat.realtime.delivery_flush), with an injected clock and
injected writes: batching, bounds, never backwards, one write per interval,
one ``chat.delivered`` per conversation per flush, and the stop hook.
"""

import asyncio
import json

import pytest

from chat.realtime.deliveries import DeliveryTracker
from chat.realtime.delivery_flush import DeliveryFlusher, ThreadDeliveryFlusher, flush_at_shutdown
from chat.realtime.groups import room_group
from core.hooks import run_server_stopping


class Clock:
    def __init__(self, now: float = 100.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


def tracker(*, interval=1.0, max_pending=100, clock=None) -> DeliveryTracker:
    return DeliveryTracker(interval=interval, max_pending=max_pending, clock=clock or Clock())


# --- DeliveryTracker ------------------------------------------------------------------


def test_positions_are_batched_by_conversation_keeping_the_highest_seq():
    positions = tracker()
    for seq in (3, 4, 5):
        positions.record("c1", "ann", seq)
    positions.record("c1", "bob", 4)
    positions.record("c2", "ann", 9)
    assert len(positions) == 3
    assert positions.take() == {"c1": {"ann": 5, "bob": 4}, "c2": {"ann": 9}}
    assert positions.take() == {}
    assert len(positions) == 0


def test_a_position_never_moves_backwards():
    positions = tracker()
    positions.record("c1", "ann", 7)
    positions.record("c1", "ann", 3)  # a catch-up page of older messages on another socket
    assert positions.take() == {"c1": {"ann": 7}}


def test_a_flush_may_run_once_per_interval_by_the_injected_clock():
    clock = Clock(100.0)
    positions = tracker(interval=2.0, clock=clock)
    assert positions.wait() == 2.0  # a new tracker starts an interval
    clock.now = 102.5
    assert positions.wait() == 0.0
    positions.record("c1", "ann", 1)
    positions.take()
    assert positions.flush_at() == 104.5
    clock.now = 103.0
    assert positions.wait() == pytest.approx(1.5)


def test_reaching_the_bound_asks_for_a_flush_at_once():
    positions = tracker(max_pending=3)
    assert positions.record("c1", "ann", 1) is False
    assert positions.record("c1", "bob", 1) is False
    assert positions.record("c1", "bob", 2) is False  # the same position moving takes no room
    assert positions.record("c2", "ann", 1) is True
    positions.take()
    assert positions.record("c3", "ann", 1) is False


# --- DeliveryFlusher ------------------------------------------------------------------


C1, C2 = "5c1d2a7e-0b7f-4a1e-8d4c-7e2f9a1b3c5d", "9a3e5d52-8f0c-4a55-9d1e-3b6f3f0b2a11"


class Recorder:
    """An injected write (the positions it was given; all of them moved) and publish."""

    def __init__(self, fail=False):
        self.writes: list[dict] = []
        self.published: list[tuple[str, dict]] = []
        self.fail = fail

    async def write(self, *, positions):
        self.writes.append(positions)
        if self.fail:
            raise RuntimeError("database down")
        return positions

    async def publish(self, group, event):
        self.published.append((group, event))


def flusher(recorder: Recorder, *, interval=0.05, max_pending=100, clock=None) -> DeliveryFlusher:
    return DeliveryFlusher(
        tracker=tracker(interval=interval, max_pending=max_pending, clock=clock),
        write=recorder.write, publish=recorder.publish,
    )


async def test_a_burst_is_one_write_and_one_frame_per_conversation_per_interval():
    recorder = Recorder()
    clock = Clock()
    deliveries = flusher(recorder, interval=1.0, clock=clock)
    for seq in range(1, 51):
        for user in ("ann", "bob", "cid"):
            deliveries.record(C1, user, seq)
        deliveries.record(C2, "ann", seq)
    await asyncio.sleep(0)
    assert recorder.writes == []  # nothing before the interval ends
    await deliveries.flush()
    assert recorder.writes == [{C1: {"ann": 50, "bob": 50, "cid": 50}, C2: {"ann": 50}}]
    assert [group for group, _ in recorder.published] == [room_group(C1), room_group(C2)]
    frames = {event["conversation_id"]: json.loads(event["text"]) for _, event in recorder.published}
    assert frames[C1] == {"type": "chat.delivered", "positions": {"ann": 50, "bob": 50, "cid": 50}}
    assert "body" not in frames[C2] and "name" not in frames[C2]  # the original client would show it


async def test_the_timer_flushes_at_the_end_of_the_interval():
    recorder = Recorder()
    deliveries = flusher(recorder, interval=0.05)
    deliveries.record(C1, "ann", 1)
    deliveries.record(C1, "ann", 2)
    for _ in range(100):
        if recorder.writes:
            break
        await asyncio.sleep(0.01)
    assert recorder.writes == [{C1: {"ann": 2}}]


async def test_past_the_bound_a_flush_runs_at_once():
    recorder = Recorder()
    deliveries = flusher(recorder, interval=3600, max_pending=2)
    deliveries.record(C1, "ann", 1)
    await asyncio.sleep(0)
    assert recorder.writes == []
    deliveries.record(C1, "bob", 1)
    await asyncio.sleep(0)
    assert recorder.writes == [{C1: {"ann": 1, "bob": 1}}]
    assert len(deliveries.tracker) == 0


async def test_a_failed_write_loses_that_batch_only_and_tells_nobody():
    recorder = Recorder(fail=True)
    deliveries = flusher(recorder, interval=3600)
    deliveries.record(C1, "ann", 1)
    await deliveries.flush()
    assert recorder.published == []
    recorder.fail = False
    deliveries.record(C1, "ann", 2)
    await deliveries.flush()
    assert recorder.writes[-1] == {C1: {"ann": 2}}
    assert len(recorder.published) == 1


async def test_only_positions_that_moved_are_announced():
    recorder = Recorder()

    async def write(*, positions):
        return {}  # the database had them already (another process wrote further)

    deliveries = DeliveryFlusher(tracker=tracker(interval=3600), write=write, publish=recorder.publish)
    deliveries.record(C1, "ann", 1)
    await deliveries.flush()
    assert recorder.published == []


async def test_the_server_stop_hook_flushes_what_waits(settings):
    from chat.realtime.delivery_flush import process_deliveries

    recorder = Recorder()
    deliveries = process_deliveries()
    deliveries._write, deliveries._publish = recorder.write, recorder.publish
    deliveries.record(C1, "ann", 4)
    await run_server_stopping()
    assert recorder.writes == [{C1: {"ann": 4}}]


def test_the_stop_hook_is_connected_and_asks_nothing_of_a_process_with_no_sockets():
    from core import hooks

    assert flush_at_shutdown in hooks.server_stopping._receivers
    tasks: list = []
    flush_at_shutdown(tasks=tasks)
    assert tasks == []


# --- ThreadDeliveryFlusher (pushes) -----------------------------------------------------


def test_the_push_flusher_batches_behind_a_lock_and_flushes_past_the_bound(monkeypatch):
    writes = []

    def write(*, positions):
        writes.append(positions)
        return {}

    deliveries = ThreadDeliveryFlusher(tracker=tracker(interval=3600, max_pending=2), write=write)
    deliveries.record(C1, "ann", 1)
    deliveries.record(C1, "ann", 3)
    assert writes == []
    deliveries.record(C1, "bob", 2)
    assert writes == [{C1: {"ann": 3, "bob": 2}}]
    assert deliveries._timer is None


async def test_the_stop_hook_gives_up_on_work_that_hangs(caplog):
    from core import hooks

    async def hangs():
        await asyncio.sleep(3600)

    def receiver(*, tasks):
        tasks.append(hangs())

    hooks.server_stopping.connect(receiver)
    try:
        await asyncio.wait_for(run_server_stopping(timeout=0.05), 5)
    finally:
        hooks.server_stopping._receivers.remove(receiver)
    assert "stopped without it" in caplog.text
