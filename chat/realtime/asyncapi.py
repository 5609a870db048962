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

from functools import lru_cache

from django.conf import settings

from . import commands, profiles
from .asyncapi_client_frames import client_frames
from .asyncapi_frames import ref, server_frames

_NOTIFICATION_FRAMES = {"chat.message": "notification", "chat.mention": "notification"}

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
        "client": client_frames(),
        "server": server_frames(rest),
    }
    messages, frame_schemas = {}, {}
    for side in ("client", "server"):
        for name, (summary, payload, example) in frames[side].items():
            key = _channel_key(name)
            frame_schemas[_schema_name(key)] = payload
            messages[key] = {
                "name": name, "summary": summary, "payload": ref(_schema_name(key)),
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
