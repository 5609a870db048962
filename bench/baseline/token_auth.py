"""
Query-string JWT middleware, as the djangobnb tutorial writes it.

It mirrors that tutorial's ``token_auth.py``: split the query string by hand,
decode ``?token=`` with simplejwt's AccessToken, look the user up in the
database on every connection, and fall back to AnonymousUser on any error.
Nothing rejects an anonymous socket; the consumer does not check either.
"""

from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware
from django.contrib.auth.models import AnonymousUser
from rest_framework_simplejwt.tokens import AccessToken

from useraccount.models import User


@database_sync_to_async
def get_user(token_key):
    try:
        token = AccessToken(token_key)
        user_id = token.payload["user_id"]
        return User.objects.get(pk=user_id)
    except Exception:  # noqa: BLE001 (the tutorial's: any bad token is an anonymous user)
        return AnonymousUser()


class TokenAuthMiddleware(BaseMiddleware):
    def __init__(self, inner):
        self.inner = inner

    async def __call__(self, scope, receive, send):
        query = dict(x.split("=") for x in scope["query_string"].decode().split("&"))
        token_key = query.get("token")
        scope["user"] = await get_user(token_key)
        return await super().__call__(scope, receive, send)
