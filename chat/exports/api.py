"""
Data export endpoints ("download your data"; docs/exports.md):

    POST /api/auth/export/                    -> 202 the new export (at most one per DATA_EXPORT_INTERVAL_HOURS, else 429)
    GET  /api/auth/export/                    -> 200 the latest export, with a signed download link once ready
    GET  /api/auth/export/download/<token>/   -> the zip (a signed link: no token needed, DATA_EXPORT_URL_EXPIRE seconds)

They live in the chat app (the archive holds conversations and messages),
under the account's URLs, as the profile with presence does (chat.people).
"""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from chat.exports import selectors
from chat.exports.links import export_file_response, export_from_link
from chat.exports.serializers import ExportOut, export_data
from chat.exports.services import export_next_allowed_at, export_request
from core.errors import NotFound
from core.schema import errors
from core.throttling import UserThrottle


class ExportView(APIView):
    throttle_classes = [UserThrottle]

    @extend_schema(
        tags=["accounts"], responses={200: ExportOut, **errors(401, 404)},
        description=(
            "Your latest data export: `pending`, `building`, `ready` (with `download_url`, a signed link to the "
            "zip working DATA_EXPORT_URL_EXPIRE seconds; ask again for a fresh one), `failed` or `expired` (the "
            "archive is kept DATA_EXPORT_KEEP_HOURS). 404 when you never asked for one."
        ),
    )
    def get(self, request):
        export = selectors.export_latest(user=request.user)
        if export is None:
            raise NotFound("You have not asked for an export of your data.")
        counted = selectors.export_latest_counted(user=request.user)
        return Response(export_data(export, next_request_at=export_next_allowed_at(export=counted)))

    @extend_schema(
        tags=["accounts"], request=None, responses={202: ExportOut, **errors(401)},
        description=(
            "Ask for an export of your data: a zip of your profile, your conversations, the messages you sent "
            "and your files, built by the worker; your notifications sockets get `export.updated` (and an email "
            "goes out, when the server sends mail) once it is ready. At most one per DATA_EXPORT_INTERVAL_HOURS "
            "(24): sooner is a 429 `export_too_soon` whose `retry_after` and `detail` say when (one that failed "
            "does not count)."
        ),
    )
    def post(self, request):
        export = export_request(user=request.user)
        return Response(export_data(export, next_request_at=export_next_allowed_at(export=export)),
                        status=status.HTTP_202_ACCEPTED)


class ExportDownloadView(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []
    throttle_classes = [UserThrottle]

    @extend_schema(
        tags=["accounts"], auth=[],
        responses={(200, "application/zip"): OpenApiTypes.BINARY, 302: None, **errors(403, 404)},
        description=(
            "The archive, through the signed link `GET /api/auth/export/` gives (the link is the credential, so a "
            "browser can follow it). From the filesystem: the zip. From object storage: a redirect to a signed URL. "
            "403 `link_expired` past DATA_EXPORT_URL_EXPIRE seconds; 404 for a link that is not ours or an export "
            "that expired."
        ),
    )
    def get(self, request, token):
        return export_file_response(export_from_link(token))
