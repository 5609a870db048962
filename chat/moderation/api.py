"""
``POST /api/reports/ {message_id | user_id, reason, details?}`` -> 201 report (200: your open report of it).
"""


from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from chat.moderation.serializers import ReportInput, ReportOut, report_data
from chat.moderation.services import report_create
from core.schema import errors
from core.throttling import (
    ReportThrottle,
    UserThrottle,
)



class ReportView(APIView):
    throttle_classes = [UserThrottle, ReportThrottle]

    @extend_schema(
        tags=["moderation"], request=ReportInput, responses={201: ReportOut, 200: ReportOut, **errors(400, 401, 404, 415)},
        description=(
            "Report a message of a conversation you are in (`message_id`), or a user (`user_id`), to the "
            "moderators. While your report of the same message or user is open, reporting it again answers 200 "
            "with that report. At most THROTTLE_REPORT (20/hour) reports made: refused attempts and repeats of "
            "an open report do not count."
        ),
    )
    def post(self, request):
        data = ReportInput(data=request.data)
        data.is_valid(raise_exception=True)
        report, created = report_create(
            reporter=request.user, reason=data.validated_data["reason"], details=data.validated_data["details"],
            message_id=data.validated_data.get("message_id"), user_id=data.validated_data.get("user_id"),
        )
        if created:
            ReportThrottle().record(request, self)
        return Response(report_data(report), status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)
