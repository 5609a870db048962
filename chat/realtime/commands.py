"""
Client frames become typed commands, validated once, here.

    parse_room_frame('{"type": "sync", "after": 4}')                 # -> Sync(after=4)
    parse_room_frame('{"event": "chat_message", "data": {"body": "hi"}}')  # -> SendMessage("hi", None)
    parse_notifications_frame('{"type": "sync", "conversations": {}}')     # -> SyncConversations({})

A frame that is not JSON, not an object, of an unknown type or with a bad
field raises InvalidInput with the code the client gets in its error frame
(docs/protocol.md). A command's ``rate_limit`` names the per-user limit it counts against
(settings.SOCKET_RATE_LIMITS) and its ``handler`` the consumer method that
carries it out. The shape is checked here; what a message may say (body
length, client_id) is checked by the service, the one place REST and the
socket share. The original tutorial client's ``{"event": "chat_message",
"data": {...}}`` is a SendMessage of its ``body`` (and ``client_id``): sender,
name and recipient come from the token and the room, never from the frame.
"""

import json
from dataclasses import dataclass
from typing import ClassVar

from core.errors import InvalidInput
from core.validation import whole_number

# A field a message.edit frame leaves out: the edit keeps it as it is.
UNCHANGED = object()

LEGACY_EVENT = "chat_message"


@dataclass(frozen=True, slots=True)
class SendMessage:
    handler: ClassVar[str] = "on_message_send"
    rate_limit: ClassVar[str] = "message"
    body: object
    client_id: object = None
    reply_to: object = None
    attachment_ids: object = None
    thread_id: object = None
    metadata: object = None


@dataclass(frozen=True, slots=True)
class React:
    """reaction.add (``added``) or reaction.remove."""

    handler: ClassVar[str] = "on_reaction"
    rate_limit: ClassVar[str] = "message"
    message_id: object
    emoji: object
    added: bool


@dataclass(frozen=True, slots=True)
class EditMessage:
    handler: ClassVar[str] = "on_message_edit"
    rate_limit: ClassVar[str] = "message"
    message_id: object
    body: object
    metadata: object = UNCHANGED  # the frame has none: the edit leaves it


@dataclass(frozen=True, slots=True)
class DeleteMessage:
    handler: ClassVar[str] = "on_message_delete"
    rate_limit: ClassVar[str] = "message"
    message_id: object


@dataclass(frozen=True, slots=True)
class Sync:
    """Room: resend every message after ``after``."""

    handler: ClassVar[str] = "on_sync"
    rate_limit: ClassVar[str] = "frame"
    after: int


@dataclass(frozen=True, slots=True)
class SyncConversations:
    """Notifications: what changed since these per-conversation seqs."""

    handler: ClassVar[str] = "on_sync"
    rate_limit: ClassVar[str] = "frame"
    known: dict[str, int]


@dataclass(frozen=True, slots=True)
class MarkRead:
    """The conversation read up to ``seq``; with ``thread_id``, that thread (its id checked by the service)."""

    handler: ClassVar[str] = "on_read"
    rate_limit: ClassVar[str] = "frame"
    seq: int
    thread_id: object = None


@dataclass(frozen=True, slots=True)
class Typing:
    handler: ClassVar[str] = "on_typing"
    rate_limit: ClassVar[str] = "typing"


@dataclass(frozen=True, slots=True)
class Ping:
    handler: ClassVar[str] = "on_ping"
    rate_limit: ClassVar[str] = "frame"


@dataclass(frozen=True, slots=True)
class Authenticate:
    handler: ClassVar[str] = "on_auth"
    rate_limit: ClassVar[str] = "frame"
    token: str


def _conversations(frame: dict) -> SyncConversations:
    known = frame.get("conversations", {})
    if not isinstance(known, dict):
        known = None
    else:
        try:
            known = {key: whole_number(seq, name="seq") for key, seq in known.items()}
        except InvalidInput:
            known = None
    if known is None:
        raise InvalidInput('"conversations" must map conversation ids to seqs.', code="invalid_conversations")
    return SyncConversations(known)


_COMMON = {
    "ping": lambda frame: Ping(),
    "auth": lambda frame: Authenticate(str(frame.get("token") or "")),
}
_ROOM = {
    **_COMMON,
    "message.send": lambda frame: SendMessage(
        frame.get("body"), frame.get("client_id"), frame.get("reply_to"), frame.get("attachment_ids"),
        frame.get("thread_id"), frame.get("metadata"),
    ),
    "message.edit": lambda frame: EditMessage(
        # Without metadata the body is the edit (none: empty_body, as ever); with it, a body left out stays.
        frame.get("message_id"), frame.get("body") if "body" in frame or "metadata" not in frame else UNCHANGED,
        frame.get("metadata", UNCHANGED),
    ),
    "message.delete": lambda frame: DeleteMessage(frame.get("message_id")),
    "sync": lambda frame: Sync(whole_number(frame.get("after"), name="after")),
    "read": lambda frame: MarkRead(whole_number(frame.get("seq"), name="seq"), frame.get("thread_id")),
    "typing": lambda frame: Typing(),
    "reaction.add": lambda frame: React(frame.get("message_id"), frame.get("emoji"), True),
    "reaction.remove": lambda frame: React(frame.get("message_id"), frame.get("emoji"), False),
}
_NOTIFICATIONS = {**_COMMON, "sync": _conversations}
# What each socket accepts, by ``type`` (chat.realtime.asyncapi documents them).
ROOM_FRAME_TYPES = tuple(_ROOM)
NOTIFICATIONS_FRAME_TYPES = tuple(_NOTIFICATIONS)


def decode(text_data: str | None) -> dict:
    """The frame's JSON object, or InvalidInput."""
    if text_data is None:
        raise InvalidInput("Frames must be JSON text, not binary.", code="invalid_json")
    try:
        frame = json.loads(text_data)
    except (ValueError, RecursionError):  # RecursionError: absurdly deep nesting
        raise InvalidInput("The frame is not valid JSON.", code="invalid_json")
    if not isinstance(frame, dict):
        raise InvalidInput("The frame must be a JSON object.", code="invalid_frame")
    return frame


def _parse(frame: dict, parsers: dict):
    if "type" not in frame and frame.get("event") == LEGACY_EVENT and parsers is _ROOM:
        data = frame.get("data")
        if not isinstance(data, dict):
            raise InvalidInput('"data" must be an object.', code="invalid_frame")
        return SendMessage(data.get("body"), data.get("client_id"))
    kind = frame.get("type")
    if not isinstance(kind, str):
        raise InvalidInput('The frame needs a "type".', code="unknown_type")
    parser = parsers.get(kind)
    if parser is None:
        raise InvalidInput(f"Unknown frame type {kind!r}.", code="unknown_type")
    return parser(frame)


def client_id_of(frame: dict) -> str | None:
    """The frame's ``client_id`` when it has a usable one, echoed in error frames."""
    client_id = frame.get("client_id")
    if client_id is None and frame.get("event") == LEGACY_EVENT and isinstance(frame.get("data"), dict):
        client_id = frame["data"].get("client_id")
    return client_id if isinstance(client_id, str) and client_id else None


def parse_room_frame(frame: dict):
    """A decoded room-socket frame as its command."""
    return _parse(frame, _ROOM)


def parse_notifications_frame(frame: dict):
    """A decoded notifications-socket frame as its command."""
    return _parse(frame, _NOTIFICATIONS)
