"""
TokenAuthMiddleware: authenticates WebSocket connections with a JWT.

The access token comes from the query string (``?token=<access>``, what
browsers can send) or from an ``Authorization: Bearer <access>`` header
(mobile and server clients). The middleware never rejects a connection: it
sets ``scope["user"]`` (AnonymousUser when the token is missing, invalid,
expired, a refresh token, or of a logged-out session) and ``scope["token"]``
(the token's claims, for its expiry), and leaves closing to the consumer,
which accepts first so the client sees close code 4401 rather than a bare
HTTP 403. The one exception is a database that fails while the token is
checked: then whether the token is good is unknown, so the socket is
accepted and closed with 4503 (try again later) and the error counted, as
any socket's database failure while connecting.
"""

import logging
from urllib.parse import parse_qs

from django.contrib.auth.models import AnonymousUser
from django.db import DatabaseError

from core.outages import CLOSE_TRY_AGAIN, database_failed, refuse_socket_for_now
from core.runtime.asyncdb import loop_or_db

from .tokens import authenticate_access_token, authenticate_access_token_on_loop

logger = logging.getLogger(__name__)


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
        try:
            check = loop_or_db(authenticate_access_token_on_loop, authenticate_access_token)
            found = await check(token) if token else None
        except DatabaseError as error:
            if not database_failed(error):  # counted; an unreachable database is logged once per outage
                logger.exception("Closed a socket with %s: the database failed checking its token", CLOSE_TRY_AGAIN)
            if (await receive())["type"] == "websocket.connect":
                await refuse_socket_for_now(send, accepted=False)
            return
        user, claims = found if found else (AnonymousUser(), None)
        return await self.app(dict(scope, user=user, token=claims), receive, send)
