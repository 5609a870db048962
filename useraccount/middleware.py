"""
TokenAuthMiddleware: reads a WebSocket connection's JWT, without the database.

The access token comes from the query string (``?token=<access>``, what
browsers can send) or from an ``Authorization: Bearer <access>`` header
(mobile and server clients). The middleware checks only what needs no
database: the signature, and that it is an *access* token. It sets
``scope["token"]`` to the token's claims (expired or not: the original
tutorial client's socket counts an expired token while its session lives)
or None, and ``scope["user"]`` to AnonymousUser; the consumer authorises
the socket (user, session, password, expiry) together with whatever else it
reads while connecting, in one statement for a room socket
(chat.conversations.opening), and replaces ``scope["user"]``. It never
rejects a connection: the consumer accepts first, so the client sees close
code 4401 rather than a bare HTTP 403.
"""

from urllib.parse import parse_qs

from django.contrib.auth.models import AnonymousUser

from .tokens import signed_access_claims


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
        claims = signed_access_claims(token) if token else None
        # Set on the scope itself, not a copy: a socket's scope lives as long as it does.
        scope["user"], scope["token"] = AnonymousUser(), claims
        return await self.app(scope, receive, send)
