"""
OpenAPI helpers (drf-spectacular): the one error shape, and the error
answers each endpoint documents.

    @extend_schema(responses={200: MessageOut, **errors(400, 401, 404)})

``ErrorOut`` describes what core.rest.exception_handler answers. Every
endpoint documents 405, 413 (a body or query string over Django's size or
field-count limits), 429 and 503 (the database unreachable), which any
request can meet, besides its own statuses (401 when it needs a token, 415
when it takes a body).
"""

from drf_spectacular.utils import OpenApiExample, OpenApiResponse
from rest_framework import serializers

_MEANINGS = {
    400: "Invalid input: `fields` says which.",
    401: "No access token, or it is malformed, expired or of a logged-out session.",
    403: (
        "Not allowed; `code` says why: `forbidden` (someone else's message), `not_admin` (a group you are neither owner nor admin of), `not_owner` (what only the group's owner may do), "
        "`blocked` (one of two users blocks the other) or `recipient_deleted` (the other member of a direct "
        "conversation deleted their account)."
    ),
    404: "No such resource, or one the caller cannot see.",
    405: "Method not allowed.",
    413: "The body (or an uploaded file) is too large.",
    415: "The body's content type is not JSON, form or multipart.",
    429: "Over a rate limit; retry after `retry_after` seconds (also in `Retry-After`).",
    503: "The database cannot be reached just now; retry after `retry_after` seconds (also in `Retry-After`).",
}


class ErrorOut(serializers.Serializer):
    """Every error answer: docs/errors.md lists the codes."""

    code = serializers.CharField(help_text="Stable code for programs, e.g. `empty_body`.")
    detail = serializers.CharField(help_text="A sentence for people.")
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()), required=False,
        help_text="Validation errors only: each bad input field and its messages.",
    )
    retry_after = serializers.IntegerField(
        required=False, help_text="With `throttled` and `database_unavailable` only: seconds to wait."
    )


class LegacyErrorOut(serializers.Serializer):
    """
    Register and login: field messages at the top level (the original tutorial client reads them there).
    To its pages (an Origin in ORIGINAL_CLIENT_ORIGINS) only the messages: no code, no detail.
    """

    code = serializers.CharField(required=False, help_text="Always there, except to ORIGINAL_CLIENT_ORIGINS.")
    detail = serializers.CharField(required=False, help_text="Always there, except to ORIGINAL_CLIENT_ORIGINS.")
    non_field_errors = serializers.ListField(child=serializers.CharField(), required=False)
    retry_after = serializers.IntegerField(required=False)

    class Meta:
        ref_name = "LegacyError"


def errors(*statuses: int, body=ErrorOut) -> dict:
    """``responses`` entries for these statuses, plus 405, 413, 429 and 503, which any request can meet."""
    wanted = sorted(set(statuses) | {405, 413, 429, 503})
    return {
        status: OpenApiResponse(
            body, description=_MEANINGS[status],
            examples=[OpenApiExample(f"{status}", value=_example(status), response_only=True, status_codes=[str(status)])],
        )
        for status in wanted
    }


def _example(status: int) -> dict:
    return {
        400: {"code": "invalid", "detail": "This field is required.", "fields": {"body": ["This field is required."]}},
        401: {"code": "not_authenticated", "detail": "Authentication credentials were not provided."},
        403: {"code": "forbidden", "detail": "Only the author can change a message."},
        404: {"code": "not_found", "detail": "No such conversation."},
        405: {"code": "method_not_allowed", "detail": 'Method "PUT" not allowed.'},
        413: {"code": "too_large", "detail": "The request body is larger than 2621440 bytes."},
        415: {"code": "unsupported_media_type", "detail": 'Unsupported media type "text/plain" in request.'},
        429: {"code": "throttled", "detail": "Too many requests; try again in 3 seconds.", "retry_after": 3},
        503: {
            "code": "database_unavailable", "detail": "The database cannot be reached just now; try again in 5 seconds.",
            "retry_after": 5,
        },
    }[status]


def paged_lists_refuse_bad_limits(result, generator, request, public):
    """
    drf-spectacular postprocessing hook: every list paged with ``?limit=``
    (core.pagination) documents the 400 a limit that is not a whole number
    of 1 or more gets, whatever its view declared.
    """
    bad_limit = {
        "description": "Invalid input: `fields` says which (here a `limit` that is not a whole number of 1 or more).",
        "content": {"application/json": {
            "schema": {"$ref": "#/components/schemas/ErrorOut"},
            "examples": {"400": {"value": {
                "code": "invalid", "detail": "A whole number of 1 or more is required.",
                "fields": {"limit": ["A whole number of 1 or more is required."]},
            }}},
        }},
    }
    for item in result.get("paths", {}).values():
        for operation in item.values():
            if not isinstance(operation, dict):
                continue
            parameters = operation.get("parameters", [])
            if any(p.get("in") == "query" and p.get("name") == "limit" for p in parameters):
                responses = operation.setdefault("responses", {})
                if "400" not in responses:
                    responses["400"] = bad_limit
                    operation["responses"] = dict(sorted(responses.items()))
    return result
