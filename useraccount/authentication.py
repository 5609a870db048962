"""REST authentication: simplejwt's, plus refusing logged-out sessions."""

from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import InvalidToken

from .tokens import claims_user_id, session_is_revoked


class SessionJWTAuthentication(JWTAuthentication):
    def get_validated_token(self, raw_token):
        token = super().get_validated_token(raw_token)
        if session_is_revoked(token.payload):
            raise InvalidToken("This session has been logged out.")
        return token

    def get_user(self, validated_token):
        # A token signed with this key whose user id is not a UUID (another
        # service sharing the key, a key rotation) is an invalid token, not
        # a database error.
        if claims_user_id(validated_token.payload) is None:
            raise InvalidToken("Token contained no recognizable user identification")
        return super().get_user(validated_token)


class SessionJWTScheme(SimpleJWTScheme):
    """OpenAPI (drf-spectacular): the bearer scheme, as for simplejwt's own class."""

    target_class = "useraccount.authentication.SessionJWTAuthentication"
    name = "bearer"
