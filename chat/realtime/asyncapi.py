"""
The socket protocol as data: an AsyncAPI 3.0 document, served at
``/api/asyncapi/`` beside the OpenAPI schema.

    document(server_url="https://chat.example.com")   # a dict, JSON-ready

It is built from the code, not written by hand:

- each channel's client frames are the types its parser table accepts
  (chat.realtime.commands), so a new command without a schema here fails to
  build;
- each channel's server frames are the event types its client profile is
  sent (chat.realtime.profiles) plus the answers to its commands;
- the shapes of users, messages and conversations are the OpenAPI
  components of the REST output serializers (drf-spectacular), so REST and
  socket frames cannot drift apart;
- limits (body length, ``client_id`` length) come from settings.

The tests validate every frame the consumers send against this document
(tests/conftest.py), and CI validates the document with the AsyncAPI
project's own parser (scripts/asyncapi). docs/protocol.md is the prose.
"""

import copy
from functools import lru_cache

from django.conf import settings

from ..models import CLIENT_ID_MAX_LENGTH, REACTION_MAX_LENGTH
from . import commands, profiles

_UUID = {"type": "string", "format": "uuid"}
_SEQ = {"type": "integer", "minimum": 0}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _frame(kind: str, properties: dict | None = None, required: tuple = (), *, description: str = "") -> dict:
    """A frame's JSON Schema: an object with ``type`` fixed to ``kind``."""
    schema = {
        "type": "object",
        "properties": {"type": {"const": kind}, **(properties or {})},
        "required": ["type", *required],
    }
    if description:
        schema["description"] = description
    return schema


# --- Client -> server ---------------------------------------------------------------


def _client_frames() -> dict[str, tuple[str, dict, dict]]:
    """Component name -> (summary, payload schema, example)."""
    body = {
        "type": "string", "minLength": 1, "maxLength": settings.CHAT_MESSAGE_MAX_LENGTH, "pattern": "\\S",
        "description": "Not blank.",
    }
    client_id = {
        "type": ["string", "null"], "maxLength": CLIENT_ID_MAX_LENGTH,
        "description": "Chosen by the client; a resend with the same one saves nothing new.",
    }
    send = _frame("message.send", {
        "body": {**body, "minLength": 0, "pattern": None,
                 "description": "Not blank, unless the message carries attachments."},
        "client_id": client_id,
        "reply_to": {"type": ["string", "null"], "format": "uuid", "description": "A message of this conversation."},
        "attachment_ids": {
            "type": "array", "items": _UUID, "uniqueItems": True, "maxItems": settings.CHAT_MESSAGE_MAX_ATTACHMENTS,
            "description": "Your uploads to this conversation (POST /api/chat/<id>/attachments/).",
        },
    })
    del send["properties"]["body"]["pattern"]
    send["anyOf"] = [
        {"required": ["body"], "properties": {"body": {"pattern": "\\S"}}},
        {"required": ["attachment_ids"], "properties": {"attachment_ids": {"minItems": 1}}},
    ]
    reaction = {"message_id": _UUID, "emoji": {
        "type": "string", "minLength": 1, "maxLength": REACTION_MAX_LENGTH, "description": "One emoji.",
    }}
    return {
        "message.send": (
            "Send a message (text, a reply, attachments)",
            send,
            {"type": "message.send", "body": "Hello!", "client_id": "3f1c0a7e-local-1"},
        ),
        "reaction.add": (
            "React to a message with an emoji (once per user and emoji)",
            _frame("reaction.add", reaction, ("message_id", "emoji")),
            {"type": "reaction.add", "message_id": "9a3e5d52-8f0c-4a55-9d1e-3b6f3f0b2a11", "emoji": "\U0001f44d"},
        ),
        "reaction.remove": (
            "Take one's reaction back",
            _frame("reaction.remove", reaction, ("message_id", "emoji")),
            {"type": "reaction.remove", "message_id": "9a3e5d52-8f0c-4a55-9d1e-3b6f3f0b2a11", "emoji": "\U0001f44d"},
        ),
        commands.LEGACY_EVENT: (
            "Send a message (the original tutorial client's frame)",
            {
                "type": "object",
                "properties": {
                    "event": {"const": commands.LEGACY_EVENT},
                    "data": {
                        "title": "OriginalChatMessageData",
                        "type": "object",
                        "properties": {"body": body, "client_id": client_id},
                        "required": ["body"],
                        "additionalProperties": True,
                        "description": "Other keys (name, sent_to_id, conversation_id) are ignored.",
                    },
                },
                "required": ["event", "data"],
                "not": {"required": ["type"]},
                "description": "A frame with a `type` is read by its type instead.",
            },
            {"event": "chat_message", "data": {"body": "Hello!", "name": "Alice"}},
        ),
        "message.edit": (
            "Edit one's own message",
            _frame("message.edit", {"message_id": _UUID, "body": body}, ("message_id", "body")),
            {"type": "message.edit", "message_id": "9a3e5d52-8f0c-4a55-9d1e-3b6f3f0b2a11", "body": "Hello, world!"},
        ),
        "message.delete": (
            "Delete one's own message (it stays a tombstone at its seq)",
            _frame("message.delete", {"message_id": _UUID}, ("message_id",)),
            {"type": "message.delete", "message_id": "9a3e5d52-8f0c-4a55-9d1e-3b6f3f0b2a11"},
        ),
        "sync": (
            "Resend every message after a seq, then sync.done",
            _frame("sync", {"after": _SEQ}, ("after",)),
            {"type": "sync", "after": 41},
        ),
        "sync.conversations": (
            "What changed since these per-conversation seqs (answered with sync.result)",
            _frame("sync", {"conversations": {
                "type": "object", "propertyNames": {"format": "uuid"}, "additionalProperties": _SEQ,
                "description": "The client's last seq per conversation id.",
            }}),
            {"type": "sync", "conversations": {"5c1d2a7e-0b7f-4a1e-8d4c-7e2f9a1b3c5d": 41}},
        ),
        "read": (
            "Mark the conversation read up to a seq",
            _frame("read", {"seq": _SEQ}, ("seq",)),
            {"type": "read", "seq": 44},
        ),
        "typing": ("The user is typing", _frame("typing"), {"type": "typing"}),
        "ping": ("Keep-alive; answered with pong", _frame("ping"), {"type": "ping"}),
        "auth": (
            "Renew the socket's access token",
            _frame("auth", {"token": {"type": "string", "description": "A fresh access token of the same user."}},
                   ("token",)),
            {"type": "auth", "token": "<access token>"},
        ),
    }


# --- Server -> client ---------------------------------------------------------------


def _message_frame(kind: str, message: dict, **overrides) -> dict:
    """A message frame: the message JSON, flat, plus ``type`` and ``name`` (what the original client reads)."""
    properties = {
        **copy.deepcopy(message["properties"]),
        **overrides,
        "name": {"type": "string", "description": "The sender's name (same as created_by.name)."},
    }
    return _frame(kind, properties, (*message["required"], "name"))


def _server_frames(components: dict) -> dict[str, tuple[str, dict, dict]]:
    message = components["MessageOut"]
    error_properties = {
        "code": {"type": "string", "description": "docs/errors.md lists every code."},
        "detail": {"type": "string"},
        "client_id": {"type": "string", "description": "The failed frame's client_id, when it had one."},
        "retry_after": {"type": "integer", "description": "With `throttled` only: seconds to wait."},
    }
    example_message = {
        "id": "9a3e5d52-8f0c-4a55-9d1e-3b6f3f0b2a11", "seq": 42, "conversation_id": "5c1d2a7e-0b7f-4a1e-8d4c-7e2f9a1b3c5d",
        "body": "Hello!",
        "created_by": {"id": "1b2c3d4e-5f60-4718-8293-a4b5c6d7e8f9", "name": "Alice", "avatar_url": ""},
        "sent_to_id": "7d8e9f00-1a2b-4c3d-9e4f-5a6b7c8d9e0f", "created_at": "2026-11-21T09:30:00.123456Z",
        "client_id": "3f1c0a7e-local-1", "edited_at": None, "deleted": False, "moderated": False, "kind": "text",
        "system": None,
        "reply_to": None, "reactions": [], "attachments": [],
    }
    user_id = "7d8e9f00-1a2b-4c3d-9e4f-5a6b7c8d9e0f"
    example_conversation = {
        "id": example_message["conversation_id"], "title": "", "is_direct": True,
        "users": [example_message["created_by"]], "modified_at": "2026-11-21T09:30:00Z", "last_seq": 0,
        "owner_id": None,
    }
    return {
        "chat.message": (
            "A saved message, to every socket in the room (the sender's is its acknowledgement)",
            _message_frame("chat.message", message),
            {"type": "chat.message", **example_message, "name": "Alice"},
        ),
        "chat.message.updated": (
            "A message was edited, or hidden by a moderator (`moderated`: the body removed)",
            _message_frame("chat.message.updated", message, deleted={"const": False}),
            {"type": "chat.message.updated", **example_message, "body": "Hello, world!",
             "edited_at": "2026-11-21T09:31:02Z", "name": "Alice"},
        ),
        "chat.message.deleted": (
            "A message was deleted: a tombstone with an empty body",
            _message_frame("chat.message.deleted", message, deleted={"const": True}),
            {"type": "chat.message.deleted", **example_message, "body": "", "deleted": True,
             "edited_at": "2026-11-21T09:31:02Z", "name": "Alice"},
        ),
        "chat.read": (
            "A member read up to a seq",
            _frame("chat.read", {"user_id": _UUID, "seq": _SEQ}, ("user_id", "seq")),
            {"type": "chat.read", "user_id": user_id, "seq": 44},
        ),
        "chat.typing": (
            "A member is typing (never the other member of a direct conversation a block closes)",
            _frame("chat.typing", {"user_id": _UUID, "name": {"type": "string"}}, ("user_id", "name")),
            {"type": "chat.typing", "user_id": user_id, "name": "Bob"},
        ),
        "presence.state": (
            "The members online now, right after a room socket connects (in a direct conversation a block "
            "closes, the other member is left out)",
            _frame("presence.state", {"online": {"type": "array", "items": _UUID}}, ("online",)),
            {"type": "presence.state", "online": [user_id]},
        ),
        "presence": (
            "A member (or, on the notifications socket, a contact) came online or went offline; in a direct "
            "conversation a block closes, nothing of the other member, who is shown offline once when the block "
            "is made",
            _frame("presence", {"user_id": _UUID, "online": {"type": "boolean"}}, ("user_id", "online")),
            {"type": "presence", "user_id": user_id, "online": False},
        ),
        "unread": (
            "The user's unread counts after they read on any device",
            _frame("unread", {"conversation_id": _UUID, "unread_count": _SEQ, "total": _SEQ},
                   ("conversation_id", "unread_count", "total")),
            {"type": "unread", "conversation_id": example_message["conversation_id"], "unread_count": 0, "total": 3},
        ),
        "notification": (
            "Someone else sent a message in one of the user's conversations",
            _frame("notification", {"conversation_id": _UUID, "message": _ref("MessageOut")},
                   ("conversation_id", "message")),
            {"type": "notification", "conversation_id": example_message["conversation_id"], "message": example_message},
        ),
        "conversation.created": (
            "The user was added to a new conversation",
            _frame("conversation.created", {"conversation": _ref("ConversationOut")}, ("conversation",)),
            {"type": "conversation.created", "conversation": example_conversation},
        ),
        "conversation.updated": (
            "A group the user is (or was) in was renamed, or members were added or removed, or left",
            _frame("conversation.updated", {
                "conversation": _ref("ConversationOut"),
                "change": {
                    "title": "ConversationChange",
                    "type": "object",
                    "properties": {**copy.deepcopy(components["SystemOut"]["properties"]), "by": _UUID},
                    "required": [*components["SystemOut"]["required"], "by"],
                    "description": "What changed (as the system message's `system`) and who changed it.",
                },
            }, ("conversation", "change")),
            {"type": "conversation.updated", "conversation": {**example_conversation, "is_direct": False,
                                                              "title": "Trip", "owner_id": user_id},
             "change": {"action": "renamed", "user_ids": [], "title": "Trip", "by": user_id}},
        ),
        "chat.reaction": (
            "A member added or removed a reaction; the message's reactions as they are now",
            _frame("chat.reaction", {
                "message_id": _UUID, "seq": _SEQ, "user_id": _UUID, "emoji": {"type": "string"},
                "added": {"type": "boolean", "description": "false: the reaction was taken back."},
                "reactions": {"type": "array", "items": _ref("ReactionOut")},
            }, ("message_id", "seq", "user_id", "emoji", "added", "reactions")),
            {"type": "chat.reaction", "message_id": example_message["id"], "seq": 42, "user_id": user_id,
             "emoji": "\U0001f44d", "added": True,
             "reactions": [{"emoji": "\U0001f44d", "count": 1, "user_ids": [user_id]}]},
        ),
        "block.updated": (
            "The user blocked or unblocked someone (on any device): hide or show their messages",
            _frame("block.updated", {
                "user_id": _UUID,
                "blocked": {"type": "boolean", "description": "false: unblocked."},
            }, ("user_id", "blocked")),
            {"type": "block.updated", "user_id": user_id, "blocked": True},
        ),
        "conversation.muted": (
            "The user muted or unmuted a conversation (on any device)",
            _frame("conversation.muted", {
                "conversation_id": _UUID,
                "muted": {"type": "boolean", "description": "false: unmuted."},
                "muted_until": {"type": ["string", "null"], "format": "date-time",
                                "description": "When the mute ends; null: until unmuted (or unmuted)."},
            }, ("conversation_id", "muted", "muted_until")),
            {"type": "conversation.muted", "conversation_id": example_message["conversation_id"], "muted": True,
             "muted_until": "2026-11-22T08:00:00Z"},
        ),
        "sync.done": (
            "Every message after the asked seq was sent",
            _frame("sync.done", {"last_seq": _SEQ}, ("last_seq",)),
            {"type": "sync.done", "last_seq": 57},
        ),
        "sync.result": (
            "What changed since the seqs the client sent, a page of conversations",
            _frame("sync.result", {
                "unread_total": _SEQ,
                "more": {"type": "boolean", "description": "More conversations have news: sync again."},
                "conversations": {"type": "array", "items": {
                    "title": "SyncResultConversation",
                    "type": "object",
                    "properties": {
                        "conversation": _ref("ConversationOut"),
                        "unread_count": _SEQ,
                        "muted": {"type": "boolean", "description": "The user muted it (no notification frames)."},
                        "muted_until": {"type": ["string", "null"], "format": "date-time",
                                        "description": "When the mute ends; null: until unmuted, or not muted."},
                        "messages": {"type": "array", "items": _ref("MessageOut")},
                        "has_more": {"type": "boolean", "description": "More messages at GET /api/chat/<id>/messages/?after=."},
                    },
                    "required": ["conversation", "unread_count", "muted", "muted_until", "messages", "has_more"],
                }},
            }, ("unread_total", "more", "conversations")),
            {"type": "sync.result", "unread_total": 0, "more": False, "conversations": []},
        ),
        "auth.ok": (
            "The renewed token was taken",
            _frame("auth.ok", {"expires_at": {"type": "string", "format": "date-time"}}, ("expires_at",)),
            {"type": "auth.ok", "expires_at": "2026-11-21T10:30:00Z"},
        ),
        "pong": ("The answer to ping", _frame("pong"), {"type": "pong"}),
        "error": (
            "A frame failed: nothing was saved, the socket stays open",
            _frame("error", error_properties, ("code", "detail")),
            {"type": "error", "code": "body_too_long", "detail": "The message body is longer than 4000 characters.",
             "client_id": "3f1c0a7e-local-1"},
        ),
        "error.original": (
            "A frame failed, in a form the original client shows as a message",
            _frame("error", {**error_properties, "name": {"type": "string"}, "body": {"type": "string"}},
                   ("code", "detail", "name", "body")),
            {"type": "error", "code": "throttled", "detail": "Too many frames; try again in 3 s.", "retry_after": 3,
             "name": "Not sent", "body": "\u201cHello!\u201d was not sent: Too many frames; try again in 3 s."},
        ),
    }


# --- Channels -----------------------------------------------------------------------

# The frame a profile's event becomes, where the names differ: a notifications
# socket is sent a message as a ``notification`` (chat.realtime.session).
_NOTIFICATION_FRAMES = {"chat.message": "notification"}

# Both room paths parse with the room parser, which also reads the original client's frame.
_ROOM_CLIENT_FRAMES = {kind: kind for kind in (*commands.ROOM_FRAME_TYPES, commands.LEGACY_EVENT)}

CHANNELS = {
    "room": {
        "address": "/ws/chat/{conversation_id}/",
        "description": "A conversation's room: messages in seq order, none missing, none twice; typing, "
                       "read positions and presence of its members.",
        "client": _ROOM_CLIENT_FRAMES,
        "server": sorted(profiles.RICH.event_types | {"sync.done", "auth.ok", "pong", "error"}),
    },
    "originalRoom": {
        "address": "/ws/{conversation_id}/",
        "description": "The same room for the original tutorial client: it is sent only messages and answers, "
                       "is authorised by its login session, and errors carry a name and body it shows "
                       "(docs/protocol.md, *The original client's path*). `auth` is answered with the error "
                       "`unsupported`.",
        "client": _ROOM_CLIENT_FRAMES,
        "server": sorted(profiles.ORIGINAL.event_types | {"sync.done", "pong", "error.original"}),
    },
    "notifications": {
        "address": "/ws/notifications/",
        "description": "One user's feed across all their conversations.",
        "client": {kind: "sync.conversations" if kind == "sync" else kind
                   for kind in commands.NOTIFICATIONS_FRAME_TYPES},
        "server": sorted({_NOTIFICATION_FRAMES.get(kind, kind) for kind in profiles.NOTIFICATIONS.event_types}
                         | {"sync.result", "auth.ok", "pong", "error"}),
    },
}

_TOKEN = {"type": "string", "description": "The access token (or send `Authorization: Bearer` instead)."}
_AFTER = {"type": "string", "pattern": "^[0-9]+$", "description": "First send every message with a greater seq."}
_SECURITY = {
    "accessToken": {"type": "httpApiKey", "name": "token", "in": "query",
                    "description": "An access token from /api/auth/login/ (browsers cannot set headers)."},
    "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
               "description": "`Authorization: Bearer <access token>` (apps and servers)."},
}


def _query(channel_name: str) -> dict:
    properties = {"token": _TOKEN}
    if channel_name != "notifications":
        properties["after"] = _AFTER
    return {"type": "object", "properties": properties}


def _channel_key(name: str) -> str:
    """Message names as AsyncAPI keys: ``chat.message`` -> ``chatMessage``, the original client's ``chat_message`` -> ``originalChatMessage``."""
    if name == commands.LEGACY_EVENT:
        return "originalChatMessage"
    head, *rest = name.split(".")
    return head + "".join(part.title() for part in rest)


def _schema_name(key: str) -> str:
    """A frame's schema name in components (``chatMessage`` -> ``ChatMessageFrame``), for code generators."""
    return f"{key[0].upper()}{key[1:]}Frame"


def rest_components() -> dict:
    """The OpenAPI components of the REST API (drf-spectacular), whose shapes frames share."""
    from drf_spectacular.generators import SchemaGenerator

    return SchemaGenerator().get_schema(request=None, public=True)["components"]["schemas"]


def _referenced(schemas: dict, roots: list[dict]) -> dict:
    """The components ``roots`` reference, directly or through each other."""
    wanted, found = list(roots), {}
    while wanted:
        node = wanted.pop()
        if isinstance(node, dict):
            ref = node.get("$ref", "")
            if ref.startswith("#/components/schemas/") and ref.rsplit("/", 1)[1] not in found:
                name = ref.rsplit("/", 1)[1]
                found[name] = schemas[name]
                wanted.append(schemas[name])
            wanted.extend(node.values())
        elif isinstance(node, list):
            wanted.extend(node)
    return dict(sorted(found.items()))


def document(*, server_url: str = "ws://localhost:8000") -> dict:
    """The AsyncAPI 3.0 document of the socket protocol, for clients reaching the server at ``server_url``."""
    rest = rest_components()
    frames = {
        "client": _client_frames(),
        "server": _server_frames(rest),
    }
    messages, frame_schemas = {}, {}
    for side in ("client", "server"):
        for name, (summary, payload, example) in frames[side].items():
            key = _channel_key(name)
            frame_schemas[_schema_name(key)] = payload
            messages[key] = {
                "name": name, "summary": summary, "payload": _ref(_schema_name(key)),
                "examples": [{"payload": example}],
            }
    channels, operations = {}, {}
    for channel_name, channel in CHANNELS.items():
        used = {"client": sorted(set(channel["client"].values())), "server": channel["server"]}
        for side in ("client", "server"):
            missing = set(used[side]) - set(frames[side])
            if missing:
                raise LookupError(f"No schema for {side} frames {sorted(missing)} of channel {channel_name}.")
        keys = {side: [_channel_key(name) for name in used[side]] for side in used}
        channel_doc = {
            "address": channel["address"],
            "description": channel["description"],
            "messages": {key: {"$ref": f"#/components/messages/{key}"} for key in keys["client"] + keys["server"]},
            "bindings": {"ws": {"query": _query(channel_name)}},
        }
        if "{conversation_id}" in channel["address"]:
            channel_doc["parameters"] = {"conversation_id": {"description": "The conversation's id (a UUID)."}}
        channels[channel_name] = channel_doc
        for side, action, verb in (("client", "receive", "sends"), ("server", "send", "is sent")):
            operations[f"{channel_name}{side.title()}Frames"] = {
                "action": action,
                "channel": {"$ref": f"#/channels/{channel_name}"},
                "summary": f"What a client {verb} on {channel['address']}",
                "messages": [{"$ref": f"#/channels/{channel_name}/messages/{key}"} for key in keys[side]],
            }
    scheme, _, host = server_url.partition("://")
    return {
        # 3.0 rather than 3.1: the AsyncAPI code generators (Modelina) read 3.0
        # documents and this one uses nothing 3.1 added.
        "asyncapi": "3.0.0",
        "info": {
            "title": f"{settings.SPECTACULAR_SETTINGS['TITLE']}: WebSocket protocol",
            "version": settings.SPECTACULAR_SETTINGS["VERSION"],
            "description": "Every frame is one JSON object in a text frame. Authenticate with an access token "
                           "from the REST API (`?token=` or `Authorization: Bearer`). Close codes, delivery "
                           "guarantees and limits: docs/protocol.md. The REST API: /api/schema/.",
        },
        "defaultContentType": "application/json",
        "servers": {"chat": {
            "host": host.rstrip("/"), "protocol": scheme, "description": "This server.",
            "security": [{"$ref": f"#/components/securitySchemes/{name}"} for name in _SECURITY],
        }},
        "channels": channels,
        "operations": operations,
        "components": {
            "messages": messages,
            "schemas": {**_referenced(rest, list(frame_schemas.values())), **frame_schemas},
            "securitySchemes": _SECURITY,
        },
    }


@lru_cache(maxsize=8)
def cached_document(server_url: str) -> dict:
    """``document`` once per server URL and process: it depends on settings and code only."""
    return document(server_url=server_url)


def frame_types(channel: str, side: str) -> dict[str, str]:
    """Frame ``type`` -> component message name, for one side of a channel (tests use it)."""
    if side == "client":
        return dict(CHANNELS[channel]["client"])
    return {name.removesuffix(".original"): name for name in CHANNELS[channel]["server"]}
