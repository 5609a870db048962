"""
Which browser origins may use the API: one rule for CORS and for sockets.

    origin_allowed("http://localhost:3000")                          # in ALLOWED_ORIGINS?
    origin_allowed("https://chat.example.com", own="https://chat.example.com")   # same origin: yes

An origin is allowed when ``ALLOWED_ORIGINS`` lists it (scheme, host and
port, compared as browsers send them; ``*`` allows any) or when it is the
server's own origin (a page it serves, such as the admin). CORS asks through
django-cors-headers' ``check_request_enabled`` signal (chat.apps connects it),
sockets through ``BrowserOriginValidator``, so a page that may open a socket
may also call the API, and the other way round. Clients that send no Origin
header (apps, servers) are not browsers and are not checked; a refused
socket gets HTTP 403 at the handshake.
"""

from channels.security.websocket import WebsocketDenier
from django.conf import settings

from core.origins import normalized_origin
from core.public_urls import current_origin


def origin_allowed(origin: str | None, *, own: str | None = None) -> bool:
    """Whether a browser page on ``origin`` may call the API and open sockets."""
    origin = normalized_origin(origin or "")
    if not origin:
        return False
    allowed = {normalized_origin(pattern) if pattern != "*" else "*" for pattern in settings.ALLOWED_ORIGINS}
    return "*" in allowed or origin in allowed or (own is not None and origin == normalized_origin(own))


def cors_request_allowed(sender, request, **kwargs) -> bool:
    """django-cors-headers' signal: the same rule as sockets."""
    return origin_allowed(request.headers.get("Origin"))


class BrowserOriginValidator:
    """
    ASGI middleware for sockets: a browser's Origin must pass ``origin_allowed``.
    It runs inside core.public_urls.PublicOriginASGIMiddleware, which has found
    the socket's own origin already.
    """

    def __init__(self, application):
        self.application = application

    async def __call__(self, scope, receive, send):
        origin = next((value for name, value in scope.get("headers", ()) if name == b"origin"), None)
        if origin is None or origin_allowed(origin.decode("latin1"), own=current_origin()):
            return await self.application(scope, receive, send)
        return await WebsocketDenier()(scope, receive, send)
