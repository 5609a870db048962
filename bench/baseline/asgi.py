"""
The baseline's ASGI application: ``daphne bench.baseline.asgi:application``.

Mirrors the Channels tutorial's ``asgi.py`` with djangobnb's token middleware:
Django's ASGI app for HTTP, ``TokenAuthMiddleware(URLRouter(...))`` for
WebSockets, one route ``ws/<room_name>/`` per conversation. It uses the
project's settings (``backend.settings``), so the same database and Redis
servers as the project, with the tutorial's channel layer and connection
settings (below).
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")
# The tutorial's settings where ours differ: channels_redis' RedisChannelLayer
# with its defaults (capacity 100) and a database connection per request, no
# pool. Same database and Redis servers as the project.
os.environ["CHANNEL_LAYER"] = "lists"
os.environ["CHANNEL_LAYER_CAPACITY"] = "100"
os.environ["DATABASE_POOL"] = "0"
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter
from django.urls import path

from bench.baseline.consumers import ChatConsumer
from bench.baseline.token_auth import TokenAuthMiddleware

websocket_urlpatterns = [
    path("ws/<str:room_name>/", ChatConsumer.as_asgi()),
]

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": TokenAuthMiddleware(URLRouter(websocket_urlpatterns)),
    }
)
