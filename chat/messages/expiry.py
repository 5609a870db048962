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
most a batch of rows, locks and events at a time. ``manage.py
expire_messages`` runs it once or every CHAT_EXPIRY_INTERVAL_SECONDS.

    expired_count = messages_expire()                          # the command
    messages_expire(now=moment, batch_size=2)                  # a test, with its own clock
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from chat.messages.services import messages_tombstone
from chat.models import ConversationMessage
from core.outbox import Outbox, with_outbox


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
    live = ConversationMessage.objects.for_display().filter(deleted_at__isnull=True)
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
