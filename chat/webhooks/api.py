"""
Outgoing webhook subscriptions under /api/webhooks/ (docs/webhooks.md; chat.webhooks.services does the work).

    GET    /api/webhooks/[?conversation_id=]  -> [webhook...]  those you manage, oldest first (paged)
    POST   /api/webhooks/ {url, events?, conversation_id | member_of_id}  -> 201 webhook with its secret
    GET    /api/webhooks/<id>/                -> webhook
    PATCH  /api/webhooks/<id>/ {url?, events?, active?}  -> webhook
    DELETE /api/webhooks/<id>/                -> 204
    POST   /api/webhooks/<id>/secret/         -> webhook with its new secret
    GET    /api/webhooks/<id>/deliveries/     -> [delivery...]  the newest WEBHOOK_LOG_ROWS, newest first
"""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from core.pagination import LinkHeaderCursorPagination, cursor_page_parameters
from core.schema import errors

from ..messages.serializers import timestamp
from ..models import WebhookDelivery, WebhookSubscription
from ..models.webhooks import WEBHOOK_EVENTS, WEBHOOK_URL_MAX_LENGTH
from .selectors import webhook_deliveries, webhook_managed, webhooks_managed_list
from .services import webhook_create, webhook_delete, webhook_rotate_secret, webhook_update

EVENTS_HELP = "Events delivered, of: " + ", ".join(f"`{event}`" for event in WEBHOOK_EVENTS) + "."


class WebhookCreateInput(serializers.Serializer):
    url = serializers.CharField(
        max_length=WEBHOOK_URL_MAX_LENGTH, trim_whitespace=False,
        help_text="The receiver: an https URL on a public address (docs/webhooks.md, \"Receivers\").",
    )
    events = serializers.ListField(child=serializers.CharField(), required=False, help_text=EVENTS_HELP + " Default: all.")
    conversation_id = serializers.CharField(required=False, help_text="A group you own or administer.")
    member_of_id = serializers.CharField(
        required=False, help_text="Staff: a bot's id; every conversation the bot belongs to at the time of each event."
    )


class WebhookUpdateInput(serializers.Serializer):
    url = serializers.CharField(max_length=WEBHOOK_URL_MAX_LENGTH, trim_whitespace=False, required=False)
    events = serializers.ListField(child=serializers.CharField(), required=False, help_text=EVENTS_HELP)
    active = serializers.BooleanField(required=False, help_text="false pauses deliveries; true resumes them.")


class WebhookOut(serializers.Serializer):
    id = serializers.UUIDField()
    url = serializers.CharField()
    events = serializers.ListField(child=serializers.ChoiceField(choices=WEBHOOK_EVENTS))
    conversation_id = serializers.UUIDField(allow_null=True)
    member_of_id = serializers.UUIDField(allow_null=True)
    active = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    secret_rotated_at = serializers.DateTimeField(allow_null=True)


class WebhookWithSecretOut(WebhookOut):
    secret = serializers.CharField(help_text="Signs every delivery (X-Chat-Signature); shown only now.")


class WebhookDeliveryOut(serializers.Serializer):
    event_id = serializers.UUIDField(help_text="The event's id (X-Chat-Webhook-Id): the same on each attempt.")
    event = serializers.ChoiceField(choices=WEBHOOK_EVENTS)
    attempt = serializers.IntegerField()
    status_code = serializers.IntegerField(allow_null=True, help_text="The receiver's answer; null without one.")
    duration_ms = serializers.IntegerField()
    error = serializers.CharField(help_text="Why the attempt failed; empty when delivered.")
    delivered = serializers.BooleanField()
    created_at = serializers.DateTimeField()


def webhook_data(subscription: WebhookSubscription, *, with_secret: bool = False) -> dict:
    data = {
        "id": str(subscription.id), "url": subscription.url, "events": subscription.events,
        "conversation_id": str(subscription.conversation_id) if subscription.conversation_id else None,
        "member_of_id": str(subscription.member_of_id) if subscription.member_of_id else None,
        "active": subscription.active, "created_at": timestamp(subscription.created_at),
        "secret_rotated_at": timestamp(subscription.secret_rotated_at),
    }
    if with_secret:
        data["secret"] = subscription.secret
    return data


def delivery_data(delivery: WebhookDelivery) -> dict:
    return {
        "event_id": str(delivery.event_id), "event": delivery.event, "attempt": delivery.attempt,
        "status_code": delivery.status_code, "duration_ms": delivery.duration_ms, "error": delivery.error,
        "delivered": delivery.delivered, "created_at": timestamp(delivery.created_at),
    }


class OldestFirst(LinkHeaderCursorPagination):
    ordering = ("created_at", "id")


class WebhookListView(APIView):
    @extend_schema(
        tags=["webhooks"],
        parameters=[
            OpenApiParameter("conversation_id", str, description="Only this conversation's."),
            *cursor_page_parameters("CHAT_CONVERSATION_PAGE_SIZE, 100; at most CHAT_CONVERSATION_PAGE_MAX, 200"),
        ],
        responses={200: WebhookOut(many=True), **errors(400, 401, 404)},
        description="The subscriptions you manage: those of groups you own or administer, and (staff) those following a user.",
    )
    def get(self, request):
        paginator = OldestFirst()
        subscriptions = webhooks_managed_list(user=request.user, conversation_id=request.query_params.get("conversation_id"))
        page = paginator.paginate_queryset(subscriptions, request, self)
        return paginator.get_paginated_response([webhook_data(subscription) for subscription in page])

    @extend_schema(
        tags=["webhooks"], request=WebhookCreateInput, responses={201: WebhookWithSecretOut, **errors(400, 401, 403, 404, 415)},
        description=(
            "Subscribe a receiver to a group's events (its owner and admins) or to those of every conversation a user "
            "belongs to (staff). The URL is refused (`invalid_url`) unless it is https on a public address "
            "(OUTBOUND_ALLOWED_HOSTS excepted). At most WEBHOOK_MAX_PER_TARGET (5) per conversation or user "
            "(`too_many_webhooks`). The answer carries the secret, shown only now."
        ),
    )
    def post(self, request):
        data = WebhookCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        subscription = webhook_create(user=request.user, **data.validated_data)
        return Response(webhook_data(subscription, with_secret=True), status=status.HTTP_201_CREATED)


class WebhookView(APIView):
    @extend_schema(tags=["webhooks"], responses={200: WebhookOut, **errors(401, 404)})
    def get(self, request, webhook_id):
        return Response(webhook_data(webhook_managed(user=request.user, webhook_id=webhook_id)))

    @extend_schema(
        tags=["webhooks"], request=WebhookUpdateInput, responses={200: WebhookOut, **errors(400, 401, 404, 415)},
        description="Change the URL (checked as on creation) or the events, or pause and resume deliveries.",
    )
    def patch(self, request, webhook_id):
        data = WebhookUpdateInput(data=request.data)
        data.is_valid(raise_exception=True)
        subscription = webhook_update(user=request.user, webhook_id=webhook_id, **data.validated_data)
        return Response(webhook_data(subscription))

    @extend_schema(tags=["webhooks"], responses={204: None, **errors(401, 404)})
    def delete(self, request, webhook_id):
        webhook_delete(user=request.user, webhook_id=webhook_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class WebhookSecretView(APIView):
    @extend_schema(
        tags=["webhooks"], request=None, responses={200: WebhookWithSecretOut, **errors(401, 404)},
        description="A new secret, shown only now; every delivery from now on is signed with it.",
    )
    def post(self, request, webhook_id):
        return Response(webhook_data(webhook_rotate_secret(user=request.user, webhook_id=webhook_id), with_secret=True))


class WebhookDeliveriesView(APIView):
    @extend_schema(
        tags=["webhooks"], responses={200: WebhookDeliveryOut(many=True), **errors(401, 404)},
        description="The recent delivery attempts, newest first: the last WEBHOOK_LOG_ROWS (50) are kept.",
    )
    def get(self, request, webhook_id):
        return Response([delivery_data(delivery) for delivery in webhook_deliveries(user=request.user, webhook_id=webhook_id)])
