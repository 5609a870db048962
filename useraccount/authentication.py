"""REST authentication: simplejwt's, plus refusing logged-out sessions."""

from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import InvalidToken

from .tokens import session_is_revoked


class SessionJWTAuthentication(JWTAuthentication):
    def get_validated_token(self, raw_token):
        token = super().get_validated_token(raw_token)
        if session_is_revoked(token.payload):
            raise InvalidToken("This session has been logged out.")
        return token


class SessionJWTScheme(SimpleJWTScheme):
    """OpenAPI (drf-spectacular): the bearer scheme, as for simplejwt's own class."""

    target_class = "useraccount.authentication.SessionJWTAuthentication"
    name = "bearer"
