"""
JWT pairs for users, and the reverse: the user an access token belongs to.

``user_for_access_token`` is what the WebSocket TokenAuthMiddleware uses; it
accepts only unexpired, correctly signed *access* tokens (a refresh token is
refused) for an active user.
"""

from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from .models import User


def token_pair_for_user(user: User) -> dict:
    refresh = RefreshToken.for_user(user)
    return {"access": str(refresh.access_token), "refresh": str(refresh)}


def access_token_payload(raw: str) -> dict | None:
    """The claims of a valid access token, or None."""
    try:
        return dict(AccessToken(raw).payload)
    except TokenError:
        return None


def user_for_access_token(raw: str) -> User | None:
    payload = access_token_payload(raw)
    if payload is None:
        return None
    user_id = payload.get(api_settings.USER_ID_CLAIM)
    if user_id is None:
        return None
    return User.objects.filter(id=user_id, is_active=True).first()
