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
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from functools import cache

from django.conf import settings

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
    def __init__(self, *, tracker: DeliveryTracker | None = None, write: Write | None = None,
                 publish: Publish = outbox.publish):
        self.tracker = tracker or DeliveryTracker(
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
        for conversation_id, positions in moved.items():
            try:
                await self._publish(
                    room_group(conversation_id), events.delivered(conversation_id=conversation_id, positions=positions)
                )
            except REDIS_ERRORS as error:  # saved: clients read the positions over REST
                REDIS.failed(error)
                return
            except Exception:
                logger.warning("Could not publish delivered positions", exc_info=True)
                return


@cache
def process_deliveries() -> DeliveryFlusher:
    """This process's flusher, made on first use."""
    return DeliveryFlusher()


def flush_at_shutdown(*, tasks: list) -> None:
    """``core.hooks.server_stopping``'s receiver: the last positions are written before the process exits."""
    if process_deliveries.cache_info().currsize:
        tasks.append(process_deliveries().flush())
