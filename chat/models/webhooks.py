"""Outgoing webhook subscriptions and their recent deliveries (chat.webhooks); re-exported by chat.models."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

WEBHOOK_URL_MAX_LENGTH = 2000
WEBHOOK_EVENTS = ("message.created", "message.edited", "message.deleted", "member.joined", "member.left")


class WebhookSubscription(models.Model):
    """
    Where to post the events of some conversations, signed with ``secret``.
    Its target is exactly one of: ``conversation`` (that one, managed by the
    group's owner and admins), or ``member_of`` (every conversation that bot
    belongs to at the time of the event: how an integration or a bot account
    follows the conversations it is added to; created by staff).
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    conversation = models.ForeignKey(
        "chat.Conversation", null=True, blank=True, on_delete=models.CASCADE, related_name="webhooks"
    )
    member_of = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="followed_by_webhooks"
    )
    url = models.CharField(max_length=WEBHOOK_URL_MAX_LENGTH)
    # Event types delivered (a subset of WEBHOOK_EVENTS).
    events = models.JSONField(default=list)
    # The HMAC-SHA256 key deliveries are signed with: kept as it is (signing needs it), shown on create and rotate.
    secret = models.CharField(max_length=100, editable=False)
    active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    secret_rotated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        app_label = "chat"
        ordering = ["created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(conversation__isnull=False, member_of__isnull=True)
                | Q(conversation__isnull=True, member_of__isnull=False),
                name="webhook_one_target",
            ),
        ]

    def __str__(self):
        return f"webhook {self.id} to {self.url}"


class WebhookDelivery(models.Model):
    """One attempt at delivering one event to one subscription: the recent-deliveries log (WEBHOOK_LOG_ROWS kept)."""

    id = models.BigAutoField(primary_key=True)
    subscription = models.ForeignKey(WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries")
    event_id = models.UUIDField()
    event = models.CharField(max_length=32)
    attempt = models.PositiveSmallIntegerField()
    # The receiver's status code; null when there was no answer (refused, failed, timed out: see ``error``).
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField()
    error = models.CharField(max_length=300, blank=True, default="")
    delivered = models.BooleanField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        app_label = "chat"
        ordering = ["-id"]
        indexes = [models.Index(fields=["subscription", "-id"], name="webhook_deliveries_recent")]

    def __str__(self):
        return f"{self.event} #{self.attempt} to {self.subscription_id}"
