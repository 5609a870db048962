"""A user's data export, its state and its archive (chat.exports); re-exported by chat.models."""

import uuid

from django.conf import settings
from django.core.files.storage import storages
from django.core.signals import setting_changed
from django.db import models
from django.dispatch import receiver
from django.utils.functional import LazyObject, empty


class _ExportStorage(LazyObject):
    """STORAGES["exports"], looked up when first used and again after the setting changes (tests)."""

    def _setup(self):
        self._wrapped = storages["exports"]


_export_storage = _ExportStorage()


@receiver(setting_changed)
def _storages_changed(*, setting, **kwargs):
    if setting == "STORAGES":
        _export_storage._wrapped = empty


def export_storage():
    return _export_storage


class DataExport(models.Model):
    """
    One "download your data" request: asked by the user (or by staff for
    them, ``requested_by``), built by the queue's worker into a zip archive
    kept in the "exports" storage under a random name until ``expires_at``,
    then deleted by ``manage.py cleanup_exports`` (the row stays, ``expired``,
    so the once-a-day rule still sees it).
    """

    PENDING, BUILDING, READY, FAILED, EXPIRED = "pending", "building", "ready", "failed", "expired"
    STATUSES = [(PENDING, "pending"), (BUILDING, "building"), (READY, "ready"), (FAILED, "failed"), (EXPIRED, "expired")]

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="data_exports")
    # Staff who started it from the admin; null: the user asked.
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(max_length=16, choices=STATUSES, default=PENDING)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Set when it is ready: the archive is deleted then.
    expires_at = models.DateTimeField(null=True, blank=True)
    file = models.FileField(storage=export_storage, max_length=255, blank=True, default="")
    size = models.PositiveBigIntegerField(default=0)
    # The archive left messages or files out to stay within DATA_EXPORT_MAX_MESSAGES / DATA_EXPORT_MAX_BYTES.
    truncated = models.BooleanField(default=False)
    message_count = models.PositiveIntegerField(default=0)
    attachment_count = models.PositiveIntegerField(default=0)
    # Why it failed, for staff (the user sees "failed" only).
    error = models.CharField(max_length=255, blank=True, default="")

    class Meta:
        app_label = "chat"
        indexes = [models.Index(fields=["user", "-created_at"], name="exports_by_user")]

    def __str__(self):
        return f"export {self.id} of {self.user_id} ({self.status})"
