"""
Shapes of reports for REST.
"""


from rest_framework import serializers

from chat.messages.serializers import timestamp
from chat.models import (
    REPORT_DETAILS_MAX_LENGTH,
    Report,
)



class ReportInput(serializers.Serializer):
    message_id = serializers.UUIDField(required=False, help_text="A message of a conversation you are in.")
    user_id = serializers.UUIDField(required=False, help_text="A user (or name message_id instead).")
    reason = serializers.ChoiceField(choices=[value for value, _ in Report.REASONS])
    details = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=REPORT_DETAILS_MAX_LENGTH,
        help_text=f"What happened, at most {REPORT_DETAILS_MAX_LENGTH} characters.",
    )


class ReportOut(serializers.Serializer):
    id = serializers.UUIDField()
    message_id = serializers.UUIDField(allow_null=True)
    user_id = serializers.UUIDField(help_text="The reported user (a message's author).")
    reason = serializers.ChoiceField(choices=[value for value, _ in Report.REASONS])
    details = serializers.CharField(allow_blank=True)
    status = serializers.ChoiceField(choices=[Report.OPEN, Report.RESOLVED])
    created_at = serializers.DateTimeField()


def report_data(report: Report) -> dict:
    return {
        "id": str(report.id),
        "message_id": str(report.message_id) if report.message_id else None,
        "user_id": str(report.user_id),
        "reason": report.reason,
        "details": report.details,
        "status": report.status,
        "created_at": timestamp(report.created_at),
    }
