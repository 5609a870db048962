"""
The chat app's own pages: the demo web client at ``/demo/`` (a static page
and its script; everything it does goes through the public REST API and
sockets, as any client would) with its service worker at ``/demo/sw.js``,
and the socket protocol's AsyncAPI document at ``/api/asyncapi/``.
"""

from pathlib import Path

from django.http import HttpResponse, JsonResponse
from django.views.decorators.http import require_safe

from core.public_urls import absolute_url
from core.views import page

from .realtime.asyncapi import cached_document

_SOCKET_SCHEMES = {"http": "ws", "https": "wss"}
SERVICE_WORKER = Path(__file__).parent / "static" / "chat" / "demo" / "sw.js"


@require_safe
def demo(request):
    """The demo web client: one page, one script, no build step."""
    return page(request, "chat/demo.html")


@require_safe
def demo_service_worker(request):
    """
    The demo's service worker (push notifications). Served here rather than
    under /static/: a worker's scope is at most the folder of its URL, and
    this one's must cover /demo/ (so no Service-Worker-Allowed header is
    needed). Browsers check it for updates on each registration.
    """
    response = HttpResponse(SERVICE_WORKER.read_bytes(), content_type="text/javascript; charset=utf-8")
    response["Cache-Control"] = "no-cache"
    # The worker fetches nothing and runs no other script.
    response["Content-Security-Policy"] = "default-src 'none'"
    return response


@require_safe
def asyncapi(request):
    """The WebSocket protocol as an AsyncAPI document, its server the origin clients reach (or PUBLIC_BASE_URL)."""
    scheme, _, rest = absolute_url("/").partition("://")
    server_url = f"{_SOCKET_SCHEMES.get(scheme, scheme)}://{rest}" if rest else "ws://localhost:8000"
    return JsonResponse(cached_document(server_url), json_dumps_params={"indent": 1})
