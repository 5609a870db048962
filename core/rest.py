"""
The project-wide REST exception handler (settings.REST_FRAMEWORK).

    ApplicationError -> {"code", "detail"} with its status; a 400 about one
    field also carries {field: [detail]}, the shape DRF gives field errors.

Everything else goes to DRF's own handler.
"""

from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from .errors import ApplicationError


def exception_handler(exc, context):
    if isinstance(exc, ApplicationError):
        body = exc.as_dict()
        if exc.status == 400 and exc.field:
            body[exc.field] = [exc.detail]
        return Response(body, status=exc.status)
    return drf_exception_handler(exc, context)
