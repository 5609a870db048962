"""
Account endpoints under /api/auth/.

    POST /api/auth/register/       {email, password1, password2, name?} -> 201 {access, refresh, user}
    POST /api/auth/login/          {email, password}                    -> 200 {access, refresh, user}
    POST /api/auth/token/refresh/  {refresh}                            -> 200 {access, access_expiration}
    POST /api/auth/logout/         {refresh}                            -> 200, refresh blacklisted
    GET|PATCH /api/auth/me/                                             -> the caller
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

from core.parsers import JSONParser
from core.throttling import (
    LoginEmailThrottle,
    LoginIPThrottle,
    RegisterThrottle,
    TokenRefreshThrottle,
    UserLookupThrottle,
    UserThrottle,
)

from . import selectors, services
from .models import User
from .serializers import (
    LoginInput,
    ProfileInput,
    RefreshInput,
    RegisterInput,
    user_private,
    user_public,
)
from .tokens import CurrentTokenRefreshSerializer, token_pair_for_user


def _session(user) -> dict:
    return {**token_pair_for_user(user), "user": user_private(user)}


class RegisterView(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []
    throttle_classes = [RegisterThrottle]

    def post(self, request):
        data = RegisterInput(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.user_register(
            email=data.validated_data["email"],
            password=data.validated_data["password1"],
            name=data.validated_data["name"],
        )
        return Response(_session(user), status=status.HTTP_201_CREATED)


class LoginView(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []
    throttle_classes = [LoginIPThrottle, LoginEmailThrottle]

    def post(self, request):
        data = LoginInput(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.user_login(**data.validated_data)
        return Response(_session(user))


class TokenRefreshView(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []
    throttle_classes = [TokenRefreshThrottle]

    def get_authenticate_header(self, request):
        # Without it DRF turns this view's 401s into 403s, as it has no authenticators.
        return 'Bearer realm="api"'

    def post(self, request):
        serializer = CurrentTokenRefreshSerializer(data=request.data)
        try:
            serializer.is_valid(raise_exception=True)
        except (TokenError, User.DoesNotExist) as error:
            # The serializer raises TokenError for an invalid, expired, blacklisted
            # or wrong-type token (simplejwt's own view converts it, this one must)
            # and DoesNotExist when the token's user was deleted: all 401, not 500.
            raise InvalidToken(str(error)) from error
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

    def post(self, request):
        data = RefreshInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.session_logout(refresh=data.validated_data["refresh"])
        return Response({"detail": "Successfully logged out."})


class MeView(APIView):
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    def get(self, request):
        return Response(user_private(request.user))

    def patch(self, request):
        data = ProfileInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        user = services.user_update_profile(user=request.user, **data.validated_data)
        return Response(user_private(user))


class UserDetailView(APIView):
    throttle_classes = [UserThrottle, UserLookupThrottle]

    def get(self, request, user_id):
        from chat.realtime.presence import Unknown, online_among
        from chat.selectors import shares_conversation

        user = selectors.user_get(user_id=user_id)
        data = user_public(user)
        # Presence is for the people one shares a conversation with.
        if user.id == request.user.id or shares_conversation(user=request.user, other=user):
            online = online_among([user.id])
            data["online"] = None if isinstance(online, Unknown) else bool(online)
        return Response(data)
