"""
Scheduled messages over REST (chat.messages.scheduled):

    POST   /api/chat/<id>/scheduled/ {body, send_at, reply_to?, thread_id?, attachment_ids?, metadata?} -> 201 row
    GET    /api/chat/<id>/scheduled/?state=&limit=&cursor=  -> [row...] yours in it, newest first (Link)
    GET    /api/chat/scheduled/?state=&limit=&cursor=       -> [row...] yours everywhere, newest first (Link)
    PATCH  /api/chat/scheduled/<scheduled_id>/ {body?, send_at?, metadata?} -> row (pending only)
    DELETE /api/chat/scheduled/<scheduled_id>/              -> row, cancelled (pending only)
"""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from chat.conversations.api import members_conversation
from chat.messages.scheduled import (
    UNCHANGED,
    scheduled_cancel,
    scheduled_create,
    scheduled_data,
    scheduled_list,
    scheduled_update,
)
from chat.messages.serializers import METADATA_HELP
from chat.models import ScheduledMessage
from core.errors import InvalidInput
from core.pagination import LinkHeaderCursorPagination, cursor_page_parameters
from core.schema import errors
from core.throttling import MessageSendThrottle, UserThrottle

STATES = [state for state, _ in ScheduledMessage.STATES]


class ScheduledCreateInput(serializers.Serializer):
    # Body, reply, thread and metadata are checked by the services a send uses, with the same codes.
    body = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False, default="")
    send_at = serializers.DateTimeField(
        help_text="When to send it, with its time zone: in the future, within CHAT_SCHEDULED_MAX_DAYS (120) days.",
    )
    reply_to = serializers.UUIDField(required=False, allow_null=True, help_text="A message of this conversation.")
    thread_id = serializers.UUIDField(required=False, allow_null=True, help_text="Reply in this message's thread.")
    attachment_ids = serializers.ListField(
        child=serializers.UUIDField(), required=False,
        help_text="Your unsent uploads to this conversation, held for it until it is sent or cancelled.",
    )
    metadata = serializers.JSONField(required=False, allow_null=True, help_text=METADATA_HELP)


class ScheduledUpdateInput(serializers.Serializer):
    body = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)
    send_at = serializers.DateTimeField(required=False)
    metadata = serializers.JSONField(required=False, allow_null=True, help_text=METADATA_HELP)


class ScheduledFailureOut(serializers.Serializer):
    code = serializers.CharField(help_text="The send's refusal: `not_found`, `blocked`, `recipient_deleted`, ….")
    detail = serializers.CharField()


class ScheduledOut(serializers.Serializer):
    id = serializers.UUIDField()
    conversation_id = serializers.UUIDField()
    body = serializers.CharField(allow_blank=True)
    send_at = serializers.DateTimeField()
    reply_to = serializers.UUIDField(allow_null=True)
    thread_id = serializers.UUIDField(allow_null=True)
    metadata = serializers.DictField(allow_null=True)
    attachment_ids = serializers.ListField(child=serializers.UUIDField())
    state = serializers.ChoiceField(choices=STATES)
    failure = ScheduledFailureOut(allow_null=True, help_text="Why it was not sent at its time (state `failed`).")
    message_id = serializers.UUIDField(allow_null=True, help_text="The message it became (state `sent`).")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class ScheduledPage(LinkHeaderCursorPagination):
    """Newest first, paged as the conversations are (?limit=, cursors in Link)."""

    ordering = "-created_at"


STATE_PARAMETER = OpenApiParameter(
    "state", str, OpenApiParameter.QUERY, required=False, enum=STATES, description="Only those in this state.",
)
PAGE_PARAMETERS = [
    STATE_PARAMETER,
    *cursor_page_parameters("CHAT_CONVERSATION_PAGE_SIZE, 100; at most CHAT_CONVERSATION_PAGE_MAX, 200"),
]


def _page(view, request, conversation=None) -> Response:
    state = request.query_params.get("state") or None
    if state is not None and state not in STATES:
        raise InvalidInput(f"state must be one of {', '.join(STATES)}.", code="invalid_state", field="state")
    rows = scheduled_list(user=request.user, state=state)
    if conversation is not None:
        rows = rows.filter(conversation=conversation)
    paginator = ScheduledPage()
    page = paginator.paginate_queryset(rows, request, view=view)
    return paginator.get_paginated_response([scheduled_data(row) for row in page])


class ScheduledListView(APIView):
    @extend_schema(
        tags=["messages"], operation_id="chat_scheduled_list_all", parameters=PAGE_PARAMETERS,
        responses={200: ScheduledOut(many=True), **errors(400, 401, 404)},
        description="Your scheduled messages in every conversation, newest first: pending, sent, failed, cancelled.",
    )
    def get(self, request):
        return _page(self, request)


class ConversationScheduledView(APIView):
    throttle_classes = [UserThrottle, MessageSendThrottle]  # POST only: GET has the per-user limit

    def get_throttles(self):
        return [UserThrottle()] if self.request.method == "GET" else super().get_throttles()

    @extend_schema(
        tags=["messages"], parameters=PAGE_PARAMETERS,
        responses={200: ScheduledOut(many=True), **errors(400, 401, 404)},
        description="Your scheduled messages in this conversation, newest first.",
    )
    def get(self, request, conversation_id):
        return _page(self, request, members_conversation(request, conversation_id))

    @extend_schema(
        tags=["messages"], request=ScheduledCreateInput, responses={201: ScheduledOut, **errors(400, 401, 404, 415)},
        description=(
            "Send a message later, as you, through the same send as any message: checked now as a send is "
            "(body, reply, attachments, metadata), and whether you may post then. 400 `send_at_past`, "
            "`send_at_too_far` (CHAT_SCHEDULED_MAX_DAYS), `too_many_scheduled` (CHAT_SCHEDULED_MAX_PENDING "
            "waiting). Refused at its time, it is marked `failed` with the reason and your sockets get "
            "`scheduled.failed`."
        ),
    )
    def post(self, request, conversation_id):
        data = ScheduledCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        row = scheduled_create(conversation_id=conversation_id, user=request.user, **data.validated_data)
        return Response(scheduled_data(row), status=status.HTTP_201_CREATED)


class ScheduledDetailView(APIView):
    @extend_schema(
        tags=["messages"], request=ScheduledUpdateInput, responses={200: ScheduledOut, **errors(400, 401, 404, 415)},
        description=(
            "Change a pending scheduled message's body, time or metadata (absent: unchanged); 400 `not_pending` "
            "once it was sent, failed or cancelled."
        ),
    )
    def patch(self, request, scheduled_id):
        data = ScheduledUpdateInput(data=request.data)
        data.is_valid(raise_exception=True)
        changes = {name: data.validated_data.get(name, UNCHANGED) for name in ("body", "send_at", "metadata")}
        return Response(scheduled_data(scheduled_update(scheduled_id=scheduled_id, user=request.user, **changes)))

    @extend_schema(
        tags=["messages"], responses={200: ScheduledOut, **errors(400, 401, 404)},
        description="Cancel a pending scheduled message (400 `not_pending` otherwise); its uploads are let go.",
    )
    def delete(self, request, scheduled_id):
        return Response(scheduled_data(scheduled_cancel(scheduled_id=scheduled_id, user=request.user)))
