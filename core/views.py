"""
The landing page at ``/`` and the ``/api/`` index, and ``page``, which
serves a template under the pages' strict Content Security Policy (the chat
app's demo client uses it too).
"""

from django.http import JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_safe

from core.public_urls import absolute_url

# The pages load nothing but their own files, and run no inline script: an
# injected one could read the demo's tokens. ``'self'`` covers the page's own
# ws:// and wss:// origin in current browsers (CSP Level 3).
PAGE_POLICY = (
    "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'"
)


def page(request, template: str):
    response = render(request, template)
    response["Content-Security-Policy"] = PAGE_POLICY
    return response


@require_safe
def index(request):
    """What this server is, with links to the API docs, the demo and the admin."""
    return page(request, "core/index.html")


@require_safe
def api_root(request):
    """``/api/``: where the API's descriptions are, for whoever opens it first."""
    return JsonResponse({
        "schema": absolute_url(reverse("schema")),
        "docs": absolute_url(reverse("api-docs")),
        "redoc": absolute_url(reverse("api-redoc")),
        "asyncapi": absolute_url(reverse("asyncapi")),
    })
