"""
Account endpoints under /api/auth/.

    POST /api/auth/register/       {email, password1, password2, name?} -> 201 {access, refresh, user}
    POST /api/auth/login/          {email, password}                    -> 200 {access, refresh, user}
    POST /api/auth/token/refresh/  {refresh}                            -> 200 {access, access_expiration}
    POST /api/auth/logout/         {refresh}                            -> 200, refresh blacklisted
    POST /api/auth/password/       {current_password, new_password}     -> 200 {access, refresh, user}
    POST /api/auth/password/reset/ {email}                              -> 202, whether or not it has an account
    POST /api/auth/password/reset/confirm/ {uid, token, new_password}   -> 200 {detail}
    GET|PATCH /api/auth/me/                                             -> the caller
    POST /api/auth/me/delete/      {password}                           -> 204, the account deleted
    GET  /api/auth/users/?q=&limit=   -> [{id, name, avatar_url}]: by name prefix or exact email
    GET  /api/auth/blocks/?limit=   -> [{user, created_at}] the users you blocked, newest first (Link)
    POST /api/auth/blocks/  {user_id}                                   -> 201 {user, created_at} (200 again)
    DELETE /api/auth/blocks/<user_id>/                                  -> 204
    GET  /api/auth/<uuid>/                                              -> {id, name, avatar_url}
"""

from datetime import datetime, timezone

from rest_framework import status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError
from rest_framework_simplejwt.tokens import AccessToken

from drf_spectacular.utils import OpenApiParameter, extend_schema

from core.pagination import LinkHeaderCursorPagination
from core.parsers import JSONParser
from core.schema import LegacyErrorOut, errors
from core.throttling import (
    AccountPasswordThrottle,
    LoginEmailThrottle,
    LoginIPThrottle,
    PasswordResetEmailThrottle,
    PasswordResetIPThrottle,
    RegisterThrottle,
    TokenRefreshThrottle,
    UserSearchThrottle,
    UserThrottle,
)

from . import selectors, services
from .models import User
from .serializers import (
    AccountDeleteInput,
    BlockInput,
    BlockOut,
    block_data,
    DetailOut,
    LoginInput,
    PasswordChangeInput,
    PasswordResetConfirmInput,
    PasswordResetInput,
    ProfileInput,
    RefreshInput,
    RegisterInput,
    SessionOut,
    TokenRefreshOut,
    UserPrivateOut,
    UserPublicOut,
    UserSearchInput,
    user_private,
    user_public,
)
from .sessions import client_of, session_refreshed, session_start
from .tokens import CurrentTokenRefreshSerializer


def _session(request, user) -> dict:
    """A new session's tokens (recorded with the client's User-Agent and address) and the user."""
    user_agent, address = client_of(request)
    return {**session_start(user=user, user_agent=user_agent, address=address), "user": user_private(user)}


class RegisterView(APIView):
    # The original tutorial client reads field errors at the top level (core.rest).
    legacy_error_keys = True
    permission_classes = [AllowAny]
    authentication_classes = []
    throttle_classes = [RegisterThrottle]

    @extend_schema(
        tags=["accounts"], request=RegisterInput, auth=[],
        responses={201: SessionOut, **errors(400, 415, body=LegacyErrorOut)},
        description="Create an account and log in. Field errors are at the top level (docs/errors.md).",
    )
    def post(self, request):
        data = RegisterInput(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.user_register(
            email=data.validated_data["email"],
            password=data.validated_data["password1"],
            name=data.validated_data["name"],
        )
        return Response(_session(request, user), status=status.HTTP_201_CREATED)


class LoginView(APIView):
    # The original tutorial client reads field errors at the top level (core.rest).
    legacy_error_keys = True
    permission_classes = [AllowAny]
    authentication_classes = []
    throttle_classes = [LoginIPThrottle, LoginEmailThrottle]

    @extend_schema(
        tags=["accounts"], request=LoginInput, auth=[],
        responses={200: SessionOut, **errors(400, 415, body=LegacyErrorOut)},
        description="Log in with email and password: a new session's tokens.",
    )
    def post(self, request):
        data = LoginInput(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.user_login(**data.validated_data)
        return Response(_session(request, user))


class TokenRefreshView(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []
    throttle_classes = [TokenRefreshThrottle]

    def get_authenticate_header(self, request):
        # Without it DRF turns this view's 401s into 403s, as it has no authenticators.
        return 'Bearer realm="api"'

    @extend_schema(
        tags=["accounts"], request=RefreshInput, auth=[], responses={200: TokenRefreshOut, **errors(400, 401, 415)},
        description="A fresh access token for a refresh token of a live session.",
    )
    def post(self, request):
        serializer = CurrentTokenRefreshSerializer(data=request.data)
        try:
            serializer.is_valid(raise_exception=True)
        except (TokenError, User.DoesNotExist) as error:
            # The serializer raises TokenError for an invalid, expired, blacklisted
            # or wrong-type token (simplejwt's own view converts it, this one must)
            # and DoesNotExist when the token's user was deleted: all 401, not 500.
            raise InvalidToken(str(error)) from error
        user_agent, address = client_of(request)
        session_refreshed(refresh=request.data["refresh"], user_agent=user_agent, address=address)
        access = serializer.validated_data["access"]
        expires = datetime.fromtimestamp(AccessToken(access)["exp"], tz=timezone.utc)
        body = {"access": access, "access_expiration": expires.isoformat().replace("+00:00", "Z")}
        if "refresh" in serializer.validated_data:
            body["refresh"] = serializer.validated_data["refresh"]
        return Response(body)


class LogoutView(APIView):
    # The refresh token is the proof: a client whose access token has
    # expired can still end its session.
    permission_classes = [AllowAny]
    authentication_classes = []

    @extend_schema(
        tags=["accounts"], request=RefreshInput, auth=[], responses={200: DetailOut, **errors(400, 415)},
        description="End the refresh token's session: its tokens stop working and its sockets close (4401).",
    )
    def post(self, request):
        data = RefreshInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.session_logout(refresh=data.validated_data["refresh"])
        return Response({"detail": "Successfully logged out."})


class PasswordChangeView(APIView):
    # Each attempt is a guess at the password: counted with the account's logins.
    throttle_classes = [UserThrottle, LoginIPThrottle, AccountPasswordThrottle]

    @extend_schema(
        tags=["accounts"], request=PasswordChangeInput, responses={200: SessionOut, **errors(400, 401, 415)},
        description=(
            "Change your password, giving the current one (`wrong_password` if it is not). Every session ends, "
            "this one included, and open sockets close (4401); the answer is a new session, as login's, for "
            "this client. Attempts count against the login limits of your address and account."
        ),
    )
    def post(self, request):
        data = PasswordChangeInput(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.user_change_password(user=request.user, **data.validated_data)
        return Response(_session(request, user))


class PasswordResetView(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []
    throttle_classes = [PasswordResetIPThrottle, PasswordResetEmailThrottle]

    @extend_schema(
        tags=["accounts"], request=PasswordResetInput, auth=[], responses={202: DetailOut, **errors(400, 415)},
        description=(
            "Email a password reset link (PASSWORD_RESET_URL with `{uid}` and `{token}`) to the account with "
            "this address. The answer is the same whether or not there is one."
        ),
    )
    def post(self, request):
        data = PasswordResetInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.password_reset_request(email=data.validated_data["email"])
        return Response(
            {"detail": "If an account has this address, an email with a reset link is on its way."},
            status=status.HTTP_202_ACCEPTED,
        )


class PasswordResetConfirmView(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []
    throttle_classes = [LoginIPThrottle]

    @extend_schema(
        tags=["accounts"], request=PasswordResetConfirmInput, auth=[], responses={200: DetailOut, **errors(400, 415)},
        description=(
            "Set a new password with the `uid` and `token` of an emailed link (`invalid_reset_link` when it is "
            "invalid, used or older than PASSWORD_RESET_TIMEOUT). Every session ends; log in with the new password."
        ),
    )
    def post(self, request):
        data = PasswordResetConfirmInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.password_reset_confirm(**data.validated_data)
        return Response({"detail": "Your password has been reset; log in with it."})


class MeView(APIView):
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    @extend_schema(tags=["accounts"], responses={200: UserPrivateOut, **errors(401)})
    def get(self, request):
        return Response(user_private(request.user))

    @extend_schema(
        tags=["accounts"], request={"application/json": ProfileInput, "multipart/form-data": ProfileInput},
        responses={200: UserPrivateOut, **errors(400, 401, 413, 415)},
        description=(
            "Change your name and/or avatar (multipart `avatar`, an image of at most AVATAR_MAX_SIZE bytes; null "
            "removes it), and/or `read_receipts` (off: your read positions are hidden from others, and theirs from you). "
            "An empty body is a 400: it changes nothing."
        ),
    )
    def patch(self, request):
        data = ProfileInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        user = services.user_update_profile(user=request.user, **data.validated_data)
        return Response(user_private(user))


class AccountDeleteView(APIView):
    # POST, not DELETE /me/: the password goes in a body, and a DELETE's body
    # has no defined meaning in HTTP (RFC 9110, 9.3.5): proxies may drop it.
    # Confirming with the password is a guess at it: counted with the account's logins.
    throttle_classes = [UserThrottle, LoginIPThrottle, AccountPasswordThrottle]

    @extend_schema(
        tags=["accounts"], request=AccountDeleteInput, responses={204: None, **errors(400, 401, 415)},
        description=(
            "Delete your account, confirming with your password (`wrong_password` if it is not). Your messages "
            'stay, shown as from "Deleted user" (`deleted: true`); you leave your groups; your email address is '
            "free to register again; every session ends and open sockets close (4401). It cannot be undone."
        ),
    )
    def post(self, request):
        data = AccountDeleteInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.user_check_password(user=request.user, password=data.validated_data["password"])
        services.user_delete(user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class UserSearchView(APIView):
    throttle_classes = [UserThrottle, UserSearchThrottle]

    @extend_schema(
        tags=["accounts"], parameters=[UserSearchInput], responses={200: UserPublicOut(many=True), **errors(400, 401)},
        description=(
            "Find people to talk to: active users whose name (or a word of it) starts with `q`, or whose "
            "email is exactly `q`; exact email first, then by name; you are left out. Emails are never shown. "
            "At most `limit` (20, up to 50); no further pages: type more to narrow it."
        ),
    )
    def get(self, request):
        params = UserSearchInput(data=request.query_params)
        params.is_valid(raise_exception=True)
        users = selectors.user_search(query=params.validated_data["q"], exclude=request.user)
        return Response([user_public(user) for user in users[: params.validated_data["limit"]]])


class BlockPagination(LinkHeaderCursorPagination):
    """Pages of blocks, newest first, sized as the conversation list's."""

    ordering = "-created_at"


class BlocksView(APIView):
    @extend_schema(
        tags=["accounts"],
        parameters=[
            OpenApiParameter("limit", {"type": "integer", "minimum": 1}, description="Page size (default CHAT_CONVERSATION_PAGE_SIZE, 100; at most CHAT_CONVERSATION_PAGE_MAX, 200)."),
            OpenApiParameter("cursor", str, description="From a `Link` header; opaque."),
            OpenApiParameter(
                "Link", str, OpenApiParameter.HEADER, response=[200],
                description='Cursor links to the next and previous pages: `<url>; rel="next", <url>; rel="prev"`.',
            ),
        ],
        responses={200: BlockOut(many=True), **errors(401, 404)},
        description="The users you blocked, most recent first.",
    )
    def get(self, request):
        paginator = BlockPagination()
        page = paginator.paginate_queryset(selectors.block_list(user=request.user), request, self)
        return paginator.get_paginated_response([block_data(block) for block in page])

    @extend_schema(
        tags=["accounts"], request=BlockInput, responses={201: BlockOut, 200: BlockOut, **errors(400, 401, 404, 415)},
        description=(
            "Block a user: no direct conversation between you either way, and no `notification` frames of their "
            "messages (groups included). Blocking again answers 200. At most USER_MAX_BLOCKS (1000). "
            "docs/protocol.md, *Blocking*."
        ),
    )
    def post(self, request):
        data = BlockInput(data=request.data)
        data.is_valid(raise_exception=True)
        block, created = services.user_block(blocker=request.user, user_id=data.validated_data["user_id"])
        return Response(block_data(block), status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class BlockView(APIView):
    @extend_schema(
        tags=["accounts"], responses={204: None, **errors(401)},
        description=(
            "Unblock a user. Idempotent: 204 also for a user you had not blocked, and for any id that is no "
            "user's (not even a UUID)."
        ),
    )
    def delete(self, request, user_id):
        services.user_unblock(blocker=request.user, user_id=user_id)
        return Response(status=status.HTTP_204_NO_CONTENT)
