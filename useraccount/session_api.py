"""
The caller's signed-in sessions (useraccount.sessions).

    GET    /api/auth/sessions/?limit=&cursor=   -> [{id, current, device, user_agent, address, ...}] newest first (Link)
    DELETE /api/auth/sessions/<id>/             -> 204: that session ends; its sockets close (4401)
"""

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from core.pagination import LinkHeaderCursorPagination, cursor_page_parameters
from core.schema import errors

from .serializers import LoginSessionOut, session_data
from .sessions import session_list, session_revoke
from .tokens import SESSION_CLAIM


def current_sid(request) -> str | None:
    """The session of the access token the request carries (None for a bot's API key)."""
    payload = getattr(request.auth, "payload", None)
    return payload.get(SESSION_CLAIM) if isinstance(payload, dict) else None


class SessionPagination(LinkHeaderCursorPagination):
    """Newest sign-in first, AUTH_SESSIONS_PAGE_SIZE a page (``?limit=`` up to AUTH_SESSIONS_PAGE_MAX)."""

    ordering = "-created_at"

    def __init__(self):
        self.page_size = settings.AUTH_SESSIONS_PAGE_SIZE
        self.max_page_size = settings.AUTH_SESSIONS_PAGE_MAX


class SessionsView(APIView):
    @extend_schema(
        tags=["accounts"],
        parameters=cursor_page_parameters("AUTH_SESSIONS_PAGE_SIZE, 20; at most AUTH_SESSIONS_PAGE_MAX, 100"),
        responses={200: LoginSessionOut(many=True), **errors(401, 404)},
        description=(
            "Your signed-in sessions (one per login, registration or password change), newest first: the device "
            "or browser, the client address, when it signed in and was last used (a token refresh or a socket "
            "connect), and which one is this request's (`current`). At most AUTH_SESSIONS_PER_USER (50) live; "
            "signing in past it ends the least recently used."
        ),
    )
    def get(self, request):
        paginator = SessionPagination()
        page = paginator.paginate_queryset(session_list(user=request.user), request, self)
        sid = current_sid(request)
        return paginator.get_paginated_response([session_data(session, current_sid=sid) for session in page])


class SessionView(APIView):
    @extend_schema(
        tags=["accounts"], responses={204: None, **errors(401, 404)},
        description=(
            "End one of your sessions, as logging out of it would: its refresh token stops working, its access "
            "tokens are refused at once, and its open sockets close with 4401. The current one too, if named."
        ),
    )
    def delete(self, request, session_id):
        session_revoke(user=request.user, session_id=session_id)
        return Response(status=status.HTTP_204_NO_CONTENT)
