"""
The socket protocol's server frames as JSON Schema, for the AsyncAPI
document (chat.realtime.asyncapi): what each server frame holds, and the
helpers both directions use (the client's frames: asyncapi_client_frames).
"""

import copy

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
        "client_id": "3f1c0a7e-local-1", "edited_at": None, "deleted": False, "expired": False,
        "expires_at": None, "moderated": False,
        "kind": "text",
        "system": None,
        "reply_to": None, "reactions": [], "attachments": [], "thread_id": None, "thread": None, "pinned": False,
        "forwarded": None,
        "mentions": [], "mentions_all": False, "preview": None, "metadata": None,
    }
    user_id = "7d8e9f00-1a2b-4c3d-9e4f-5a6b7c8d9e0f"
    example_conversation = {
        "id": example_message["conversation_id"], "title": "", "is_direct": True,
        "users": [{**example_message["created_by"], "role": "member"}], "modified_at": "2026-11-21T09:30:00Z", "last_seq": 0,
        "owner_id": None, "disappearing_seconds": None,
    }
    return {
        "chat.message": (
            "A saved message, to every socket in the room (the sender's is its acknowledgement)",
            message_frame("chat.message", message),
            {"type": "chat.message", **example_message, "name": "Alice"},
        ),
        "chat.message.updated": (
            "A message was edited, hidden by a moderator (`moderated`: the body removed), or its link preview arrived (`preview`)",
            message_frame("chat.message.updated", message, deleted={"const": False}),
            {"type": "chat.message.updated", **example_message, "body": "Hello, world!",
             "edited_at": "2026-11-21T09:31:02Z", "name": "Alice"},
        ),
        "chat.message.deleted": (
            "A message was deleted, or disappeared (`expired`: its conversation's timer or the server's retention "
            "ran out; sent by the expiry pass, one frame per message): a tombstone with an empty body",
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
            ("The user's unread counts after they read on any device (of the main timeline: thread replies count "
             "in their thread's; each at most CHAT_UNREAD_COUNT_MAX)"),
            frame("unread", {"conversation_id": UUID_SCHEMA, "unread_count": SEQ_SCHEMA, "total": SEQ_SCHEMA},
                   ("conversation_id", "unread_count", "total")),
            {"type": "unread", "conversation_id": example_message["conversation_id"], "unread_count": 0, "total": 3},
        ),
        "notification": (
            "Someone else sent a message in one of the user's conversations (as the user's notification level, "
            "mutes and blocks allow: docs/protocol.md, \"Mentions and notification levels\"), or an edit "
            "newly mentions the user",
            frame("notification", {
                "conversation_id": UUID_SCHEMA, "message": ref("MessageOut"),
                "mentioned": {"type": "boolean", "description": "The message mentions the user (by name or @all)."},
            }, ("conversation_id", "message", "mentioned")),
            {"type": "notification", "conversation_id": example_message["conversation_id"], "message": example_message,
             "mentioned": False},
        ),
        "conversation.notifications": (
            "The user chose which messages of a conversation they are told of (on any device)",
            frame("conversation.notifications", {
                "conversation_id": UUID_SCHEMA,
                "level": {"enum": ["all", "mentions", "none"],
                          "description": "all messages, only those mentioning the user, or none."},
            }, ("conversation_id", "level")),
            {"type": "conversation.notifications", "conversation_id": example_message["conversation_id"],
             "level": "mentions"},
        ),
        "conversation.created": (
            "The user was added to a new conversation",
            frame("conversation.created", {"conversation": ref("ConversationOut")}, ("conversation",)),
            {"type": "conversation.created", "conversation": example_conversation},
        ),
        "conversation.updated": (
            "A group the user is (or was) in was renamed, or members were added or removed, or left, or a role changed",
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
        "chat.thread.updated": (
            "A reply came to a message's thread (its chat.message carries thread_id): the root's thread summary "
            "as it is now, to update its reply count",
            frame("chat.thread.updated", {
                "conversation_id": UUID_SCHEMA, "message_id": UUID_SCHEMA, "seq": SEQ_SCHEMA,
                "thread": ref("ThreadSummaryOut"),
            }, ("conversation_id", "message_id", "seq", "thread")),
            {"type": "chat.thread.updated", "conversation_id": example_message["conversation_id"],
             "message_id": example_message["id"], "seq": 42,
             "thread": {"reply_count": 3, "last_reply_at": "2026-11-21T09:40:00.123456Z", "last_reply_seq": 57,
                        "latest_replier_ids": [user_id]}},
        ),
        "thread.state": (
            ("The user read a thread, or followed or unfollowed it, on any device: their state of it now, and how "
             "many threads they follow have unread replies (room sockets: only of their own conversation)"),
            frame("thread.state", {
                "conversation_id": UUID_SCHEMA,
                "root_id": UUID_SCHEMA,
                "following": {"type": "boolean", "description": "Its replies notify the user."},
                "last_read_seq": SEQ_SCHEMA,
                "unread_count": {**SEQ_SCHEMA, "description": "Its replies after last_read_seq (capped)."},
                "unread_threads": {**SEQ_SCHEMA, "description": "Followed threads with unread replies (capped)."},
            }, ("conversation_id", "root_id", "following", "last_read_seq", "unread_count", "unread_threads")),
            {"type": "thread.state", "conversation_id": example_message["conversation_id"],
             "root_id": example_message["id"], "following": True, "last_read_seq": 57, "unread_count": 0,
             "unread_threads": 2},
        ),
        "chat.pinned": (
            "A message was pinned (the owner or an admin of a group, either member of a direct conversation); "
            "the message as it is now",
            frame("chat.pinned", {
                "message_id": UUID_SCHEMA, "seq": SEQ_SCHEMA,
                "pinned_by": {"anyOf": [ref("UserPublicOut"), {"type": "null"}]},
                "pinned_at": {"type": "string", "format": "date-time"},
                "message": ref("MessageOut"),
            }, ("message_id", "seq", "pinned_by", "pinned_at", "message")),
            {"type": "chat.pinned", "message_id": example_message["id"], "seq": 42,
             "pinned_by": example_message["created_by"], "pinned_at": "2026-11-21T09:32:00Z",
             "message": {**example_message, "pinned": True}},
        ),
        "chat.unpinned": (
            "A message stopped being pinned: unpinned by a member (`by`), or deleted or hidden by a moderator "
            "(`by` null)",
            frame("chat.unpinned", {
                "message_id": UUID_SCHEMA, "seq": SEQ_SCHEMA,
                "by": {"type": ["string", "null"], "format": "uuid"},
            }, ("message_id", "seq", "by")),
            {"type": "chat.unpinned", "message_id": example_message["id"], "seq": 42, "by": user_id},
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
        "conversation.join_requested": (
            "Someone opened an invite link that needs approval, to a group the user owns or is an admin of",
            frame("conversation.join_requested", {
                "conversation_id": UUID_SCHEMA,
                "user": ref("UserPublicOut"),
                "created_at": {"type": "string", "format": "date-time"},
            }, ("conversation_id", "user", "created_at")),
            {"type": "conversation.join_requested", "conversation_id": example_message["conversation_id"],
             "user": example_message["created_by"], "created_at": "2026-11-21T09:30:00Z"},
        ),
        "export.updated": (
            "The user's data export is ready (GET /api/auth/export/ gives the download link) or failed",
            frame("export.updated", {
                "id": UUID_SCHEMA,
                "status": {"enum": ["ready", "failed"]},
                "expires_at": {"type": ["string", "null"], "format": "date-time",
                               "description": "Ready: when the archive is deleted."},
            }, ("id", "status", "expires_at")),
            {"type": "export.updated", "id": "0f6c2b1a-3d4e-4f50-8a6b-7c8d9e0f1a2b", "status": "ready",
             "expires_at": "2026-11-24T09:30:00Z"},
        ),
        "user.status": (
            "A member or contact (in a conversation where their presence is shown to the user), or the user on "
            "another device, set or cleared their status; drop it yourself at `expires_at`",
            frame("user.status", {
                "user_id": UUID_SCHEMA,
                "status": {"oneOf": [ref("StatusOut"), {"type": "null"}], "description": "null: cleared."},
            }, ("user_id", "status")),
            {"type": "user.status", "user_id": user_id,
             "status": {"text": "In a meeting", "emoji": "\U0001f4c5", "expires_at": "2026-11-21T10:30:00Z"}},
        ),
        "draft.updated": (
            "The user saved or deleted their draft of a conversation on another device (a room socket: of its "
            "conversation only). Sending a message clears the draft without this frame",
            frame("draft.updated", {
                "conversation_id": UUID_SCHEMA,
                "draft": {"oneOf": [ref("DraftOut"), {"type": "null"}], "description": "null: none."},
            }, ("conversation_id", "draft")),
            {"type": "draft.updated", "conversation_id": example_message["conversation_id"],
             "draft": {"body": "Half a thought", "updated_at": "2026-11-21T09:31:00Z"}},
        ),
        "scheduled.failed": (
            "A message the user scheduled was refused at its time (no longer a member, a block, …): it is "
            "`failed`, with the reason",
            frame("scheduled.failed", {"scheduled": ref("ScheduledOut")}, ("scheduled",)),
            {"type": "scheduled.failed", "scheduled": {
                "id": "0e6f1a2b-3c4d-4e5f-8a9b-0c1d2e3f4a5b", "conversation_id": example_message["conversation_id"],
                "body": "Stand-up!", "send_at": "2026-11-22T09:00:00Z", "reply_to": None, "thread_id": None,
                "metadata": None, "attachment_ids": [], "state": "failed",
                "failure": {"code": "blocked", "detail": "You cannot message this person."},
                "message_id": None, "created_at": "2026-11-21T09:30:00Z", "updated_at": "2026-11-22T09:00:00Z",
            }},
        ),
        "sync.done": (
            ("Every message after the asked seq was sent, and the summaries (chat.thread.updated) of older roots "
             "whose threads got replies since"),
            frame("sync.done", {"last_seq": SEQ_SCHEMA}, ("last_seq",)),
            {"type": "sync.done", "last_seq": 57},
        ),
        "sync.result": (
            ("What changed since the seqs the client sent, a page of conversations, and the followed threads with "
             "unread replies"),
            frame("sync.result", {
                "unread_total": SEQ_SCHEMA,
                "more": {"type": "boolean", "description": "More conversations have news: sync again."},
                "unread_threads": {**SEQ_SCHEMA, "description": "Followed threads with unread replies (capped)."},
                "threads": {"type": "array", "items": ref("ThreadItemOut"),
                            "description": "The latest replied to of those threads, at most SYNC_PAGE_THREADS."},
                "threads_more": {"type": "boolean",
                                 "description": "More have unread replies: GET /api/chat/threads/?unread=true."},
                "conversations": {"type": "array", "items": {
                    "title": "SyncResultConversation",
                    "type": "object",
                    "properties": {
                        "conversation": ref("ConversationOut"),
                        "unread_count": SEQ_SCHEMA,
                        "muted": {"type": "boolean", "description": "The user muted it (no notification frames)."},
                        "muted_until": {"type": ["string", "null"], "format": "date-time",
                                        "description": "When the mute ends; null: until unmuted, or not muted."},
                        "notification_level": {"enum": ["all", "mentions", "none"],
                                               "description": "Which of its messages the user is told of."},
                        "messages": {"type": "array", "items": ref("MessageOut")},
                        "has_more": {"type": "boolean", "description": "More messages at GET /api/chat/<id>/messages/?after=."},
                    },
                    "required": ["conversation", "unread_count", "muted", "muted_until", "notification_level",
                                 "messages", "has_more"],
                }},
            }, ("unread_total", "more", "conversations", "unread_threads", "threads", "threads_more")),
            {"type": "sync.result", "unread_total": 0, "more": False, "conversations": [], "unread_threads": 0,
             "threads": [], "threads_more": False},
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
