import re

from django.conf import settings
from django.contrib import admin
from django.http import Http404
from django.urls import include, path, re_path
from django.views.decorators.http import require_safe
from django.views.static import serve
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularRedocView,
    SpectacularSwaggerView,
)

from chat import pages
from chat.exports.api import ExportDownloadView, ExportView
from chat.moderation.api import ReportView
from chat.people import UserDetailView
from core import views

urlpatterns = [
    path("", views.index, name="index"),
    path("demo/", pages.demo, name="demo"),
    path("demo/sw.js", pages.demo_service_worker, name="demo-service-worker"),
    path("admin/", admin.site.urls),
    path("api/auth/", include("useraccount.urls")),
    # Data export (the chat's: the archive holds conversations and messages); before the profile route.
    path("api/auth/export/", ExportView.as_view(), name="auth-export"),
    path("api/auth/export/download/<str:token>/", ExportDownloadView.as_view(), name="auth-export-download"),
    # A profile with presence (the chat's): after the account routes, so theirs match first.
    path("api/auth/<str:user_id>/", UserDetailView.as_view(), name="auth-user"),
    path("api/chat/", include("chat.urls")),
    path("api/reports/", ReportView.as_view(), name="reports"),
    path("api/devices/", include("chat.push.urls")),
    path("api/bots/", include("useraccount.bot_urls")),
    path("api/webhooks/", include("chat.webhooks.urls")),
    # Served by core.probes.ProbeMiddleware before any host check; listed here for reverse().
    path("", include("core.probes")),
    path("api/", views.api_root, name="api-root"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema", template_name="core/redoc.html"), name="api-redoc"),
    path("api/asyncapi/", pages.asyncapi, name="asyncapi"),
]



@require_safe
def media(request, path):
    """
    An uploaded file (SERVE_MEDIA), in every configuration: Django's static
    view streams it with Last-Modified and answers If-Modified-Since with 304.
    Uploads are shown as what their type says and nothing else: no sniffing,
    no scripts even if a file were a disguised page.
    """
    if not settings.SERVE_MEDIA:
        raise Http404("Uploaded files are served elsewhere.")
    response = serve(request, path, document_root=settings.MEDIA_ROOT)
    response["Cache-Control"] = "public, max-age=3600"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


# Only for a local MEDIA_URL; one on another host (a CDN) is served there.
if settings.MEDIA_URL.startswith("/") and not settings.MEDIA_URL.startswith("//"):
    urlpatterns.append(re_path(rf"^{re.escape(settings.MEDIA_URL.lstrip('/'))}(?P<path>.+)$", media))

handler404 = "core.rest.api_not_found"
handler500 = "core.rest.api_server_error"
