"""
The ASGI application: Django for HTTP, the chat consumers for WebSockets.

Django is set up (get_asgi_application) before anything that imports models,
as Channels requires. Importing it changes nothing else in the interpreter;
server tuning lives in core.runtime.serve, the production server command.
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from chat.sockets.origins import BrowserOriginValidator  # noqa: E402
from chat.routing import websocket_urlpatterns  # noqa: E402
from core.logs import LogContextMiddleware  # noqa: E402
from core.proxies import TrustedProxyMiddleware  # noqa: E402
from core.public_urls import PublicOriginASGIMiddleware  # noqa: E402
from useraccount.middleware import TokenAuthMiddleware  # noqa: E402

application = LogContextMiddleware(
    TrustedProxyMiddleware(
        ProtocolTypeRouter(
            {
                "http": django_asgi_app,
                "websocket": PublicOriginASGIMiddleware(
                    BrowserOriginValidator(TokenAuthMiddleware(URLRouter(websocket_urlpatterns)))
                ),
            }
        )
    )
)
