"""
JSON shapes of attachments: the summary a message keeps, and its JSON with
the URL members download it at.
"""


from django.urls import reverse
from rest_framework import serializers

from chat.models import (
    Attachment,
)
from core.public_urls import absolute_url



def attachment_summary(attachment: Attachment) -> dict:
    """What a message keeps of an attachment it carries (its URL is made when shown)."""
    return {
        "id": str(attachment.id),
        "name": attachment.name,
        "content_type": attachment.content_type,
        "size": attachment.size,
        "width": attachment.width,
        "height": attachment.height,
    }


def attachment_data(conversation_id, summary: dict) -> dict:
    """An attachment's JSON, from its summary: with the URL members download it at."""
    url = reverse("chat-attachment", args=[conversation_id, summary["id"]])
    return {**summary, "url": absolute_url(url)}


class AttachmentUploadInput(serializers.Serializer):
    file = serializers.FileField(allow_empty_file=True, help_text="Its type is read from its bytes.")


class AttachmentOut(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField(help_text="The file name it was uploaded with.")
    content_type = serializers.CharField(help_text="Read from the file's bytes.")
    size = serializers.IntegerField(help_text="Bytes.")
    width = serializers.IntegerField(allow_null=True, help_text="Pixels, for an image.")
    height = serializers.IntegerField(allow_null=True, help_text="Pixels, for an image.")
    url = serializers.URLField(help_text="Download (members only, with the bearer token).")
