"""
``GET /api/chat/search/?q=&limit=``: messages across your conversations, best first,
paged through ``Link`` (and ``?q=`` on a conversation's messages, through ``search_response``).
"""

import base64
import binascii

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param
from rest_framework.views import APIView

from chat.messages.serializers import MessageOut, message_data
from chat.search.selectors import message_search
from chat.search.serializers import SearchInput
from core.errors import NotFound
from core.pagination import LINK_HEADER, linked_page
from core.schema import errors
from core.throttling import (
    MessageSearchThrottle,
    UserThrottle,
)



class SearchPage:
    """
    Pages of ranked search results: ``?limit=`` (CHAT_SEARCH_PAGE_SIZE, at
    most CHAT_SEARCH_PAGE_MAX) and an opaque ``cursor`` in the ``Link``
    header, as the other lists; no deeper than CHAT_SEARCH_MAX_RESULTS.
    """

    def __init__(self, request, params: dict):
        self.request = request
        self.limit = params.get("limit") or settings.CHAT_SEARCH_PAGE_SIZE
        self.offset = self._offset(params.get("cursor"))

    @staticmethod
    def _offset(cursor: str | None) -> int:
        if not cursor:
            return 0
        try:
            text = base64.urlsafe_b64decode(cursor.encode("ascii") + b"==").decode("ascii")
        except (binascii.Error, UnicodeError, ValueError):
            text = ""
        if not text.startswith("o") or not text[1:].isdigit():
            raise NotFound("Invalid cursor.")
        return int(text[1:])

    def results(self, queryset) -> list:
        end = min(self.offset + self.limit, settings.CHAT_SEARCH_MAX_RESULTS)
        rows = list(queryset[self.offset : end + 1]) if end > self.offset else []
        self.has_next = len(rows) > end - self.offset and end < settings.CHAT_SEARCH_MAX_RESULTS
        return rows[: end - self.offset]

    @staticmethod
    def _cursor(offset: int) -> str:
        return base64.urlsafe_b64encode(f"o{offset}".encode("ascii")).decode("ascii").rstrip("=")

    def response(self, data: list) -> Response:
        url = self.request.build_absolute_uri()
        return linked_page(
            data,
            next_url=replace_query_param(url, "cursor", self._cursor(self.offset + self.limit)) if self.has_next else None,
            prev_url=replace_query_param(url, "cursor", self._cursor(max(0, self.offset - self.limit)))
            if self.offset else None,
        )


def search_response(request, conversation=None) -> Response:
    """A page of the caller's messages matching ``?q=`` (in ``conversation``, if given), best first."""
    params = SearchInput(data=request.query_params)
    params.is_valid(raise_exception=True)
    page = SearchPage(request, params.validated_data)
    found = page.results(
        message_search(user=request.user, query=params.validated_data["q"], conversation=conversation)
    )
    return page.response([message_data(m) for m in found])


class SearchView(APIView):
    throttle_classes = [UserThrottle, MessageSearchThrottle]

    @extend_schema(
        tags=["messages"], parameters=[SearchInput, LINK_HEADER],
        responses={200: MessageOut(many=True), **errors(400, 401, 404)},
        description=(
            "Messages of your conversations that match `q`, best first: ranked full-text search on "
            "PostgreSQL (words, \"phrases\", -exclusions, OR), every word as a substring on SQLite. "
            "Deleted and system messages never match. docs/search.md."
        ),
    )
    def get(self, request):
        return search_response(request)
