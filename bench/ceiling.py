"""
The ceiling: a Channels consumer that accepts every socket and does nothing else.

    daphne bench.ceiling:application

No authentication, no database, no channel layer, any path: what daphne and
Channels cost per connect and per idle socket before an application does
anything. bench/run.py serves it with the same launcher and ServerGroup as
the baseline (plain daphne) and puts it at the top of every connect table:
the other targets' connects/s are given as a percentage of its, their memory
per socket as a multiple of its. It has no message phase.

Django is configured here with nothing but an empty CHANNEL_LAYERS (Channels'
consumers read that setting), so no app, model or database is loaded.
"""

from channels.generic.websocket import AsyncWebsocketConsumer
from channels.routing import ProtocolTypeRouter
from django.conf import settings

if not settings.configured:
    settings.configure(CHANNEL_LAYERS={})


class AcceptOnlyConsumer(AsyncWebsocketConsumer):
    """Accepts, then ignores whatever the client sends."""

    async def connect(self):
        """Accept at once: no token, no membership, no groups."""
        await self.accept()

    async def receive(self, text_data=None, bytes_data=None):
        """Nothing to do."""


async def not_found(scope, receive, send):
    """HTTP (only the runner's readiness probe asks): 404, without Django."""
    await receive()
    await send({"type": "http.response.start", "status": 404, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"not found"})


application = ProtocolTypeRouter({"http": not_found, "websocket": AcceptOnlyConsumer.as_asgi()})
