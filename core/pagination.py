"""
Pages for every list the API pages: a plain JSON array, the cursors in the
``Link`` header (``linked_page``), and ``LINK_HEADER`` for the schema.
"""


from django.conf import settings
from django.utils.dateparse import parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework.exceptions import NotFound as DRFNotFound
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response



class LinkHeaderCursorPagination(CursorPagination):
    """
    Cursor pages whose body stays a plain array; the cursors go in ``Link``.
    CHAT_CONVERSATION_PAGE_SIZE conversations unless ``?limit=`` asks for
    fewer or more (up to CHAT_CONVERSATION_PAGE_MAX).
    """

    page_size_query_param = "limit"
    ordering = "-modified_at"

    def __init__(self):
        self.page_size = settings.CHAT_CONVERSATION_PAGE_SIZE
        self.max_page_size = settings.CHAT_CONVERSATION_PAGE_MAX

    def get_page_size(self, request):
        """
        ``?limit=``: a whole number of 1 or more, cut to ``max_page_size``;
        anything else (``null``, ``abc``, ``0``) is a 400, where DRF would
        quietly use the default.
        """
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        if not (raw.isascii() and raw.isdigit()) or int(raw) < 1:
            raise ValidationError({self.page_size_query_param: ["A whole number of 1 or more is required."]})
        return min(int(raw), self.max_page_size)

    def decode_cursor(self, request):
        """DRF's, plus: a cursor whose position is not a time is invalid (404), not a 500."""
        cursor = super().decode_cursor(request)
        if cursor is not None and cursor.position is not None:
            try:
                valid = parse_datetime(cursor.position) is not None
            except ValueError:  # well formed but impossible, e.g. month 13
                valid = False
            if not valid:
                raise DRFNotFound(self.invalid_cursor_message)
        return cursor

    def get_paginated_response(self, data):
        return linked_page(data, next_url=self.get_next_link(), prev_url=self.get_previous_link())


def linked_page(data: list, *, next_url: str | None, prev_url: str | None) -> Response:
    """A page as a plain array, its neighbours in the ``Link`` header (every list the API pages)."""
    links = [f'<{url}>; rel="{rel}"' for rel, url in (("next", next_url), ("prev", prev_url)) if url is not None]
    return Response(data, headers={"Link": ", ".join(links)} if links else {})


LINK_HEADER = OpenApiParameter(
    "Link", OpenApiTypes.STR, OpenApiParameter.HEADER, response=[200],
    description='Cursor links to the next and previous pages: `<url>; rel="next", <url>; rel="prev"`.',
)


def cursor_page_parameters(page_size: str) -> list:
    """
    The query parameters and header of a list paged by cursors in ``Link``,
    for ``extend_schema(parameters=...)``; ``page_size`` says its default and
    largest ``?limit=``: ``"CHAT_MENTIONS_PAGE_SIZE, 20; at most CHAT_MENTIONS_PAGE_MAX, 50"``.
    """
    return [
        OpenApiParameter("limit", {"type": "integer", "minimum": 1}, description=f"Page size (default {page_size})."),
        OpenApiParameter("cursor", str, description="From a `Link` header; opaque."),
        LINK_HEADER,
    ]
