"""
The ASGI application: Django for HTTP, the chat consumers for WebSockets.

Django is set up (get_asgi_application) before anything that imports models,
as Channels requires.
"""

import os
import sys

from django.core.asgi import get_asgi_application

# Database work runs on worker threads while the event loop thread delivers
# frames. With the default 5 ms switch interval a worker waiting for the GIL
# behind a busy loop waits up to 5 ms at each of a query's I/O returns, which
# stretched every message save under load (docs/benchmarks.md).
sys.setswitchinterval(0.0005)

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from chat.origins import BrowserOriginValidator  # noqa: E402
from chat.routing import websocket_urlpatterns  # noqa: E402
from useraccount.middleware import TokenAuthMiddleware  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": BrowserOriginValidator(TokenAuthMiddleware(URLRouter(websocket_urlpatterns))),
    }
)
