"""
A person's public profile as the chat shows it, ``GET /api/auth/<user_id>/``:
the account's public fields (useraccount) with ``online`` for the people who
share a conversation with them that no block closes. It lives here, not in
useraccount, because presence is the chat's.
"""

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from chat.conversations.selectors import sees_presence_of
from chat.realtime.presence import Unknown, online_among
from core.schema import errors
from core.throttling import UserLookupThrottle, UserThrottle
from useraccount.selectors import user_get
from useraccount.serializers import UserPublicOut, user_public


class UserDetailView(APIView):
    throttle_classes = [UserThrottle, UserLookupThrottle]

    @extend_schema(tags=["accounts"], responses={200: UserPublicOut, **errors(401, 404)})
    def get(self, request, user_id):
        user = user_get(user_id=user_id)
        data = user_public(user)
        # Presence is for the people one shares a conversation with (one no block closes).
        if user.id == request.user.id or sees_presence_of(user=request.user, other=user):
            online = online_among([user.id])
            data["online"] = None if isinstance(online, Unknown) else bool(online)
        return Response(data)
