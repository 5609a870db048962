"""
REST authentication: simplejwt's, plus refusing logged-out sessions; and
bots' API keys.

    Authorization: Bearer <access token>   people (a JWT from login)
    Authorization: Api-Key <key>           bots (useraccount.bots)

Bots use their own scheme rather than ``Bearer``: ``Bearer`` is the JWT, and
a key sent there would be parsed as one (and refused) by the first class.
One word per kind of credential tells both the server and anyone reading a
log which one a request carries.
"""

from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed, PermissionDenied
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import InvalidToken

from .bots import api_key_authenticate, scope_for_method
from .tokens import claims_user_id, session_is_revoked

API_KEY_KEYWORD = "api-key"


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


class ApiKeyAuthentication(BaseAuthentication):
    """
    ``Authorization: Api-Key <key>``: the key's bot, with the key as
    ``request.auth``. A key unknown, revoked, or of a deactivated bot is a
    401; a request its scopes do not cover (``read`` for GET, HEAD, OPTIONS,
    ``write`` for the rest) is a 403 ``scope_refused``.
    """

    def authenticate(self, request):
        scheme, _, credentials = get_authorization_header(request).decode("latin1").partition(" ")
        if scheme.lower() != API_KEY_KEYWORD:
            return None
        key = api_key_authenticate(raw=credentials.strip()) if credentials.strip() else None
        if key is None:
            raise AuthenticationFailed("The API key is invalid or revoked.", code="invalid_api_key")
        needed = scope_for_method(request.method)
        if needed not in key.scope_set:
            raise PermissionDenied(f"This API key lacks the {needed!r} scope.", code="scope_refused")
        return key.bot, key

    def authenticate_header(self, request):
        return 'Api-Key realm="api"'


class ApiKeyScheme(OpenApiAuthenticationExtension):
    """OpenAPI: ``Authorization: Api-Key <key>`` for bots."""

    target_class = "useraccount.authentication.ApiKeyAuthentication"
    name = "apiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey", "in": "header", "name": "Authorization",
            "description": "Bots: `Api-Key <key>` (docs/integrations.md). Scopes: `read` (GET), `write` (the rest).",
        }
