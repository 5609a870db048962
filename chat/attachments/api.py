"""
Attachment endpoints:

    POST /api/chat/<id>/attachments/  multipart file       -> 201 attachment
    GET  /api/chat/<id>/attachments/<attachment_id>/       -> the file (members only)
"""

from urllib.parse import quote

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.http import FileResponse, HttpResponseRedirect
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from chat.attachments.selectors import attachment_for_user
from chat.attachments.serializers import (
    AttachmentOut,
    AttachmentUploadInput,
    attachment_data,
    attachment_summary,
)
from chat.attachments.services import attachment_upload
from chat.conversations.api import members_conversation
from core.errors import TooLarge
from core.schema import errors
from core.throttling import (
    AttachmentUploadThrottle,
    UserThrottle,
)



class AttachmentsView(APIView):
    parser_classes = [MultiPartParser]
    throttle_classes = [UserThrottle, AttachmentUploadThrottle]

    @extend_schema(
        tags=["messages"], request={"multipart/form-data": AttachmentUploadInput},
        responses={201: AttachmentOut, **errors(400, 401, 404, 413, 415)},
        description=(
            "Upload a file (multipart `file`) for a message of yours to carry (`attachment_ids`). At most "
            "CHAT_ATTACHMENT_MAX_BYTES (10 MB, else 413), of a type in CHAT_ATTACHMENT_TYPES read from its "
            "bytes (else 415). Unsent uploads are deleted after CHAT_ATTACHMENT_ORPHAN_HOURS."
        ),
    )
    def post(self, request, conversation_id):
        # Refused before the body is read when it says it is too large.
        limit = settings.CHAT_ATTACHMENT_MAX_BYTES
        declared = request.META.get("CONTENT_LENGTH") or ""
        if declared.isdigit() and int(declared) > limit + MULTIPART_OVERHEAD:
            raise TooLarge(f"The file is larger than {limit} bytes.", field="file")
        members_conversation(request, conversation_id)
        data = AttachmentUploadInput(data=request.data)
        data.is_valid(raise_exception=True)
        attachment = attachment_upload(
            conversation_id=conversation_id, user=request.user, file=data.validated_data["file"]
        )
        return Response(
            attachment_data(attachment.conversation_id, attachment_summary(attachment)), status=status.HTTP_201_CREATED
        )


# Room for the multipart framing and the other form fields around the file.
MULTIPART_OVERHEAD = 64 * 1024


class AttachmentView(APIView):
    @extend_schema(
        tags=["messages"], responses={(200, "*/*"): OpenApiTypes.BINARY, 302: None, **errors(401, 404)},
        description=(
            "The file, to members of the conversation only (an upload not sent yet: to its uploader only). "
            "From the filesystem: the bytes. From object storage: a redirect to a signed URL valid "
            "ATTACHMENTS_URL_EXPIRE seconds."
        ),
    )
    def get(self, request, conversation_id, attachment_id):
        attachment = attachment_for_user(
            conversation_id=conversation_id, attachment_id=attachment_id, user=request.user
        )
        storage = attachment.file.storage
        inline = attachment.content_type.startswith(("image/", "audio/", "video/")) or attachment.content_type == "application/pdf"
        disposition = "inline" if inline else "attachment"
        filename = f"{disposition}; filename*=UTF-8''{quote(attachment.name)}"
        if not isinstance(storage, FileSystemStorage):
            url = storage.url(
                attachment.file.name,
                parameters={"ResponseContentType": attachment.content_type, "ResponseContentDisposition": filename},
            )
            response = HttpResponseRedirect(url)
        else:
            response = FileResponse(storage.open(attachment.file.name, "rb"), content_type=attachment.content_type)
            response["Content-Disposition"] = filename
            response["Content-Length"] = str(attachment.size)
        response["Cache-Control"] = "private, max-age=300"
        response["X-Content-Type-Options"] = "nosniff"
        # Nothing in a file may run or load anything, even opened directly.
        response["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; media-src 'self'; sandbox"
        return response
