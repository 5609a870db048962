"""
``PUT /api/auth/me/status/`` {text?, emoji?, expires_at?} -> the caller (``user_private``),
``DELETE /api/auth/me/status/`` -> the caller, status cleared (useraccount.status).
"""

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from core.schema import errors

from .serializers import StatusInput, UserPrivateOut, user_private
from .status import user_status_clear, user_status_set


class StatusView(APIView):
    @extend_schema(
        tags=["accounts"], request=StatusInput, responses={200: UserPrivateOut, **errors(400, 401, 415)},
        description=(
            "Set your status: `text` (one line, at most USER_STATUS_TEXT_MAX_LENGTH, 100: 400 `status_too_long`) "
            "and/or `emoji` (one emoji or a `:short_code:`, at most USER_STATUS_EMOJI_MAX_LENGTH, 32: 400 "
            "`invalid_emoji`), shown until `expires_at` (in the future, within a year: 400 `invalid_expiry`) or "
            "until cleared; both empty clears it. Shown as `status` wherever you are shown; announced as a "
            "`user.status` frame to whoever sees your presence and to your other sockets."
        ),
    )
    def put(self, request):
        data = StatusInput(data=request.data)
        data.is_valid(raise_exception=True)
        return Response(user_private(user_status_set(user=request.user, **data.validated_data)))

    @extend_schema(
        tags=["accounts"], request=None, responses={200: UserPrivateOut, **errors(401)},
        description="Clear your status (none set: no change, announced all the same).",
    )
    def delete(self, request):
        return Response(user_private(user_status_clear(user=request.user)))
