"""
The expiry pass: disappearing messages and retention (docs/protocol.md,
"Disappearing messages"; docs/operations.md, "Expiring messages").

A message expires when its ``expires_at`` (set when it was sent, from the
conversation's disappearing timer) has passed, or, with
CHAT_MESSAGE_RETENTION_DAYS set, once it is older than that, whatever the
timer and whatever its kind (retention covers system messages too: they
name people and titles). ``expired`` is that rule, written once; search
reads it so that it never finds a message that has expired but that the
pass has not reached yet.

Why ``expires_at`` is stored when a message is sent rather than computed in
the query from the conversation's timer: the timer applies to messages sent
after it was set, so the query would need the timer's history, not its value
now; and a stored time has an index that holds only what is left to expire.
It costs one column that the send's own statement writes (the seq bump reads
the timer from the row it locks anyway). Retention has no such history, so
it is computed: ``created_at`` before now less CHAT_MESSAGE_RETENTION_DAYS.

``messages_expire`` is one pass: it turns expired messages into tombstones
marked ``expired`` (chat.messages.services.messages_tombstone, the same as a
user's delete: same seq, no body, reactions and files gone) in batches of
CHAT_EXPIRY_BATCH_SIZE, each its own transaction, whose
``chat.message.deleted`` events leave once it commits, so a pass holds at
most a batch of rows, locks and events at a time. ``messages_expire_due`` is
the pass as a timed job (core.timed): it also says when the next message is
due, so that ``manage.py expire_messages --loop``, or the server itself in
the embedded default, wakes at that time rather than at the next interval.

    expired_count = messages_expire()                          # manage.py expire_messages
    messages_expire(now=moment, batch_size=2)                  # a test, with its own clock
    next_due = messages_expire_due(timezone.now())             # the timed job
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from chat.messages.services import messages_tombstone
from chat.models import ConversationMessage
from core.outbox import Outbox, with_outbox
from core.timed import run_in_server


def retention_cutoff(now: datetime) -> datetime | None:
    """Messages created before this are past CHAT_MESSAGE_RETENTION_DAYS (None: no retention)."""
    days = settings.CHAT_MESSAGE_RETENTION_DAYS
    return now - timedelta(days=days) if days else None


def expired(now: datetime) -> Q:
    """Messages that have expired by ``now``: their timer ran out, or retention's did."""
    condition = Q(expires_at__lte=now)
    cutoff = retention_cutoff(now)
    if cutoff is not None:
        condition |= Q(created_at__lt=cutoff)
    return condition


def live_messages():
    """Messages the pass may still turn into tombstones (what both its reads and ``next_expiry`` start from)."""
    return ConversationMessage.objects.filter(deleted_at__isnull=True)


def next_expiry() -> datetime | None:
    """
    When the next live message expires, by its timer or by retention; None if
    none will. Two reads of one row each, over the pass's own indexes.
    """
    candidates = [
        live_messages().filter(expires_at__isnull=False).order_by("expires_at")
        .values_list("expires_at", flat=True).first()
    ]
    if days := settings.CHAT_MESSAGE_RETENTION_DAYS:
        oldest = live_messages().order_by("created_at").values_list("created_at", flat=True).first()
        candidates.append(oldest + timedelta(days=days) if oldest else None)
    return min((due for due in candidates if due is not None), default=None)


def messages_expire_due(now: datetime) -> datetime | None:
    """The timed job (core.timed): one pass as of ``now``, then when the next message is due."""
    messages_expire(now=now)
    return next_expiry()


def expire_in_server(*, tasks: list) -> None:
    """``core.hooks.server_started``'s receiver: with TIMED_WORK_IN_SERVER the server process expires messages."""
    if settings.TIMED_WORK_IN_SERVER:
        tasks.append(run_in_server(messages_expire_due, interval=settings.CHAT_EXPIRY_INTERVAL_SECONDS))


def messages_expire(*, now: datetime | None = None, batch_size: int | None = None) -> int:
    """One pass: every message expired by ``now`` (default: the time now) becomes a tombstone. Returns how many."""
    now = now or timezone.now()
    batch_size = batch_size or settings.CHAT_EXPIRY_BATCH_SIZE
    total = 0
    while True:
        done = messages_expire_batch(now=now, limit=batch_size)
        total += done
        if done < batch_size:
            return total


@with_outbox
def messages_expire_batch(*, now: datetime, limit: int, outbox: Outbox) -> int:
    """
    At most ``limit`` expired messages become tombstones, in one transaction;
    returns how many. Timers first, then retention; each read follows its
    partial index (migration 0013: ``message_expiring``, ``message_live_by_age``)
    oldest first. Rows another transaction holds (a user deleting one) are
    skipped on PostgreSQL and left for the next batch or pass.
    """
    live = live_messages().for_display()
    with transaction.atomic():
        batch = list(
            live.filter(expires_at__isnull=False, expires_at__lte=now)
            .order_by("expires_at")
            .select_for_update(of=("self",), skip_locked=True)[:limit]
        )
        cutoff = retention_cutoff(now)
        if cutoff is not None and len(batch) < limit:
            batch += list(
                live.filter(created_at__lt=cutoff)
                .exclude(id__in=[message.id for message in batch])
                .order_by("created_at")
                .select_for_update(of=("self",), skip_locked=True)[: limit - len(batch)]
            )
        messages_tombstone(batch, expired=True, outbox=outbox)
    return len(batch)
