"""
The scheduled-message runner: every pending scheduled message whose time has
come is sent through the one send path (chat.messages.send.message_send) as
its author, exactly once, however many runners there are and however long
they were down.

``scheduled_send_due`` is one pass. It reads the due rows' ids, oldest time
first, CHAT_SCHEDULED_BATCH_SIZE at a time, and sends each in a transaction
of its own that first locks the row and reads it still pending (``SELECT
... FOR UPDATE SKIP LOCKED`` on PostgreSQL: a row another runner holds is
its to send; SQLite has one writer at a time), then sends and marks it
``sent`` with the message, so the row's state changes in the message's own
transaction. As a second guard, the send's ``client_id`` is the row's
(``scheduled:<hex>``): should a row ever be sent twice, the unique constraint
gives back the first message. Whether the author may post is asked by the
send, at the time: a refusal (no longer a member, a block, a deleted peer, a
reply whose message went) marks the row ``failed`` with the error's code and
detail, and the author's sockets get ``scheduled.failed``. A runner that was
down sends everything that fell due meanwhile on its first pass (late, in
time order): nothing is skipped.

``scheduled_send_due_job`` is the pass as a timed job (core.timed): it also
says when the next pending row falls due, so ``manage.py send_scheduled
--loop``, or the server itself in the embedded default (TIMED_WORK_IN_SERVER),
wakes then, and looks at least every CHAT_SCHEDULED_MAX_SLEEP_SECONDS for rows
scheduled meanwhile by other processes.

    sent = scheduled_send_due()                  # a pass; returns how many were sent
    scheduled_send_due(now=moment, batch_size=2) # a test, with its own clock
    scheduled_next_due()                         # datetime of the next pending row, or None
    scheduled_send_due_job(timezone.now())       # a pass, then the next due time (core.timed)
"""

import logging
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from chat.messages.scheduled import scheduled_failed_event
from chat.messages.send import message_send
from chat.models import Attachment, ScheduledMessage
from core.errors import ApplicationError
from core.groups import user_group
from core.outbox import Outbox, with_outbox
from core.timed import run_in_server

logger = logging.getLogger(__name__)


def scheduled_next_due() -> datetime | None:
    """When the earliest pending scheduled message falls due (None: none waits); one index probe."""
    return (
        ScheduledMessage.objects.filter(state=ScheduledMessage.PENDING)
        .order_by("send_at").values_list("send_at", flat=True).first()
    )


def scheduled_send_due_job(now: datetime) -> datetime | None:
    """The timed job (core.timed): a pass as of ``now``, then when the next pending row falls due."""
    scheduled_send_due(now=now)
    return scheduled_next_due()


def send_scheduled_in_server(*, tasks: list) -> None:
    """``core.hooks.server_started``'s receiver: with TIMED_WORK_IN_SERVER the server process sends them."""
    if settings.TIMED_WORK_IN_SERVER:
        tasks.append(run_in_server(scheduled_send_due_job, interval=settings.CHAT_SCHEDULED_MAX_SLEEP_SECONDS))


def scheduled_send_due(*, now: datetime | None = None, batch_size: int | None = None) -> int:
    """One pass: send every pending scheduled message due by ``now`` (default: the time now); returns how many."""
    now = now or timezone.now()
    batch_size = batch_size or settings.CHAT_SCHEDULED_BATCH_SIZE
    sent, seen = 0, set()
    while True:
        due = list(
            ScheduledMessage.objects.filter(state=ScheduledMessage.PENDING, send_at__lte=now)
            .exclude(id__in=seen).order_by("send_at").values_list("id", flat=True)[:batch_size]
        )
        for scheduled_id in due:
            sent += scheduled_send_one(scheduled_id=scheduled_id, now=now)
        seen.update(due)
        if len(due) < batch_size:
            return sent


@with_outbox
def scheduled_send_one(*, scheduled_id, now: datetime, outbox: Outbox) -> bool:
    """
    Send one scheduled message if it is still pending and due, in one
    transaction; True when a message was sent. A refusal of the send marks
    it failed (and tells its author); any other error rolls back and leaves
    it pending for the next pass.
    """
    with transaction.atomic():
        row = (
            ScheduledMessage.objects.select_for_update(skip_locked=True, of=("self",)).select_related("sender")
            .filter(id=scheduled_id, state=ScheduledMessage.PENDING, send_at__lte=now).first()
        )
        if row is None:  # another runner has it, or sent it, or its author changed or cancelled it
            return False
        try:
            with transaction.atomic():
                if not row.sender.is_active or row.sender.is_deleted:
                    raise ApplicationError("The account that scheduled it is no longer active.",
                                           code="sender_inactive")
                # Its uploads, let go of so that the send takes them (back on hold if it is refused).
                upload_ids = [str(i) for i in row.attachments.values_list("id", flat=True)]
                Attachment.objects.filter(scheduled=row).update(scheduled=None)
                message, _ = message_send(
                    conversation_id=row.conversation_id, sender=row.sender, body=row.body, client_id=row.client_id,
                    reply_to=row.reply_to_id, thread_id=row.thread_id, metadata=row.metadata,
                    attachment_ids=upload_ids or None, clears_draft=False, outbox=outbox,
                )
        except ApplicationError as error:
            row.state, row.failure_code, row.failure_detail = ScheduledMessage.FAILED, error.code, error.detail
            row.save(update_fields=["state", "failure_code", "failure_detail", "updated_at"])
            Attachment.objects.filter(scheduled=row).update(scheduled=None)  # unsent uploads, swept in time
            outbox.emit(user_group(row.sender_id), scheduled_failed_event(row))
            logger.info("Scheduled message %s was refused at its time: %s", row.id, error.code)
            return False
        row.state, row.message = ScheduledMessage.SENT, message
        row.save(update_fields=["state", "message", "updated_at"])
    return True
