"""
The chat app's own pages: the demo web client at ``/demo/`` (a static page
and its script; everything it does goes through the public REST API and
sockets, as any client would) and the socket protocol's AsyncAPI document at
``/api/asyncapi/``.
"""

from django.http import JsonResponse
from django.views.decorators.http import require_safe

from core.public_urls import absolute_url
from core.views import page

from .realtime.asyncapi import cached_document

_SOCKET_SCHEMES = {"http": "ws", "https": "wss"}


@require_safe
def demo(request):
    """The demo web client: one page, one script, no build step."""
    return page(request, "chat/demo.html")


@require_safe
def asyncapi(request):
    """The WebSocket protocol as an AsyncAPI document, its server the origin clients reach (or PUBLIC_BASE_URL)."""
    scheme, _, rest = absolute_url("/").partition("://")
    server_url = f"{_SOCKET_SCHEMES.get(scheme, scheme)}://{rest}" if rest else "ws://localhost:8000"
    return JsonResponse(cached_document(server_url), json_dumps_params={"indent": 1})
