"""
Timed work (core.timed): how long a runner waits, the command's loop and the
server's task, with injected clocks and stop events (nothing sleeps on a
real clock but the task's test, for hundredths of a second).
"""

import asyncio
from datetime import datetime, timedelta, timezone

import pytest
from django.db import OperationalError

from core import hooks, timed
from core.timed import RETRY_SECONDS, run_in_server, run_until_stopped, seconds_until

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    "due, expected",
    [
        (None, 60),                                       # nothing known: look again after the interval
        (NOW + timedelta(seconds=5), 5 + timed.PAST_DUE_SECONDS),  # due sooner: wake just after it
        (NOW + timedelta(hours=2), 60),                   # due later: the interval first (others' new work)
        (NOW, RETRY_SECONDS),                             # still due after the job ran: not a busy loop
        (NOW - timedelta(minutes=5), RETRY_SECONDS),
    ],
)
def test_a_runner_waits_until_the_next_due_time_or_the_interval(due, expected):
    assert seconds_until(due, now=NOW, interval=60) == pytest.approx(expected)


def test_a_retry_never_waits_longer_than_the_interval():
    assert seconds_until(NOW, now=NOW, interval=0.5) == 0.5


class Stop:
    """A stop event that records the waits and is set after ``waits`` of them."""

    def __init__(self, waits: int):
        self.waits: list[float] = []
        self.limit = waits

    def is_set(self) -> bool:
        return len(self.waits) >= self.limit

    def wait(self, seconds: float) -> None:
        self.waits.append(seconds)


def test_the_loop_sleeps_until_what_the_job_says_is_due_and_survives_database_errors():
    answers = [NOW + timedelta(seconds=30), OperationalError("the database is restarting"), None]
    calls, logged = [], []

    def job(now):
        calls.append(now)
        answer = answers[len(calls) - 1]
        if isinstance(answer, Exception):
            raise answer
        return answer

    stop = Stop(waits=3)
    run_until_stopped(job, interval=60, stop=stop, log=logged.append, clock=lambda: NOW)
    assert len(calls) == 3
    assert stop.waits == [pytest.approx(30 + timed.PAST_DUE_SECONDS), 60, 60]
    assert logged == ["Timed work failed, trying again in 60 s: the database is restarting"]


async def test_the_server_task_runs_the_job_again_after_a_failure_and_ends_when_cancelled(monkeypatch):
    monkeypatch.setattr(timed, "RETRY_SECONDS", 0.01)
    calls = []

    def job(now):
        calls.append(now)
        if len(calls) == 1:
            raise ValueError("a bug in one pass")
        return now  # still due: the task tries again after RETRY_SECONDS

    task = asyncio.ensure_future(run_in_server(job, interval=0.02, clock=lambda: NOW))
    while len(calls) < 3:
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert task.cancelled()


async def test_the_apps_server_started_coroutines_become_tasks_of_the_running_loop(settings):
    settings.TIMED_WORK_IN_SERVER = False  # only this test's receiver adds work
    ran = asyncio.Event()

    async def work():
        ran.set()
        await asyncio.sleep(3600)

    def receiver(*, tasks):
        tasks.append(work())

    hooks.server_started.connect(receiver)
    try:
        [task] = hooks.start_server_tasks()
    finally:
        hooks.server_started.disconnect(receiver)
    await asyncio.wait_for(ran.wait(), 5)
    assert not task.done()
    task.cancel()
