"""JSON shape of a data export as its user sees it."""

from django.utils import timezone
from rest_framework import serializers

from chat.exports.links import export_link
from chat.messages.serializers import timestamp
from chat.models import DataExport


def export_data(export: DataExport, *, next_request_at) -> dict:
    """The export's state; a ready one with a fresh signed download link."""
    status = export.status
    if status == DataExport.READY and export.expires_at and export.expires_at <= timezone.now():
        status = DataExport.EXPIRED  # past its time, before the housekeeping deleted it
    url, until = export_link(export) if status == DataExport.READY else (None, None)
    return {
        "id": str(export.id),
        "status": status,
        "created_at": timestamp(export.created_at),
        "started_at": timestamp(export.started_at),
        "finished_at": timestamp(export.finished_at),
        "expires_at": timestamp(export.expires_at),
        "size": export.size if status == DataExport.READY else None,
        "truncated": export.truncated,
        "download_url": url,
        "download_expires_at": timestamp(until),
        "next_request_at": timestamp(next_request_at),
    }


class ExportOut(serializers.Serializer):
    id = serializers.UUIDField()
    status = serializers.ChoiceField(choices=[choice for choice, _ in DataExport.STATUSES])
    created_at = serializers.DateTimeField(help_text="When it was asked for.")
    started_at = serializers.DateTimeField(allow_null=True, help_text="When the worker started building it.")
    finished_at = serializers.DateTimeField(allow_null=True, help_text="When it was ready or failed.")
    expires_at = serializers.DateTimeField(
        allow_null=True, help_text="Ready: when the archive is deleted (DATA_EXPORT_KEEP_HOURS after it was built)."
    )
    size = serializers.IntegerField(allow_null=True, help_text="Ready: the archive's bytes.")
    truncated = serializers.BooleanField(
        help_text="The archive left messages or files out (DATA_EXPORT_MAX_MESSAGES, DATA_EXPORT_MAX_BYTES)."
    )
    download_url = serializers.URLField(
        allow_null=True, help_text="Ready: a signed link to the zip, working for DATA_EXPORT_URL_EXPIRE seconds."
    )
    download_expires_at = serializers.DateTimeField(allow_null=True, help_text="When `download_url` stops working.")
    next_request_at = serializers.DateTimeField(
        allow_null=True, help_text="When another export may be asked for; null: now."
    )
