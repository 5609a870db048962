"""
JWT pairs for users, and the reverse: the user an access token belongs to.

Every refresh token carries a session id claim (``sid``, its own ``jti``) that
simplejwt copies into each access token made from it. Logging out blacklists
the refresh token, and ``session_is_revoked`` then refuses that session's
access tokens too: for new sockets and for REST (useraccount.authentication).

Every token also carries simplejwt's hash of the user's password hash
(``CHECK_REVOKE_TOKEN``): a new password makes every earlier token useless.

``authenticate_access_token`` accepts only unexpired, correctly signed
*access* tokens (a refresh token is refused) of a live session of an active
user, issued since their last password change (a socket's ``auth`` frame;
``authenticate_claims`` for a notifications socket, whose token the
WebSocket TokenAuthMiddleware has already verified). Room sockets read the
same facts in their one opening statement (chat.conversations.opening) and
judge them with ``token_holds`` and ``session_end_from``.

``session_end_from`` is for the original tutorial client's socket, which
cannot renew a token while it is open: a correctly signed access token
(``signed_access_claims``) counts, expired or not, for as long as its session
lives (its refresh token is neither expired nor logged out, the user active,
the password unchanged), and says when that session ends.
"""

import time
from datetime import datetime
from datetime import timezone as dt_timezone
from uuid import UUID

import jwt
from django.db.models import Exists
from django.utils import timezone

from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.exceptions import TokenBackendError, TokenError
from rest_framework_simplejwt.serializers import TokenRefreshSerializer
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.state import token_backend
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken
from rest_framework_simplejwt.utils import get_md5_hash_password

from core.runtime.asyncdb import loop_models
from core.validation import uuid_or_none

from .models import User
from .selectors import active_users

SESSION_CLAIM = "sid"


def token_pair_for_user(user: User) -> dict:
    refresh = RefreshToken.for_user(user)
    refresh[SESSION_CLAIM] = refresh[api_settings.JTI_CLAIM]
    return {"access": str(refresh.access_token), "refresh": str(refresh)}


def access_token_payload(raw: str) -> dict | None:
    """The claims of a valid access token, or None."""
    try:
        return dict(AccessToken(raw).payload)
    except TokenError:
        return None


def session_is_revoked(payload: dict) -> bool:
    session = payload.get(SESSION_CLAIM)
    return bool(session) and BlacklistedToken.objects.filter(token__jti=session).exists()


def authenticate_access_token(raw: str) -> tuple[User, dict] | None:
    """``(user, claims)`` for a valid access token of a live session, else None. One query."""
    return authenticate_claims(access_token_payload(raw))


def authenticate_claims(payload: dict | None) -> tuple[User, dict] | None:
    """``authenticate_access_token`` for a token already verified (signed, unexpired, an access token)."""
    users = _claims_users(payload)
    return _token_user(payload, users.first()) if users is not None else None


async def authenticate_claims_on_loop(payload: dict | None) -> tuple[User, dict] | None:
    """``authenticate_claims``, its query run from the event loop (core.runtime.asyncdb.loop_models)."""
    users = _claims_users(payload)
    if users is None:
        return None
    found = await loop_models(users[:1])
    return _token_user(payload, found[0] if found else None)


def _claims_users(payload: dict | None):
    """The query of the claims' user (with its session's revocation), or None."""
    user_id = claims_user_id(payload)
    if user_id is None:
        return None
    users = active_users().filter(id=user_id)
    if session := payload.get(SESSION_CLAIM):
        users = users.annotate(session_revoked=Exists(BlacklistedToken.objects.filter(token__jti=session)))
    return users


def _token_user(payload: dict, user: User | None) -> tuple[User, dict] | None:
    if user is None or getattr(user, "session_revoked", False):
        return None
    return (user, payload) if password_unchanged(payload, user) else None


def session_end_from(payload: dict, *, expires_at: datetime | None, revoked: bool) -> datetime | None:
    """
    When the session of a token's claims ends, from what was read of it: its
    refresh token's expiry (None: no such token) and whether it was logged
    out; None once it has ended or was. A token of no session (not one this
    server's login issues) holds only until it expires, as everywhere else.
    """
    if payload.get(SESSION_CLAIM):
        if expires_at is None or revoked:
            return None
        ends = expires_at
    else:
        ends = datetime.fromtimestamp(payload["exp"], tz=dt_timezone.utc)
    return ends if ends > timezone.now() else None


def claims_user_id(payload: dict | None) -> UUID | None:
    """The user id a token's claims name, if it is one (a token signed elsewhere may say anything)."""
    return uuid_or_none(payload.get(api_settings.USER_ID_CLAIM)) if isinstance(payload, dict) else None


def unexpired(payload: dict) -> bool:
    """Whether signed claims are still within their expiry (with simplejwt's LEEWAY)."""
    exp = payload.get("exp")
    leeway = api_settings.LEEWAY
    leeway = leeway.total_seconds() if hasattr(leeway, "total_seconds") else leeway
    return isinstance(exp, (int, float)) and exp > time.time() - leeway


def token_holds(payload: dict, user: User | None, *, revoked: bool) -> bool:
    """Whether claims read with their user still authorise: an active user, session not logged out, password unchanged."""
    return user is not None and user.is_active and not revoked and password_unchanged(payload, user)


def signed_access_claims(raw: str) -> dict | None:
    """The claims of an access token signed by this server, whether or not it has expired."""
    try:
        payload = jwt.decode(
            raw,
            token_backend.get_verifying_key(raw),
            algorithms=[token_backend.algorithm],
            audience=token_backend.audience,
            issuer=token_backend.issuer,
            options={"verify_aud": token_backend.audience is not None, "verify_exp": False},
        )
    except (jwt.InvalidTokenError, TokenBackendError):
        return None
    return payload if payload.get(api_settings.TOKEN_TYPE_CLAIM) == "access" else None


def password_unchanged(payload: dict, user: User) -> bool:
    """Whether a token was issued since the user's last password change."""
    if not api_settings.CHECK_REVOKE_TOKEN:
        return True
    return payload.get(api_settings.REVOKE_TOKEN_CLAIM) == get_md5_hash_password(user.password)


class CurrentTokenRefreshSerializer(TokenRefreshSerializer):
    """simplejwt's refresh, also refusing refresh tokens issued before a password change."""

    def validate(self, attrs):
        payload = self.token_class(attrs["refresh"]).payload
        user = User.objects.filter(id=payload.get(api_settings.USER_ID_CLAIM)).first()
        if user is not None and not password_unchanged(payload, user):
            raise AuthenticationFailed("The user's password has been changed.", code="password_changed")
        return super().validate(attrs)
