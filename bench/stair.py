"""
The project's socket stack with a room socket's connect cut short: what each
step of a connect costs, read as connects/s on the same harness.

    BENCH_PROJECT_APP=bench.stair:application .venv/bin/python bench/run.py --targets project \\
        --server-env STAIR=open --seconds 1 --ack-timeout 2 --drain-max 2 ...

``STAIR`` (the server's environment) says how far a connect goes before it
accepts: ``mw`` the project's middleware (origin, proxies, log context, the
token's signature) in front of Channels' own accept-only consumer; ``base``
the project's consumer machinery, accepting at once; ``join`` and the
socket's three groups joined; ``open`` and the opening statement
(chat.conversations.opening); ``admit`` and the Redis admission; ``full`` (the
default) the application as it is. Only the connect phase means anything: a
cut socket has no session, so the message phase's frames are refused.
"""

import os

from channels.generic.websocket import AsyncWebsocketConsumer
from channels.routing import ProtocolTypeRouter, URLRouter
from django.urls import re_path

from backend.asgi import application as full
from backend.asgi import django_asgi_app
from chat.conversations.opening import room_opening_on_loop
from chat.realtime.groups import conversation_group, room_group, user_group
from chat.sockets.origins import BrowserOriginValidator
from chat.sockets.rooms import RoomConsumer
from core.logs import LogContextMiddleware
from core.proxies import TrustedProxyMiddleware
from core.public_urls import PublicOriginASGIMiddleware
from core.validation import uuid_or_none
from useraccount.middleware import TokenAuthMiddleware
from useraccount.tokens import SESSION_CLAIM, claims_user_id

STAIR = os.environ.get("STAIR", "full")
STEPS = ("base", "join", "open", "admit")


class AcceptOnly(AsyncWebsocketConsumer):
    async def connect(self):
        await self.accept()


class CutRoomConsumer(RoomConsumer):
    """The rich path's connect up to STAIR, then accept."""

    async def connect(self):
        claims = self.scope["token"]
        user_id = claims_user_id(claims)
        conversation_id = uuid_or_none(self.scope["url_route"]["kwargs"]["conversation_id"])
        reached = STEPS.index(STAIR)
        if reached >= STEPS.index("join"):
            await self.join(user_group(user_id), conversation_group(conversation_id), room_group(conversation_id))
        if reached >= STEPS.index("open"):
            opening = await room_opening_on_loop(
                user_id=user_id, conversation_id=conversation_id, session=claims.get(SESSION_CLAIM)
            )
            self.scope["user"] = opening.user
        if reached >= STEPS.index("admit"):
            await self.admit(watch=opening.member_ids)
        await self.accept()


def stack(consumer):
    """backend.asgi's stack around one consumer for ws/chat/<id>/."""
    route = re_path(r"^ws/chat/(?P<conversation_id>[^/]+)/$", consumer.as_asgi())
    sockets = PublicOriginASGIMiddleware(BrowserOriginValidator(TokenAuthMiddleware(URLRouter([route]))))
    return LogContextMiddleware(TrustedProxyMiddleware(ProtocolTypeRouter({"http": django_asgi_app, "websocket": sockets})))


if STAIR == "full":
    application = full
elif STAIR == "mw":
    application = stack(AcceptOnly)
elif STAIR in STEPS:
    application = stack(CutRoomConsumer)
else:
    raise SystemExit(f"STAIR must be one of full, mw, {', '.join(STEPS)}")
