"""
Absolute URLs for stored files (avatars), as clients on another origin need them.

Storage gives a file's URL as a path (``/media/avatars/…``) unless it is a
full URL already (a CDN, object storage). A frontend on another origin, or a
mobile app, cannot use a path, so JSON carries ``absolute_url(path)``:

- with ``PUBLIC_BASE_URL`` set (``https://chat.example.com``): that base;
- else the origin the current HTTP request or socket came in on, its Host
  header checked against ``ALLOWED_HOSTS`` as Django checks it, and its
  scheme read as Django reads it (``SECURE_PROXY_SSL_HEADER``);
- outside any request (a management command, a shell): the path as it is.

    with serving_origin("http://localhost:8000"):
        absolute_url("/media/avatars/a.png")   # "http://localhost:8000/media/avatars/a.png"

The origin is a context variable: ``PublicOriginMiddleware`` sets it for each
HTTP request and ``PublicOriginASGIMiddleware`` for each socket (the socket's
origin check reads it there, see chat.sockets.origins), and it follows the request
into the threads that run the ORM. A frame broadcast to a
room is serialised once, where it is caused, so its URLs carry the sender's
origin: when clients reach the server under several names, or a proxy
rewrites the Host header, set PUBLIC_BASE_URL.
"""

import io
from contextlib import contextmanager
from contextvars import ContextVar

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.core.handlers.asgi import ASGIRequest

_origin: ContextVar[str | None] = ContextVar("serving_origin", default=None)
_HTTP_SCHEMES = {"ws": "http", "wss": "https", "http": "http", "https": "https"}


def absolute_url(url: str) -> str:
    """``url`` made absolute on the public base URL or the serving origin, when it is a path."""
    if not url.startswith("/") or url.startswith("//"):
        return url
    base = settings.PUBLIC_BASE_URL or _origin.get()
    return f"{base}{url}" if base else url


@contextmanager
def serving_origin(origin: str | None):
    """Build absolute URLs on ``origin`` (``scheme://host[:port]``) inside the block."""
    token = _origin.set(origin)
    try:
        yield
    finally:
        _origin.reset(token)


def socket_origin(scope) -> str | None:
    """
    The ``http(s)://host`` a socket's handshake names, or None if its Host is
    not an allowed one: Django's own answer for the same request over HTTP
    (ALLOWED_HOSTS, SECURE_PROXY_SSL_HEADER), asked of an ASGIRequest.
    """
    http_scope = {**scope, "type": "http", "method": "GET", "scheme": _HTTP_SCHEMES.get(scope.get("scheme"), "http")}
    request = ASGIRequest(http_scope, io.BytesIO())
    try:
        return f"{request.scheme}://{request.get_host()}"
    except DisallowedHost:
        return None


def current_origin() -> str | None:
    """The origin set for the request or socket being served."""
    return _origin.get()


class PublicOriginMiddleware:
    """Django middleware: absolute URLs in a response use the request's origin (or PUBLIC_BASE_URL)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with serving_origin(f"{request.scheme}://{request.get_host()}"):
            return self.get_response(request)


class PublicOriginASGIMiddleware:
    """ASGI middleware for sockets: absolute URLs in frames use the handshake's origin."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        with serving_origin(socket_origin(scope)):
            return await self.app(scope, receive, send)
