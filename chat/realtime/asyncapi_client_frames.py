"""
The socket protocol's client frames as JSON Schema, for the AsyncAPI
document (chat.realtime.asyncapi): what each client frame may hold, from the
parser's tables (chat.realtime.commands).
"""

from django.conf import settings

from ..models import CLIENT_ID_MAX_LENGTH, REACTION_MAX_LENGTH
from . import commands
from .asyncapi_frames import UUID_SCHEMA, SEQ_SCHEMA, frame


# --- Client -> server ---------------------------------------------------------------


def client_frames() -> dict[str, tuple[str, dict, dict]]:
    """Component name -> (summary, payload schema, example)."""
    metadata_schema = {
        "type": ["object", "null"],
        "description": (
            f"A JSON object for a custom message type: at most {settings.CHAT_MESSAGE_METADATA_MAX_BYTES} bytes as "
            f"compact JSON, nesting at most {settings.CHAT_MESSAGE_METADATA_MAX_DEPTH} deep (error frames "
            "`metadata_too_large`, `invalid_metadata`); null or {}: none."
        ),
    }
    body = {
        "type": "string", "minLength": 1, "maxLength": settings.CHAT_MESSAGE_MAX_LENGTH, "pattern": "\\S",
        "description": "Not blank.",
    }
    client_id = {
        "type": ["string", "null"], "maxLength": CLIENT_ID_MAX_LENGTH,
        "description": "Chosen by the client; a resend with the same one saves nothing new.",
    }
    send = frame("message.send", {
        "body": {**body, "minLength": 0, "pattern": None,
                 "description": "Not blank, unless the message carries attachments."},
        "client_id": client_id,
        "reply_to": {"type": ["string", "null"], "format": "uuid", "description": "A message of this conversation."},
        "thread_id": {
            "type": ["string", "null"], "format": "uuid",
            "description": "Reply in this message's thread (a reply's id: the same thread; threads are one level deep).",
        },
        "attachment_ids": {
            "type": "array", "items": UUID_SCHEMA, "uniqueItems": True, "maxItems": settings.CHAT_MESSAGE_MAX_ATTACHMENTS,
            "description": "Your uploads to this conversation (POST /api/chat/<id>/attachments/).",
        },
        "metadata": metadata_schema,
    })
    del send["properties"]["body"]["pattern"]
    send["anyOf"] = [
        {"required": ["body"], "properties": {"body": {"pattern": "\\S"}}},
        {"required": ["attachment_ids"], "properties": {"attachment_ids": {"minItems": 1}}},
    ]
    reaction = {"message_id": UUID_SCHEMA, "emoji": {
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
            frame("reaction.add", reaction, ("message_id", "emoji")),
            {"type": "reaction.add", "message_id": "9a3e5d52-8f0c-4a55-9d1e-3b6f3f0b2a11", "emoji": "\U0001f44d"},
        ),
        "reaction.remove": (
            "Take one's reaction back",
            frame("reaction.remove", reaction, ("message_id", "emoji")),
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
            "Edit one's own message: its body and/or metadata (a field left out stays; without either, an empty body)",
            frame("message.edit", {"message_id": UUID_SCHEMA, "body": body, "metadata": metadata_schema}, ("message_id",)),
            {"type": "message.edit", "message_id": "9a3e5d52-8f0c-4a55-9d1e-3b6f3f0b2a11", "body": "Hello, world!"},
        ),
        "message.delete": (
            "Delete one's own message (it stays a tombstone at its seq)",
            frame("message.delete", {"message_id": UUID_SCHEMA}, ("message_id",)),
            {"type": "message.delete", "message_id": "9a3e5d52-8f0c-4a55-9d1e-3b6f3f0b2a11"},
        ),
        "sync": (
            "Resend every message after a seq, then sync.done",
            frame("sync", {"after": SEQ_SCHEMA}, ("after",)),
            {"type": "sync", "after": 41},
        ),
        "sync.conversations": (
            "What changed since these per-conversation seqs (answered with sync.result)",
            frame("sync", {"conversations": {
                "type": "object", "propertyNames": {"format": "uuid"}, "additionalProperties": SEQ_SCHEMA,
                "description": "The client's last seq per conversation id.",
            }}),
            {"type": "sync", "conversations": {"5c1d2a7e-0b7f-4a1e-8d4c-7e2f9a1b3c5d": 41}},
        ),
        "read": (
            "Mark the conversation read up to a seq; with thread_id, that thread (its replies up to the seq)",
            frame("read", {
                "seq": SEQ_SCHEMA,
                "thread_id": {**UUID_SCHEMA, "description": "A thread's root: read the thread, not the conversation."},
            }, ("seq",)),
            {"type": "read", "seq": 44},
        ),
        "typing": ("The user is typing", frame("typing"), {"type": "typing"}),
        "ping": ("Keep-alive; answered with pong", frame("ping"), {"type": "ping"}),
        "auth": (
            "Renew the socket's access token",
            frame("auth", {"token": {"type": "string", "description": "A fresh access token of the same user."}},
                   ("token",)),
            {"type": "auth", "token": "<access token>"},
        ),
    }
