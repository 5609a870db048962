"""
The pages a person opens in a browser, the landing page at ``/`` and the
demo client at ``/demo/`` (a static page and its script; everything it does
goes through the public REST API and sockets, as any client would), and the
socket protocol's AsyncAPI document at ``/api/asyncapi/``.
"""

from django.http import JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_safe

from chat.realtime.asyncapi import cached_document
from core.public_urls import absolute_url

_SOCKET_SCHEMES = {"http": "ws", "https": "wss"}
# The pages load nothing but their own files, and run no inline script: an
# injected one could read the demo's tokens. ``'self'`` covers the page's own
# ws:// and wss:// origin in current browsers (CSP Level 3).
PAGE_POLICY = (
    "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'"
)


def _page(request, template: str):
    response = render(request, template)
    response["Content-Security-Policy"] = PAGE_POLICY
    return response


@require_safe
def index(request):
    """What this server is, with links to the API docs, the demo and the admin."""
    return _page(request, "core/index.html")


@require_safe
def api_root(request):
    """``/api/``: where the API's descriptions are, for whoever opens it first."""
    return JsonResponse({
        "schema": absolute_url(reverse("schema")),
        "docs": absolute_url(reverse("api-docs")),
        "redoc": absolute_url(reverse("api-redoc")),
        "asyncapi": absolute_url(reverse("asyncapi")),
    })


@require_safe
def demo(request):
    """The demo web client: one page, one script, no build step."""
    return _page(request, "chat/demo.html")


@require_safe
def asyncapi(request):
    """The WebSocket protocol as an AsyncAPI document, its server the origin clients reach (or PUBLIC_BASE_URL)."""
    scheme, _, rest = absolute_url("/").partition("://")
    server_url = f"{_SOCKET_SCHEMES.get(scheme, scheme)}://{rest}" if rest else "ws://localhost:8000"
    return JsonResponse(cached_document(server_url), json_dumps_params={"indent": 1})
