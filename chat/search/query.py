"""
Message search: ranked full text on PostgreSQL, every word as a substring on SQLite.

    messages = search_messages(ConversationMessage.objects.filter(...), "lunch friday")

On PostgreSQL a message matches when its body's words match the query
(``websearch_to_tsquery``: words, "quoted phrases", -exclusions, OR), ranked by
``ts_rank`` then newest first. The ``simple`` configuration takes words as
they are (no stemming), so it works the same for every language. The partial
GIN index ``message_body_search`` (migration 0006) holds the same expression
for live text messages, which is what makes it fast (docs/search.md has the
plan at a million messages). On SQLite every word of the query must appear in
the body, case-insensitively for ASCII letters, newest first.

Deleted messages and system messages never match.
"""

import re

from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVector
from django.db import connection
from django.db.models import F, Q, QuerySet

from core.errors import InvalidInput

CONFIG = "simple"
# The longest query accepted, in characters.
QUERY_MAX_LENGTH = 200


def searchable() -> Q:
    """What a search may find: live text messages (the index's condition)."""
    return Q(deleted_at__isnull=True, kind="text")


def body_vector() -> SearchVector:
    """The indexed expression; a query must use exactly this one for the index to serve it."""
    return SearchVector("body", config=CONFIG)


def clean_query(value) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput("Give something to search for in ?q=.", code="invalid_query", field="q")
    value = " ".join(value.split())
    if len(value) > QUERY_MAX_LENGTH or "\x00" in value:
        raise InvalidInput(
            f"The search is longer than {QUERY_MAX_LENGTH} characters.", code="invalid_query", field="q"
        )
    return value


def search_messages(messages: QuerySet, query: str) -> QuerySet:
    """``messages`` that match ``query``, best first."""
    messages = messages.filter(searchable())
    if connection.vendor == "postgresql":
        wanted = SearchQuery(query, config=CONFIG, search_type="websearch")
        return (
            messages.annotate(found=body_vector(), rank=SearchRank(F("found"), wanted))
            .filter(found=wanted)
            .order_by("-rank", "-created_at", "-id")
        )
    words = [word for word in re.split(r"\s+", query) if word]
    for word in words:
        messages = messages.filter(body__icontains=word)
    return messages.order_by("-created_at", "-id")
