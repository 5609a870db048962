"""
TokenAuthMiddleware: authenticates WebSocket connections with a JWT.

The access token comes from the query string (``?token=<access>``, what
browsers can send) or from an ``Authorization: Bearer <access>`` header
(mobile and server clients). The middleware never rejects a connection: it
sets ``scope["user"]`` (AnonymousUser when the token is missing, invalid,
expired, a refresh token, or of a logged-out session) and ``scope["token"]``
(the token's claims, for its expiry), and leaves closing to the consumer,
which accepts first so the client sees close code 4401 rather than a bare
HTTP 403.
"""

from urllib.parse import parse_qs

from django.contrib.auth.models import AnonymousUser

from backend.asyncdb import db

from .tokens import authenticate_access_token


def token_from_scope(scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            scheme, _, credentials = value.decode("latin1").partition(" ")
            if scheme.lower() == "bearer" and credentials.strip():
                return credentials.strip()
    query = parse_qs(scope.get("query_string", b"").decode("latin1"))
    tokens = query.get("token")
    return tokens[0] if tokens and tokens[0] else None


class TokenAuthMiddleware:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        token = token_from_scope(scope)
        found = await db(authenticate_access_token)(token) if token else None
        user, claims = found if found else (AnonymousUser(), None)
        return await self.app(dict(scope, user=user, token=claims), receive, send)
