"""
Timed work: what must happen at a time rather than in answer to a request,
such as expiring disappearing messages (chat.messages.expiry).

A timed job is a plain function ``job(now) -> datetime | None``: it does all
that is due by ``now`` and returns when something is next due, as far as it
knows (None: nothing it knows of). A runner calls it, then sleeps until that
time, or for the job's ``interval`` if that comes first (work added since the
job last looked, by another process), and calls it again. So a message
expires within moments of its time, and the database is read once an interval
while nothing is due.

Two runners, one rule for the wait (``seconds_until``):

- ``run_until_stopped``: the ``--loop`` of a management command. In
  production, one such process beside the servers does the work for all of
  them, and its events reach every server's sockets through Redis.
- ``run_in_server``: a task of the server process. The embedded default has
  one process and an in-memory channel layer, which only reaches that
  process's sockets: there the server does its timed work itself (an app
  asks for it through ``core.hooks.server_started``, when ``TIMED_WORK_IN_SERVER``).

    stop = threading.Event()
    run_until_stopped(messages_expire_due, interval=60, stop=stop, log=print)   # manage.py expire_messages --loop
    hooks.server_started.connect(lambda tasks: tasks.append(run_in_server(messages_expire_due, interval=60)))
"""

import asyncio
import logging
import threading
from collections.abc import Callable
from datetime import datetime

from django.db import DatabaseError
from django.utils import timezone

from core.runtime.asyncdb import db

logger = logging.getLogger(__name__)

TimedJob = Callable[[datetime], datetime | None]

# Something still due right after the job ran is something it could not take
# (a row another transaction holds): look again after this, not at once.
RETRY_SECONDS = 1.0
# Wake this much after the due time, so that it has passed by the job's clock.
PAST_DUE_SECONDS = 0.01


def seconds_until(due: datetime | None, *, now: datetime, interval: float) -> float:
    """How long a runner waits before calling the job again, given what it said is next ``due``."""
    if due is None:
        return interval
    wait = (due - now).total_seconds()
    if wait <= 0:
        return min(RETRY_SECONDS, interval)
    return min(wait + PAST_DUE_SECONDS, interval)


def run_until_stopped(job: TimedJob, *, interval: float, stop: threading.Event,
                      log: Callable[[str], None], clock: Callable[[], datetime] = timezone.now) -> None:
    """Call ``job`` whenever something is due, until ``stop`` is set; a database error waits an interval."""
    while not stop.is_set():
        try:
            due = job(clock())
        except DatabaseError as error:
            # The database is away (restarting, failing over): the next call catches up.
            log(f"Timed work failed, trying again in {interval} s: {error}")
            due = None
        stop.wait(seconds_until(due, now=clock(), interval=interval))


async def run_in_server(job: TimedJob, *, interval: float, clock: Callable[[], datetime] = timezone.now) -> None:
    """``run_until_stopped`` as a task of the server's event loop, the job on a database thread; ends when cancelled."""
    while True:
        try:
            due = await db(job)(clock())
        except DatabaseError as error:
            logger.warning("Timed work failed, trying again in %s s: %s", interval, error)
            due = None
        except Exception:
            # A bug must not end the task for the server's whole life.
            logger.exception("Timed work failed, trying again in %s s", interval)
            due = None
        await asyncio.sleep(seconds_until(due, now=clock(), interval=interval))
