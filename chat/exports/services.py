"""
Writes of data exports ("download your data"):

    export = export_request(user=user)                        # POST /api/auth/export/: at most one a day
    export = export_request(user=user, requested_by=staff)    # the admin's action: no daily rule
    export_build(export_id=export.id)                         # the queue's job (chat.exports.jobs)
    exports_cleanup(now=timezone.now())                       # manage.py cleanup_exports
    exports_delete(user=user)                                 # the account is being deleted

An export is ``pending`` until the worker takes it, ``building`` while it
writes the archive, then ``ready`` (until ``expires_at``, when the archive
is deleted and it is ``expired``) or ``failed``. The user is told on their
sockets (``export.updated``) and by email when it is ready. Exports staff
start are theirs: the user is not told, and they do not count for the
user's once-a-day rule.
"""

import logging
import secrets
import tempfile
from datetime import timedelta

from django.conf import settings
from django.core.files import File
from django.core.mail import EmailMessage
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from chat.exports import archive, selectors
from chat.exports.jobs import export_enqueue
from chat.models import DataExport
from chat.realtime import events
from core.errors import TooManyRequests
from core.groups import user_group
from core.outbox import Outbox, with_outbox
from useraccount import mail
from useraccount.models import User

logger = logging.getLogger(__name__)


def export_next_allowed_at(*, export: DataExport | None):
    """When the user may ask for their next export after ``export`` (the latest that counts); None: now."""
    if export is None:
        return None
    at = export.created_at + timedelta(hours=settings.DATA_EXPORT_INTERVAL_HOURS)
    return at if at > timezone.now() else None


@with_outbox
def export_request(*, user: User, outbox: Outbox, requested_by: User | None = None) -> DataExport:
    """
    Ask for an export of ``user``'s data; the worker builds it once this
    commits. The user themselves: at most one per DATA_EXPORT_INTERVAL_HOURS
    (TooManyRequests, saying when; a failed one does not count). Staff
    (``requested_by``): any time, but one at a time per user.
    """
    with transaction.atomic():
        User.objects.select_for_update().filter(id=user.id).first()  # one request at a time per user
        if requested_by is None:
            next_at = export_next_allowed_at(export=selectors.export_latest_counted(user=user))
            if next_at is not None:
                wait = max(1, int((next_at - timezone.now()).total_seconds()) + 1)
                raise TooManyRequests(
                    f"You can ask for one export every {settings.DATA_EXPORT_INTERVAL_HOURS} hours; "
                    f"the next from {next_at.isoformat(timespec='seconds').replace('+00:00', 'Z')}.",
                    retry_after=wait, code="export_too_soon",
                )
        else:
            running = selectors.staff_export_running(user=user)
            if running is not None:
                return running
        export = DataExport.objects.create(user=user, requested_by=requested_by)
        outbox.after_commit(lambda: export_enqueue(export_id=export.id))
    logger.info("Data export %s of user %s asked for%s", export.id, user.id,
                f" by staff {requested_by.id}" if requested_by else "")
    return export


def export_build(*, export_id) -> DataExport | None:
    """
    Build the archive of a pending export (the queue's job): written to a
    temporary file, then saved in the exports storage under a random name.
    A job run again (its worker died) builds it again; an export deleted
    meanwhile (the account went) is left alone, its file removed.
    """
    now = timezone.now()
    taken = DataExport.objects.filter(id=export_id, status__in=[DataExport.PENDING, DataExport.BUILDING]).update(
        status=DataExport.BUILDING, started_at=now
    )
    if not taken:
        return None
    export = DataExport.objects.select_related("user", "requested_by").get(id=export_id)
    limits = archive.Limits(messages=settings.DATA_EXPORT_MAX_MESSAGES, bytes=settings.DATA_EXPORT_MAX_BYTES)
    try:
        with tempfile.TemporaryFile(suffix=".zip") as out:
            summary = archive.archive_write(user=export.user, out=out, limits=limits, export_id=export.id, now=now)
            out.seek(0, 2)
            size = out.tell()
            out.seek(0)
            stored = export.file.storage.save(f"{secrets.token_urlsafe(24)}.zip", File(out))
    except Exception as error:
        logger.exception("Data export %s failed", export_id)
        export_fail(export_id=export_id, reason=f"{type(error).__name__}: {error}"[:255])
        return None
    return _export_ready(export=export, stored=stored, size=size, summary=summary)


@with_outbox
def _export_ready(*, export: DataExport, stored: str, size: int, summary, outbox: Outbox) -> DataExport | None:
    finished = timezone.now()
    with transaction.atomic():
        updated = DataExport.objects.filter(id=export.id, status=DataExport.BUILDING).update(
            status=DataExport.READY, file=stored, size=size, finished_at=finished,
            expires_at=finished + timedelta(hours=settings.DATA_EXPORT_KEEP_HOURS), truncated=summary.truncated,
            message_count=summary.messages, attachment_count=summary.attachments, error="",
        )
        if not updated:  # deleted (the account went) or failed meanwhile: the file is nobody's
            transaction.on_commit(lambda: _delete_file(stored))
            return None
        export = DataExport.objects.select_related("user").get(id=export.id)
        if export.requested_by_id is None:
            outbox.emit(user_group(export.user_id), events.export_updated(export))
            outbox.after_commit(lambda: _email_ready(export))
    logger.info("Data export %s ready: %d bytes%s", export.id, size, ", cut" if summary.truncated else "")
    return export


@with_outbox
def export_fail(*, export_id, reason: str, outbox: Outbox) -> None:
    """Mark a pending or building export failed (the user may ask again at once) and tell its user."""
    with transaction.atomic():
        export = DataExport.objects.select_for_update().filter(
            id=export_id, status__in=[DataExport.PENDING, DataExport.BUILDING]
        ).first()
        if export is None:
            return
        export.status, export.error, export.finished_at = DataExport.FAILED, reason[:255], timezone.now()
        export.save(update_fields=["status", "error", "finished_at"])
        if export.requested_by_id is None:
            outbox.emit(user_group(export.user_id), events.export_updated(export))


def _email_ready(export: DataExport) -> None:
    """Tell the user by email, when the server sends mail (no link in it: the app gives a fresh one)."""
    if settings.EMAIL_BACKEND.endswith(".dummy.EmailBackend") or export.user.deleted_at is not None:
        return
    context = {"user": export.user, "export": export, "hours": settings.DATA_EXPORT_KEEP_HOURS}
    message = EmailMessage(
        subject=render_to_string("chat/export_ready_subject.txt", context).strip(),
        body=render_to_string("chat/export_ready_email.txt", context),
        to=[export.user.email],
    )
    mail.send_later(message, user_id=export.user_id)


def exports_cleanup(*, now) -> tuple[int, int]:
    """
    Housekeeping: delete the archives of ready exports past ``expires_at``
    (the rows stay, ``expired``), and mark failed the exports that stayed
    pending or building past DATA_EXPORT_TIME_LIMIT and a margin (their
    job was lost). Returns (expired, failed).
    """
    expired = 0
    while True:
        with transaction.atomic():
            batch = list(
                DataExport.objects.select_for_update().filter(status=DataExport.READY, expires_at__lte=now)[:500]
            )
            files = [export.file.name for export in batch if export.file]
            DataExport.objects.filter(id__in=[export.id for export in batch]).update(
                status=DataExport.EXPIRED, file="", size=0
            )
            transaction.on_commit(lambda files=files: [_delete_file(name) for name in files])
        expired += len(batch)
        if len(batch) < 500:
            break
    stuck_before = now - timedelta(seconds=settings.DATA_EXPORT_TIME_LIMIT * 2)
    stuck = list(DataExport.objects.filter(
        status__in=[DataExport.PENDING, DataExport.BUILDING], created_at__lt=stuck_before
    ).values_list("id", flat=True)[:500])
    for export_id in stuck:
        export_fail(export_id=export_id, reason="Not built in time (its job was lost).")
    return expired, len(stuck)


def exports_delete(*, user: User) -> int:
    """Delete every export of ``user`` and, after commit, their archives (inside the account deletion)."""
    exports = list(DataExport.objects.select_for_update().filter(user=user))
    files = [export.file.name for export in exports if export.file]
    DataExport.objects.filter(id__in=[export.id for export in exports]).delete()
    transaction.on_commit(lambda: [_delete_file(name) for name in files])
    return len(exports)


def _delete_file(name: str) -> None:
    from chat.models import export_storage

    try:
        export_storage().delete(name)
    except Exception:
        logger.warning("Could not delete the export archive %s", name, exc_info=True)
