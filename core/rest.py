"""
The project-wide REST exception handler (settings.REST_FRAMEWORK): every
error answer has one shape, whatever raised it.

    {"code": "empty_body", "detail": "The message body is empty.", "fields": {"body": ["The message body is empty."]}}

``code`` is stable and meant for programs (docs/errors.md lists every one),
``detail`` is a sentence for people, and ``fields`` (validation errors only)
maps each bad input field to its messages. Sources:

- ``ApplicationError`` (core.errors): its code, detail and status; its field, if any.
- DRF's validation errors: 400 ``invalid`` with ``fields``; DRF's other
  errors keep their own codes (``not_authenticated``, ``permission_denied``,
  ``not_found``, ``method_not_allowed``, ``unsupported_media_type``, ``parse_error``…).
- simplejwt's token errors: 401 ``token_not_valid`` with the reason
  (expired, malformed, logged out) as the detail.
- ``Throttled``: 429 ``throttled`` with ``retry_after`` and a Retry-After header.
- A database that cannot be reached (core.outages.database_unreachable): 503
  ``database_unavailable`` with ``retry_after`` and a Retry-After header; the
  outage is logged once when it starts and once when it ends, not per request.
  ``DatabaseOutageMiddleware`` answers the same for views outside DRF.
- A body over DATA_UPLOAD_MAX_MEMORY_SIZE, or with more fields or files than
  Django reads: 413 ``too_large`` (Django would answer an HTML 400).
- Anything else: 500 ``server_error``, saying nothing of the cause, which is
  logged (django.request) with its traceback.

A view with ``legacy_error_keys = True`` (register and login, whose field
errors the original tutorial client reads at the top level) has each field's
messages at the top level instead of under ``fields``:
``{"code", "detail", "email": [...]}``. That client shows every top-level
value of a sign-up error as a line of text, and an object (``fields``) there
would crash its page; its login shows ``non_field_errors``. Requests from its
pages (an Origin in ORIGINAL_CLIENT_ORIGINS) get only the messages it shows,
the body the backend it was written for answered:
``{"email": [...]}``, or ``{"non_field_errors": [detail]}`` for an error of
no field; it would show ``code`` as a line of text too ("invalid"). Nothing
else tells its requests apart (the same path, headers and body as any
client's), and every other client keeps the one shape.
"""

import logging

from django.conf import settings
from django.core.exceptions import PermissionDenied, RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.core.signals import got_request_exception
from django.http import Http404, HttpResponse, JsonResponse
from django.utils.cache import patch_vary_headers
from django.utils.deprecation import MiddlewareMixin
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import set_rollback

from .errors import ApplicationError, DatabaseUnavailable, RetryLater, TooLarge, TooManyRequests
from .origins import origin_listed
from .outages import database_failed

logger = logging.getLogger("django.request")

SERVER_ERROR_DETAIL = "Something went wrong on the server; try again later."
# A restart or a failover of PostgreSQL takes seconds.
DATABASE_RETRY_AFTER = 5


def database_unavailable() -> DatabaseUnavailable:
    return DatabaseUnavailable(
        f"The database cannot be reached just now; try again in {DATABASE_RETRY_AFTER} seconds.",
        retry_after=DATABASE_RETRY_AFTER,
    )


def error_body(code: str, detail: str, fields: dict | None = None, **extra) -> dict:
    """The one error shape."""
    body = {"code": code, "detail": detail, **extra}
    if fields:
        body["fields"] = fields
    return body


def exception_handler(exc, context):
    # Counted either way; an unreachable database is logged once per outage.
    if database_failed(exc):
        exc = database_unavailable()
    exc = _as_known_error(exc)
    headers = {}
    if isinstance(exc, ApplicationError):
        status = exc.status
        fields = {exc.field: exc.messages} if exc.field and status == 400 else None
        body = error_body(fields=fields, **exc.as_dict())
        if isinstance(exc, RetryLater):
            headers["Retry-After"] = str(exc.retry_after)
    elif isinstance(exc, exceptions.APIException):
        status = exc.status_code
        body = _describe(exc)
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = exc.auth_header
    else:
        request = context.get("request")
        # Django announces the errors it did not handle with this signal, and
        # error trackers (Sentry) listen to it; DRF handled this one, so say it.
        got_request_exception.send(sender=None, request=getattr(request, "_request", request))
        logger.error(
            "Internal Server Error: %s", getattr(request, "path", "?"), exc_info=exc,
            extra={"status_code": 500, "request": getattr(request, "_request", request)},
        )
        status, body = 500, error_body("server_error", SERVER_ERROR_DETAIL)
    legacy = getattr(context.get("view"), "legacy_error_keys", False)
    if legacy:
        body = legacy_error_body(body, context.get("request"))
    set_rollback()
    response = Response(body, status=status, headers=headers)
    if legacy:
        patch_vary_headers(response, ["Origin"])  # the body depends on it
    # Logged above with its traceback, or once per outage (503): Django's own
    # 5xx line would repeat it.
    response._has_been_logged = status >= 500
    return response


def legacy_error_body(body: dict, request) -> dict:
    """Register and login: field messages at the top level; to the original client's pages, only the messages."""
    fields = body.pop("fields", {})
    if request is not None and origin_listed(request.headers.get("Origin"), settings.ORIGINAL_CLIENT_ORIGINS):
        return fields or {"non_field_errors": [body["detail"]]}
    for field, messages in fields.items():
        body.setdefault(field, messages)
    return body


def _as_known_error(exc):
    if isinstance(exc, Http404):
        return exceptions.NotFound()
    if isinstance(exc, PermissionDenied):
        return exceptions.PermissionDenied()
    if isinstance(exc, exceptions.Throttled):
        # Our throttles always give a wait (whole seconds, rounded up).
        seconds = int(exc.wait or 1)
        unit = "second" if seconds == 1 else "seconds"
        return TooManyRequests(f"Too many requests; try again in {seconds} {unit}.", retry_after=seconds)
    if isinstance(exc, RequestDataTooBig):
        return TooLarge(f"The request body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes.")
    if isinstance(exc, TooManyFieldsSent):
        return TooLarge(f"The request has more than {settings.DATA_UPLOAD_MAX_NUMBER_FIELDS} fields.")
    if isinstance(exc, TooManyFilesSent):
        return TooLarge(f"The request has more than {settings.DATA_UPLOAD_MAX_NUMBER_FILES} files.")
    return exc


def _describe(exc: exceptions.APIException) -> dict:
    detail = exc.detail
    if isinstance(exc, exceptions.ValidationError):
        fields = _flatten(detail if isinstance(detail, dict) else {"non_field_errors": detail})
        first = next((messages[0] for messages in fields.values() if messages), "Invalid input.")
        return error_body("invalid", first, fields)
    if isinstance(detail, dict):
        # simplejwt's token errors: {"detail", "code", "messages": [{"message", ...}]}
        messages = detail.get("messages") or []
        reason = messages[0].get("message") if messages and isinstance(messages[0], dict) else None
        return error_body(str(detail.get("code") or exc.default_code), str(reason or detail.get("detail", "")))
    code = exc.get_codes() if isinstance(exc.get_codes(), str) else exc.default_code
    return error_body(code, str(detail))


def _flatten(errors, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested field errors as ``{"field": [...], "items.0.name": [...]}``."""
    fields: dict[str, list[str]] = {}
    items = errors.items() if isinstance(errors, dict) else None
    if items is None:
        messages = errors if isinstance(errors, list) else [errors]
        if all(not isinstance(m, (dict, list)) for m in messages):
            return {prefix or "non_field_errors": [str(m) for m in messages]}
        items = ((str(i), m) for i, m in enumerate(messages) if m)
    for key, value in items:
        name = f"{prefix}.{key}" if prefix else str(key)
        fields.update(_flatten(value, name))
    return fields


def api_not_found(request, exception=None):
    """handler404: JSON under /api/, Django's page elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse(error_body("not_found", "No such endpoint."), status=404)
    from django.views.defaults import page_not_found

    return page_not_found(request, exception)


def api_server_error(request):
    """handler500: JSON under /api/, Django's page elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse(error_body("server_error", SERVER_ERROR_DETAIL), status=500)
    from django.views.defaults import server_error

    return server_error(request)


class DatabaseOutageMiddleware(MiddlewareMixin):
    """
    For views outside DRF (the admin, the pages): an unreachable database is
    a 503 with Retry-After (the error body under /api/, a line of text
    elsewhere), logged once per outage, instead of a 500 with a traceback per
    request. Other database errors are counted and left to Django.
    """

    def process_exception(self, request, exception):
        if not database_failed(exception):
            return None
        error = database_unavailable()
        if request.path.startswith("/api/"):
            response = JsonResponse(error_body(**error.as_dict()), status=error.status)
        else:
            response = HttpResponse(error.detail, status=error.status, content_type="text/plain; charset=utf-8")
        response["Retry-After"] = str(error.retry_after)
        response._has_been_logged = True
        return response
