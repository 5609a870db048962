"""
Signed download links of data exports, and the download itself.

A link is ``/api/auth/export/download/<token>/``, the token the export's id
signed with Django's signing (TimestampSigner, its own salt): whoever holds
it may download the archive for DATA_EXPORT_URL_EXPIRE seconds, as with an
object store's presigned URL (a browser follows a link without the API's
token). GET /api/auth/export/ hands the owner a fresh one each time.

The archive is served as attachments are (chat.attachments.api): from the
filesystem, its bytes; from object storage, a redirect to the storage's own
signed URL.
"""

from datetime import timedelta
from urllib.parse import quote

from django.conf import settings
from django.core import signing
from django.core.files.storage import FileSystemStorage
from django.http import FileResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone

from chat.models import DataExport
from core.errors import Forbidden, NotFound
from core.public_urls import absolute_url

_SALT = "chat.exports.download"


def export_link(export: DataExport) -> tuple[str, object]:
    """A signed download URL of a ready export, and when it stops working."""
    token = signing.TimestampSigner(salt=_SALT).sign(str(export.id))
    url = absolute_url(reverse("auth-export-download", args=[token]))
    until = timezone.now() + timedelta(seconds=settings.DATA_EXPORT_URL_EXPIRE)
    return url, min(until, export.expires_at) if export.expires_at else until


def export_from_link(token: str) -> DataExport:
    """The ready export a link names: NotFound when it is not a link of ours; Forbidden when it is too old."""
    try:
        export_id = signing.TimestampSigner(salt=_SALT).unsign(token, max_age=settings.DATA_EXPORT_URL_EXPIRE)
    except signing.SignatureExpired:
        raise Forbidden("This download link has expired: ask for a new one (GET /api/auth/export/).",
                        code="link_expired") from None
    except signing.BadSignature:
        raise NotFound("No such export.") from None
    export = DataExport.objects.filter(id=export_id, status=DataExport.READY, expires_at__gt=timezone.now()).first()
    if export is None or not export.file:
        raise NotFound("No such export, or it has expired.")
    return export


def export_file_response(export: DataExport):
    """The archive as a download (the filesystem), or a redirect to the storage's signed URL."""
    storage = export.file.storage
    filename = f"chat-export-{export.created_at:%Y-%m-%d}.zip"
    disposition = f"attachment; filename*=UTF-8''{quote(filename)}"
    if not isinstance(storage, FileSystemStorage):
        url = storage.url(
            export.file.name,
            parameters={"ResponseContentType": "application/zip", "ResponseContentDisposition": disposition},
        )
        response = HttpResponseRedirect(url)
    else:
        response = FileResponse(storage.open(export.file.name, "rb"), content_type="application/zip")
        response["Content-Disposition"] = disposition
        response["Content-Length"] = str(export.size)
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response
