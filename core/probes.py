"""
Health checks and ``/metrics``, answered whatever the Host header says.

Orchestrators, load balancers and Prometheus reach a container by its
address (``Host: 172.18.0.5:8000``), which is in no ``DJANGO_ALLOWED_HOSTS``:
through the usual middleware the first ``request.get_host()`` would answer
400 (DisallowedHost). ``ProbeMiddleware``, first in ``MIDDLEWARE``, serves
these few paths itself before anything reads the Host header; every other
path goes on through the middleware, its host validation included, as
before. None of these views builds a URL from the host, and ``/metrics``
keeps its own admission (``METRICS_TOKEN``, ``METRICS_ALLOWED_NETWORKS``).
Nothing after it runs for them either, so the HTTPS redirect leaves them
alone: probes inside the network use plain HTTP.

    path("", include("core.probes")),    # backend.urls: reverse() knows them
"""

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.urls import path

from core import health, metrics

urlpatterns = [
    path("health/", health.ready, name="health"),
    path("health/ready", health.ready, name="health-ready"),
    path("health/live", health.live, name="health-live"),
    path("metrics", metrics.metrics_view, name="metrics"),
]
_VIEWS = {f"/{pattern.pattern}": pattern.callback for pattern in urlpatterns}


class ProbeMiddleware:
    """First in MIDDLEWARE: the probe paths go straight to their views; everything else on down the stack."""

    sync_capable = False
    async_capable = True

    def __init__(self, get_response):
        self.get_response = get_response
        markcoroutinefunction(self)

    async def __call__(self, request):
        view = _VIEWS.get(request.path_info)
        if view is None:
            return await self.get_response(request)
        if not iscoroutinefunction(view):
            view = sync_to_async(view)
        return await view(request)
