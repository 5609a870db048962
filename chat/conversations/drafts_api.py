"""
``GET|PUT|DELETE /api/chat/<id>/draft/``: the caller's draft of a conversation (chat.conversations.drafts).

    PUT {body} -> {body, updated_at}; without a draft (a blank body deletes it) {"body": "", "updated_at": null}
"""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from chat.conversations.drafts import draft_get, draft_save
from chat.conversations.serializers import DraftOut
from core.schema import errors

NO_DRAFT = {"body": "", "updated_at": None}


def _answer(draft: dict | None) -> Response:
    return Response(draft or NO_DRAFT)


class DraftInput(serializers.Serializer):
    # The length is the service's to check (CHAT_DRAFT_MAX_LENGTH, draft_too_long).
    body = serializers.CharField(allow_blank=True, trim_whitespace=False)

    def to_internal_value(self, data):
        # DRF's CharField would keep a number or a boolean as its text; a draft is text, as the schema says.
        if isinstance(data, dict) and "body" in data and not isinstance(data["body"], str):
            raise serializers.ValidationError({"body": ["Not a valid string."]})
        return super().to_internal_value(data)


class DraftView(APIView):
    @extend_schema(
        tags=["conversations"], responses={200: DraftOut, **errors(401, 404)},
        description='Your draft of this conversation; without one, `{"body": "", "updated_at": null}`.',
    )
    def get(self, request, conversation_id):
        return _answer(draft_get(conversation_id=conversation_id, user=request.user))

    @extend_schema(
        tags=["conversations"], request=DraftInput,
        responses={200: DraftOut, **errors(400, 401, 404, 415)},
        description=(
            "Keep what you are writing here for your other devices: at most CHAT_DRAFT_MAX_LENGTH (4000) characters "
            "(400 `draft_too_long`); a blank body deletes it. Every socket of yours gets `draft.updated`. "
            "Sending a message here clears it."
        ),
    )
    def put(self, request, conversation_id):
        data = DraftInput(data=request.data)
        data.is_valid(raise_exception=True)
        return _answer(draft_save(conversation_id=conversation_id, user=request.user, body=data.validated_data["body"]))

    @extend_schema(
        tags=["conversations"], responses={200: DraftOut, **errors(401, 404)},
        description="Delete your draft of this conversation (none: no change); your sockets get `draft.updated`.",
    )
    def delete(self, request, conversation_id):
        return _answer(draft_save(conversation_id=conversation_id, user=request.user, body=""))
