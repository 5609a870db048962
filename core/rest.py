"""
The project-wide REST exception handler (settings.REST_FRAMEWORK).

    ApplicationError -> {"code", "detail"} with its status; a 400 about one
    field also carries {field: [detail]}, the shape DRF gives field errors.
    DRF's Throttled -> 429 {"code": "throttled", "detail", "retry_after"}
    with a Retry-After header (core.throttling).
    A body over DATA_UPLOAD_MAX_MEMORY_SIZE, or with more fields or files
    than Django reads -> 413 {"code": "too_large", "detail"}: Django would
    answer an HTML 400 and log it as an error.

Everything else goes to DRF's own handler.
"""

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from rest_framework.exceptions import Throttled
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from .errors import ApplicationError, TooLarge, TooManyRequests


def exception_handler(exc, context):
    exc = _as_application_error(exc)
    if isinstance(exc, ApplicationError):
        body = exc.as_dict()
        if exc.status == 400 and exc.field:
            body[exc.field] = [exc.detail]
        headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, TooManyRequests) else None
        return Response(body, status=exc.status, headers=headers)
    return drf_exception_handler(exc, context)


def _as_application_error(exc):
    if isinstance(exc, Throttled):
        # Our throttles always give a wait (whole seconds, rounded up).
        seconds = exc.wait or 1
        unit = "second" if seconds == 1 else "seconds"
        return TooManyRequests(f"Too many requests; try again in {seconds} {unit}.", retry_after=seconds)
    if isinstance(exc, RequestDataTooBig):
        return TooLarge(f"The request body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes.")
    if isinstance(exc, TooManyFieldsSent):
        return TooLarge(f"The request has more than {settings.DATA_UPLOAD_MAX_NUMBER_FIELDS} fields.")
    if isinstance(exc, TooManyFilesSent):
        return TooLarge(f"The request has more than {settings.DATA_UPLOAD_MAX_NUMBER_FILES} files.")
    return exc
