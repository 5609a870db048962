"""
The socket protocol's frames as JSON Schema, for the AsyncAPI document
(chat.realtime.asyncapi): what each client frame may hold, from the parser's
tables (chat.realtime.commands), and what each server frame holds.
"""

import copy

from django.conf import settings

from ..models import CLIENT_ID_MAX_LENGTH, REACTION_MAX_LENGTH
from . import commands


UUID_SCHEMA = {"type": "string", "format": "uuid"}
SEQ_SCHEMA = {"type": "integer", "minimum": 0}


def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def frame(kind: str, properties: dict | None = None, required: tuple = (), *, description: str = "") -> dict:
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


def client_frames() -> dict[str, tuple[str, dict, dict]]:
    """Component name -> (summary, payload schema, example)."""
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
        "attachment_ids": {
            "type": "array", "items": UUID_SCHEMA, "uniqueItems": True, "maxItems": settings.CHAT_MESSAGE_MAX_ATTACHMENTS,
            "description": "Your uploads to this conversation (POST /api/chat/<id>/attachments/).",
        },
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
            "Edit one's own message",
            frame("message.edit", {"message_id": UUID_SCHEMA, "body": body}, ("message_id", "body")),
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
            "Mark the conversation read up to a seq",
            frame("read", {"seq": SEQ_SCHEMA}, ("seq",)),
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


# --- Server -> client ---------------------------------------------------------------


def message_frame(kind: str, message: dict, **overrides) -> dict:
    """A message frame: the message JSON, flat, plus ``type`` and ``name`` (what the original client reads)."""
    properties = {
        **copy.deepcopy(message["properties"]),
        **overrides,
        "name": {"type": "string", "description": "The sender's name (same as created_by.name)."},
    }
    return frame(kind, properties, (*message["required"], "name"))


def server_frames(components: dict) -> dict[str, tuple[str, dict, dict]]:
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
            message_frame("chat.message", message),
            {"type": "chat.message", **example_message, "name": "Alice"},
        ),
        "chat.message.updated": (
            "A message was edited, or hidden by a moderator (`moderated`: the body removed)",
            message_frame("chat.message.updated", message, deleted={"const": False}),
            {"type": "chat.message.updated", **example_message, "body": "Hello, world!",
             "edited_at": "2026-11-21T09:31:02Z", "name": "Alice"},
        ),
        "chat.message.deleted": (
            "A message was deleted: a tombstone with an empty body",
            message_frame("chat.message.deleted", message, deleted={"const": True}),
            {"type": "chat.message.deleted", **example_message, "body": "", "deleted": True,
             "edited_at": "2026-11-21T09:31:02Z", "name": "Alice"},
        ),
        "chat.read": (
            "A member read up to a seq (never of a member whose read receipts are off, nor to a user whose are: "
            "their own sockets still get their own)",
            frame("chat.read", {"user_id": UUID_SCHEMA, "seq": SEQ_SCHEMA}, ("user_id", "seq")),
            {"type": "chat.read", "user_id": user_id, "seq": 44},
        ),
        "chat.delivered": (
            "Members' delivered positions moved: the highest seq the server sent to one of their sockets or a push "
            "service accepted for them. One frame per conversation per CHAT_DELIVERY_FLUSH_SECONDS at most, only "
            "the members whose position moved; a position never moves backwards",
            frame("chat.delivered", {
                "positions": {
                    "type": "object", "additionalProperties": SEQ_SCHEMA,
                    "description": "User id -> their delivered seq.",
                },
            }, ("positions",)),
            {"type": "chat.delivered", "positions": {user_id: 44}},
        ),
        "chat.typing": (
            "A member is typing (never the other member of a direct conversation a block closes)",
            frame("chat.typing", {"user_id": UUID_SCHEMA, "name": {"type": "string"}}, ("user_id", "name")),
            {"type": "chat.typing", "user_id": user_id, "name": "Bob"},
        ),
        "presence.state": (
            "The members online now, right after a room socket connects (in a direct conversation a block "
            "closes, the other member is left out)",
            frame("presence.state", {"online": {"type": "array", "items": UUID_SCHEMA}}, ("online",)),
            {"type": "presence.state", "online": [user_id]},
        ),
        "presence": (
            "A member (or, on the notifications socket, a contact) came online or went offline; in a direct "
            "conversation a block closes, nothing of the other member, who is shown offline once when the block "
            "is made",
            frame("presence", {"user_id": UUID_SCHEMA, "online": {"type": "boolean"}}, ("user_id", "online")),
            {"type": "presence", "user_id": user_id, "online": False},
        ),
        "presence.changes": (
            "Several members (or contacts) came online or went offline at about the same time: a server process "
            "gathers the changes of a burst (a deploy's reconnects) for up to PRESENCE_COALESCE_SECONDS and sends "
            "them as one frame; the same rules as presence, each user in one list at most",
            frame("presence.changes", {
                "online": {"type": "array", "items": UUID_SCHEMA},
                "offline": {"type": "array", "items": UUID_SCHEMA},
            }, ("online", "offline")),
            {"type": "presence.changes", "online": [user_id], "offline": [example_message["created_by"]["id"]]},
        ),
        "unread": (
            "The user's unread counts after they read on any device",
            frame("unread", {"conversation_id": UUID_SCHEMA, "unread_count": SEQ_SCHEMA, "total": SEQ_SCHEMA},
                   ("conversation_id", "unread_count", "total")),
            {"type": "unread", "conversation_id": example_message["conversation_id"], "unread_count": 0, "total": 3},
        ),
        "notification": (
            "Someone else sent a message in one of the user's conversations",
            frame("notification", {"conversation_id": UUID_SCHEMA, "message": ref("MessageOut")},
                   ("conversation_id", "message")),
            {"type": "notification", "conversation_id": example_message["conversation_id"], "message": example_message},
        ),
        "conversation.created": (
            "The user was added to a new conversation",
            frame("conversation.created", {"conversation": ref("ConversationOut")}, ("conversation",)),
            {"type": "conversation.created", "conversation": example_conversation},
        ),
        "conversation.updated": (
            "A group the user is (or was) in was renamed, or members were added or removed, or left",
            frame("conversation.updated", {
                "conversation": ref("ConversationOut"),
                "change": {
                    "title": "ConversationChange",
                    "type": "object",
                    "properties": {**copy.deepcopy(components["SystemOut"]["properties"]), "by": UUID_SCHEMA},
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
            frame("chat.reaction", {
                "message_id": UUID_SCHEMA, "seq": SEQ_SCHEMA, "user_id": UUID_SCHEMA, "emoji": {"type": "string"},
                "added": {"type": "boolean", "description": "false: the reaction was taken back."},
                "reactions": {"type": "array", "items": ref("ReactionOut")},
            }, ("message_id", "seq", "user_id", "emoji", "added", "reactions")),
            {"type": "chat.reaction", "message_id": example_message["id"], "seq": 42, "user_id": user_id,
             "emoji": "\U0001f44d", "added": True,
             "reactions": [{"emoji": "\U0001f44d", "count": 1, "user_ids": [user_id]}]},
        ),
        "block.updated": (
            "The user blocked or unblocked someone (on any device): hide or show their messages",
            frame("block.updated", {
                "user_id": UUID_SCHEMA,
                "blocked": {"type": "boolean", "description": "false: unblocked."},
            }, ("user_id", "blocked")),
            {"type": "block.updated", "user_id": user_id, "blocked": True},
        ),
        "conversation.muted": (
            "The user muted or unmuted a conversation (on any device)",
            frame("conversation.muted", {
                "conversation_id": UUID_SCHEMA,
                "muted": {"type": "boolean", "description": "false: unmuted."},
                "muted_until": {"type": ["string", "null"], "format": "date-time",
                                "description": "When the mute ends; null: until unmuted (or unmuted)."},
            }, ("conversation_id", "muted", "muted_until")),
            {"type": "conversation.muted", "conversation_id": example_message["conversation_id"], "muted": True,
             "muted_until": "2026-11-22T08:00:00Z"},
        ),
        "sync.done": (
            "Every message after the asked seq was sent",
            frame("sync.done", {"last_seq": SEQ_SCHEMA}, ("last_seq",)),
            {"type": "sync.done", "last_seq": 57},
        ),
        "sync.result": (
            "What changed since the seqs the client sent, a page of conversations",
            frame("sync.result", {
                "unread_total": SEQ_SCHEMA,
                "more": {"type": "boolean", "description": "More conversations have news: sync again."},
                "conversations": {"type": "array", "items": {
                    "title": "SyncResultConversation",
                    "type": "object",
                    "properties": {
                        "conversation": ref("ConversationOut"),
                        "unread_count": SEQ_SCHEMA,
                        "muted": {"type": "boolean", "description": "The user muted it (no notification frames)."},
                        "muted_until": {"type": ["string", "null"], "format": "date-time",
                                        "description": "When the mute ends; null: until unmuted, or not muted."},
                        "messages": {"type": "array", "items": ref("MessageOut")},
                        "has_more": {"type": "boolean", "description": "More messages at GET /api/chat/<id>/messages/?after=."},
                    },
                    "required": ["conversation", "unread_count", "muted", "muted_until", "messages", "has_more"],
                }},
            }, ("unread_total", "more", "conversations")),
            {"type": "sync.result", "unread_total": 0, "more": False, "conversations": []},
        ),
        "auth.ok": (
            "The renewed token was taken",
            frame("auth.ok", {"expires_at": {"type": "string", "format": "date-time"}}, ("expires_at",)),
            {"type": "auth.ok", "expires_at": "2026-11-21T10:30:00Z"},
        ),
        "pong": ("The answer to ping", frame("pong"), {"type": "pong"}),
        "error": (
            "A frame failed: nothing was saved, the socket stays open",
            frame("error", error_properties, ("code", "detail")),
            {"type": "error", "code": "body_too_long", "detail": "The message body is longer than 4000 characters.",
             "client_id": "3f1c0a7e-local-1"},
        ),
        "error.original": (
            "A frame failed, in a form the original client shows as a message",
            frame("error", {**error_properties, "name": {"type": "string"}, "body": {"type": "string"}},
                   ("code", "detail", "name", "body")),
            {"type": "error", "code": "throttled", "detail": "Too many frames; try again in 3 s.", "retry_after": 3,
             "name": "Not sent", "body": "\u201cHello!\u201d was not sent: Too many frames; try again in 3 s."},
        ),
    }


# --- Channels -----------------------------------------------------------------------

# The frame a profile's event becomes, where the names differ: a notifications
# socket is sent a message as a ``notification`` (chat.realtime.session).
