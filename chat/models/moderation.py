"""Reports and what moderators did about them (chat.moderation.services); re-exported by chat.models."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

# The longest ``details`` a report may carry, in characters.
REPORT_DETAILS_MAX_LENGTH = 1000


class Report(models.Model):
    """
    A user's report of a message, or of another user, for moderators to look
    at (chat.moderation.admin). ``user`` is always the reported person: for a
    message, its author, so a moderator sees everything reported of someone.
    """

    SPAM, HARASSMENT, HATE, VIOLENCE, SEXUAL, SELF_HARM, IMPERSONATION, OTHER = (
        "spam", "harassment", "hate", "violence", "sexual", "self_harm", "impersonation", "other",
    )
    REASONS = [
        (SPAM, "spam or scam"),
        (HARASSMENT, "harassment or bullying"),
        (HATE, "hate speech"),
        (VIOLENCE, "violence or threats"),
        (SEXUAL, "sexual content"),
        (SELF_HARM, "self-harm"),
        (IMPERSONATION, "impersonation"),
        (OTHER, "something else"),
    ]
    OPEN, RESOLVED = "open", "resolved"
    STATUSES = [(OPEN, "open"), (RESOLVED, "resolved")]

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    reporter = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reports_made")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reports_about")
    message = models.ForeignKey(
        "chat.ConversationMessage", null=True, blank=True, on_delete=models.CASCADE, related_name="reports"
    )
    # The reported message's body as it was when reported: its author may
    # edit or delete it afterwards, and the moderator judges what was
    # reported. Null for a report about a user, and for reports made before
    # the body was kept.
    message_body = models.TextField(null=True, blank=True, editable=False)
    reason = models.CharField(max_length=32, choices=REASONS)
    details = models.TextField(blank=True, default="", max_length=REPORT_DETAILS_MAX_LENGTH)
    status = models.CharField(max_length=16, choices=STATUSES, default=OPEN)
    created_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["status", "-created_at"]  # "open" sorts before "resolved"
        indexes = [models.Index(fields=["status", "-created_at"], name="report_queue")]
        constraints = [
            # One open report per reporter and thing: a second is the first again.
            models.UniqueConstraint(
                fields=["reporter", "message"], condition=Q(status="open", message__isnull=False),
                name="one_open_report_per_message",
            ),
            models.UniqueConstraint(
                fields=["reporter", "user"], condition=Q(status="open", message__isnull=True),
                name="one_open_report_per_user",
            ),
        ]

    def __str__(self):
        return f"{self.get_reason_display()} about {self.user}"


class ModerationAction(models.Model):
    """What a moderator did, when, and on which report: written by the moderation services, never edited."""

    HIDE_MESSAGE, DEACTIVATE_USER, RESOLVE_REPORT = "hide_message", "deactivate_user", "resolve_report"
    ACTIONS = [
        (HIDE_MESSAGE, "hid a message"),
        (DEACTIVATE_USER, "deactivated a user"),
        (RESOLVE_REPORT, "resolved a report"),
    ]

    action = models.CharField(max_length=32, choices=ACTIONS)
    moderator = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="moderation_actions"
    )
    report = models.ForeignKey(Report, null=True, blank=True, on_delete=models.SET_NULL, related_name="actions")
    message = models.ForeignKey(
        "chat.ConversationMessage", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.moderator} {self.get_action_display()}"
