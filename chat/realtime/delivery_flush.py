"""
The process's delivered positions: noted per frame, written per interval.

Sockets (chat.realtime.session, through the consumers) call ``record`` for
every message frame they send; it only notes the seq in a
``DeliveryTracker`` (chat.realtime.deliveries). The first note after a
flush sets a timer for the end of the interval (CHAT_DELIVERY_FLUSH_SECONDS);
past CHAT_DELIVERY_MAX_PENDING positions waiting, the flush runs at once.
A flush writes everything in one statement (chat.receipts.deliveries,
from the event loop on PostgreSQL, else on a database thread), then
publishes one ``chat.delivered`` event per conversation whose positions
moved, to its room group. The server flushes once more as it stops
(``core.hooks.server_stopping``).

What a crash loses: the positions noted since the last flush, at most one
interval's worth. Clients derive "delivered" from read positions too (a
member who read a message has it), and the next message delivered to a
member carries their position past anything lost.

    flusher = process_deliveries()
    flusher.record(conversation_id, user_id, seq)   # per frame: a dict update
    await flusher.flush()                           # tests, shutdown
    push_deliveries().record(conversation_id, user_id, seq)   # from a push worker's thread
"""

import asyncio
import logging
import threading
from collections.abc import Awaitable, Callable
from functools import cache

from django.conf import settings
from django.db import close_old_connections

from chat.receipts.deliveries import Positions, deliveries_record, deliveries_record_on_loop
from core import outbox
from core.outages import REDIS, REDIS_ERRORS, database_failed
from core.runtime.asyncdb import loop_or_db

from . import events
from .deliveries import DeliveryTracker
from .groups import room_group

logger = logging.getLogger(__name__)

Write = Callable[..., Awaitable[Positions]]
Publish = Callable[[str, dict], Awaitable[None]]


class DeliveryFlusher:
    """A process's delivered positions on its event loop: noted per frame, written and announced per interval."""

    def __init__(self, *, tracker: DeliveryTracker | None = None, write: Write | None = None,
                 publish: Publish = outbox.publish):
        self.tracker = tracker if tracker is not None else DeliveryTracker(
            interval=settings.CHAT_DELIVERY_FLUSH_SECONDS, max_pending=settings.CHAT_DELIVERY_MAX_PENDING
        )
        self._write = write
        self._publish = publish
        self._timer: asyncio.TimerHandle | None = None

    def record(self, conversation_id: str, user_id: str, seq: int) -> None:
        """``seq`` reached one of ``user_id``'s sockets (or devices) in ``conversation_id``."""
        if self.tracker.record(conversation_id, user_id, seq):
            self._cancel_timer()
            asyncio.ensure_future(self.flush())
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self.tracker.wait(), self._flush_later)

    def _flush_later(self) -> None:
        self._timer = None
        asyncio.ensure_future(self.flush())

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    async def flush(self) -> None:
        """Write what waits (one statement) and tell each conversation whose positions moved."""
        self._cancel_timer()
        pending = self.tracker.take()
        if not pending:
            return
        write = self._write or loop_or_db(deliveries_record_on_loop, deliveries_record)
        try:
            moved = await write(positions=pending)
        except Exception as error:
            # Lost: one interval's positions; the next delivery carries each member past them.
            if not database_failed(error):
                logger.exception("Could not write %s delivered positions", sum(map(len, pending.values())))
            return
        for group, event in delivered_events(moved):
            try:
                await self._publish(group, event)
            except REDIS_ERRORS as error:  # saved: clients read the positions over REST
                REDIS.failed(error)
                return
            except Exception:
                logger.warning("Could not publish delivered positions", exc_info=True)
                return


def delivered_events(moved: Positions) -> list[tuple[str, dict]]:
    """One ``chat.delivered`` event per conversation whose positions moved, for its room group."""
    return [
        (room_group(conversation_id), events.delivered(conversation_id=conversation_id, positions=positions))
        for conversation_id, positions in moved.items()
    ]


class ThreadDeliveryFlusher:
    """
    ``DeliveryFlusher`` for threads with no event loop (the push worker's:
    a push a push service accepted delivers its message): the same tracker
    behind a lock, flushed by a timer thread, written with the ORM and
    published through an ``Outbox``.
    """

    def __init__(self, *, tracker: DeliveryTracker | None = None, write=deliveries_record):
        self.tracker = tracker if tracker is not None else DeliveryTracker(
            interval=settings.CHAT_DELIVERY_FLUSH_SECONDS, max_pending=settings.CHAT_DELIVERY_MAX_PENDING
        )
        self._write = write
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None

    def record(self, conversation_id: str, user_id: str, seq: int) -> None:
        with self._lock:
            now = self.tracker.record(conversation_id, user_id, seq)
            if not now and self._timer is None:
                self._timer = threading.Timer(self.tracker.wait(), self.flush)
                self._timer.daemon = True
                self._timer.start()
        if now:
            self.flush()

    def flush(self) -> None:
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            pending = self.tracker.take()
        if not pending:
            return
        try:
            moved = self._write(positions=pending)
        except Exception as error:
            if not database_failed(error):
                logger.exception("Could not write %s delivered positions", sum(map(len, pending.values())))
            return
        finally:
            close_old_connections()
        box = outbox.Outbox()
        for group, event in delivered_events(moved):
            box.emit(group, event)
        box.flush_sync()


_push_deliveries: ThreadDeliveryFlusher | None = None
_push_lock = threading.Lock()


def push_deliveries() -> ThreadDeliveryFlusher:
    """This process's flusher for pushes, made on first use (from any thread)."""
    global _push_deliveries
    with _push_lock:
        if _push_deliveries is None:
            _push_deliveries = ThreadDeliveryFlusher()
        return _push_deliveries


@cache
def process_deliveries() -> DeliveryFlusher:
    """This process's flusher, made on first use."""
    return DeliveryFlusher()


def flush_at_shutdown(*, tasks: list) -> None:
    """``core.hooks.server_stopping``'s receiver: the last positions are written before the process exits."""
    if process_deliveries.cache_info().currsize:
        tasks.append(process_deliveries().flush())
    if _push_deliveries is not None:  # the embedded push worker's threads
        tasks.append(asyncio.to_thread(_push_deliveries.flush))
