"""
A message's metadata: a client's JSON object for custom message types (a
poll, a card, a bot's payload), kept on the message, returned in its JSON
as ``metadata`` and searchable by top-level key equality.

``validate_metadata`` is the one check, for every way a message is sent or
edited (REST, the socket, scheduled sends): an object (or null/absent: none)
of at most CHAT_MESSAGE_METADATA_MAX_BYTES as compact JSON, nesting at most
CHAT_MESSAGE_METADATA_MAX_DEPTH, with no text PostgreSQL cannot store.
An empty object is no metadata (stored as null).

``metadata_filter`` turns ``?metadata.<key>=<value>`` into a condition
"where the database allows" a fast one: on PostgreSQL containment
(``metadata @> {"key": "value"}``), which the ``message_metadata`` GIN index
(jsonb_path_ops) answers; on SQLite JSON1's ``json_extract`` equality, a scan
of the conversation's messages. The value is matched as text: ``5`` finds
``{"n": "5"}``, not ``{"n": 5}`` (documented in docs/protocol.md).

    metadata = validate_metadata({"type": "poll", "options": ["a", "b"]})
    messages.filter(metadata_filter({"type": "poll"}))
"""

import json
import math
import re

from django.conf import settings
from django.db import connection
from django.db.models import Q
from django.db.models.fields.json import KeyTextTransform
from django.db.models.lookups import Exact

from core.errors import InvalidInput
from core.validation import storable_text

FILTER_PREFIX = "metadata."
# Keys a filter may name: the characters of identifiers and slugs (a key
# with others can be stored, just not filtered on through a query string).
FILTER_KEY = re.compile(r"^[A-Za-z0-9_\-]{1,64}$")


def _invalid(detail: str, code: str = "invalid_metadata") -> InvalidInput:
    return InvalidInput(detail, code=code, field="metadata")


def _depth(value, limit: int, level: int = 1) -> None:
    """Raise past ``limit`` levels of objects and lists; check every text for what cannot be stored."""
    if isinstance(value, (dict, list)):
        if level > limit:
            raise _invalid(f"metadata may nest at most {limit} levels deep.")
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in items:
            if isinstance(key, str) and not storable_text(key):
                raise _invalid("metadata holds a NUL or an invalid character.")
            _depth(item, limit, level + 1)
    elif isinstance(value, str) and not storable_text(value):
        raise _invalid("metadata holds a NUL or an invalid character.")
    elif isinstance(value, float) and not math.isfinite(value):  # NaN and infinities are not JSON
        raise _invalid("metadata must be JSON.")


def validate_metadata(value) -> dict | None:
    """The metadata to store (None for none), or InvalidInput ``invalid_metadata`` / ``metadata_too_large``."""
    if value is None or value == {}:
        return None
    if not isinstance(value, dict):
        raise _invalid("metadata must be a JSON object.")
    limit = settings.CHAT_MESSAGE_METADATA_MAX_BYTES
    try:
        size = len(json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8"))
    except (TypeError, ValueError, RecursionError) as error:
        raise _invalid("metadata must be JSON.") from error
    if size > limit:
        raise _invalid(f"metadata is larger than {limit} bytes as JSON.", code="metadata_too_large")
    _depth(value, settings.CHAT_MESSAGE_METADATA_MAX_DEPTH)
    return value


def metadata_filters(query_params) -> dict[str, str]:
    """``{key: value}`` of the request's ``metadata.<key>=<value>`` parameters, checked and bounded."""
    wanted = {name[len(FILTER_PREFIX):]: query_params[name] for name in query_params if name.startswith(FILTER_PREFIX)}
    if len(wanted) > settings.CHAT_MESSAGE_METADATA_MAX_FILTERS:
        raise InvalidInput(
            f"At most {settings.CHAT_MESSAGE_METADATA_MAX_FILTERS} metadata filters a request.",
            code="too_many_filters", field="metadata",
        )
    for key, value in wanted.items():
        if not FILTER_KEY.match(key) or not storable_text(value):
            raise InvalidInput(
                "A metadata filter is metadata.<key>=<value>, the key of letters, digits, _ and - (at most 64).",
                code="invalid_filter", field="metadata",
            )
    return wanted


def metadata_filter(wanted: dict[str, str]) -> Q:
    """Messages whose metadata has each key equal to its value (as text)."""
    if not wanted:
        return Q()
    if connection.vendor == "postgresql":
        return Q(metadata__contains=wanted)
    condition = Q()
    for key, value in wanted.items():
        # As expressions, not ``metadata__<key>``: a key named like a lookup ("contains") stays a key.
        condition &= Q(Exact(KeyTextTransform(key, "metadata"), value))
    return condition
