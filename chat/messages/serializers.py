"""
JSON shapes of messages, shared by REST and the sockets.

Plain functions rather than DRF serializers: ``message_data`` runs once per
message on the broadcast path, and a dict built by hand is several times
cheaper than a serializer instance. REST's input and output serializers
(for validation and the OpenAPI document) follow.
"""

from datetime import datetime

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers

from chat.attachments.serializers import AttachmentOut, attachment_data
from chat.models import (
    CLIENT_ID_MAX_LENGTH,
    ConversationMessage,
)
from useraccount.serializers import UserPublicOut, user_public



def timestamp(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.isoformat().replace("+00:00", "Z")


METADATA_HELP = (
    "A JSON object for a custom message type: at most CHAT_MESSAGE_METADATA_MAX_BYTES (4096) as compact JSON "
    "(400 `metadata_too_large`), nesting at most CHAT_MESSAGE_METADATA_MAX_DEPTH (4) (400 `invalid_metadata`)."
)

# ``?metadata.<key>=<value>`` on the history, for the OpenAPI document (a pattern of names, so shown as one).
METADATA_FILTER = OpenApiParameter(
    "metadata.<key>", OpenApiTypes.STR, OpenApiParameter.QUERY, required=False,
    description=(
        "Only messages whose metadata has this top-level key equal to this value, as text; the key of letters, "
        "digits, _ and -. 400 `invalid_filter`, `too_many_filters`."
    ),
)

# How much of a replied-to message's body a reply carries.
REPLY_EXCERPT_CHARS = 140


def message_data(message: ConversationMessage) -> dict:
    """
    The message JSON. Load messages with ``ConversationMessage.objects.for_display()``
    (sender, replied-to message, reactions and attachments in a fixed number of queries).
    A message a moderator hid is a tombstone marked ``moderated``: no body,
    reactions or attachments (staff read it in the admin). A deleted one
    that disappeared (its timer, or retention) is also marked ``expired``.
    """
    moderated = message.moderated_at is not None
    return {
        "id": str(message.id),
        "seq": message.seq,
        "conversation_id": str(message.conversation_id),
        "body": "" if moderated else message.body,
        "created_by": user_public(message.created_by),
        "sent_to_id": str(message.sent_to_id) if message.sent_to_id else None,
        "created_at": timestamp(message.created_at),
        "client_id": message.client_id or None,
        "edited_at": timestamp(message.edited_at),
        "deleted": message.is_deleted,
        "expired": is_expired(message),
        "expires_at": None if message.is_deleted else timestamp(message.expires_at),
        "moderated": moderated,
        "kind": message.kind,
        "system": message.system,
        "reply_to": reply_data(message.reply_to) if message.reply_to_id else None,
        "reactions": [] if moderated else message.reaction_summary,
        "attachments": [] if moderated else [
            attachment_data(message.conversation_id, item) for item in message.attachment_summary
        ],
        "thread_id": str(message.thread_root_id) if message.thread_root_id else None,
        # Kept on the root's row in the shape shown (chat.threads.services.thread_summary).
        "thread": message.thread_summary,
        "pinned": message.pinned_at is not None,
        "forwarded": forwarded_data(message),
        "mentions": [] if moderated else message.mention_ids,
        "mentions_all": False if moderated else message.mentions_all,
        "preview": None if moderated else message.preview,
        "metadata": None if moderated else message.metadata,
    }


def forwarded_data(message: ConversationMessage) -> dict | None:
    """
    Where a forwarded copy came from: the original's author and time, never
    its conversation (the copy's readers may not be members of it).
    """
    if message.forwarded_created_at is None:
        return None
    author = message.forwarded_from if message.forwarded_from_id is not None else None
    return {
        "from_user": user_public(author) if author is not None else None,
        "original_created_at": timestamp(message.forwarded_created_at),
    }


def is_expired(message: ConversationMessage) -> bool:
    """
    A tombstone the expiry pass made: it sets ``expires_at`` to the time of
    deletion (chat.messages.services.messages_tombstone, so retention's
    count too), and a message deleted by someone before its time has an
    ``expires_at`` after its ``deleted_at``, or none.
    """
    return message.deleted_at is not None and message.expires_at is not None and message.expires_at <= message.deleted_at


def reply_data(message: ConversationMessage | None) -> dict | None:
    """What a reply shows of the message it answers: who, and the start of what they said (none once deleted)."""
    if message is None:  # the replied-to message's conversation was deleted with it
        return None
    moderated = message.moderated_at is not None
    body = "" if moderated else message.body
    return {
        "id": str(message.id),
        "seq": message.seq,
        "body": body if len(body) <= REPLY_EXCERPT_CHARS else body[: REPLY_EXCERPT_CHARS - 1] + "\u2026",
        "created_by": user_public(message.created_by),
        "deleted": message.is_deleted,
        "moderated": moderated,
    }


def reaction_summary(reactions) -> list[dict]:
    """
    What message JSON shows of a message's reactions (kept on the message
    row): ``[{emoji, count, user_ids}]`` in the order each emoji was first
    used, at most CHAT_REACTION_USERS_SHOWN ids each.
    """
    shown = settings.CHAT_REACTION_USERS_SHOWN
    by_emoji: dict[str, dict] = {}
    for reaction in reactions:
        entry = by_emoji.setdefault(reaction.emoji, {"emoji": reaction.emoji, "count": 0, "user_ids": []})
        entry["count"] += 1
        if len(entry["user_ids"]) < shown:
            entry["user_ids"].append(str(reaction.user_id))
    return list(by_emoji.values())


class MessageCreateInput(serializers.Serializer):
    # Length and emptiness are checked by the service, the one place that
    # validates a message, so REST and the socket give the same errors.
    body = serializers.CharField(
        required=False, allow_blank=True, trim_whitespace=False, default="",
        help_text="May be empty when the message carries attachments.",
    )
    client_id = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=CLIENT_ID_MAX_LENGTH
    )
    reply_to = serializers.UUIDField(required=False, allow_null=True, help_text="A message of this conversation.")
    thread_id = serializers.UUIDField(
        required=False, allow_null=True,
        help_text="Reply in this message's thread (a reply's id: the same thread, threads are one level deep).",
    )
    attachment_ids = serializers.ListField(
        child=serializers.UUIDField(), required=False,
        help_text="Your uploads to this conversation (POST .../attachments/), at most CHAT_MESSAGE_MAX_ATTACHMENTS (10).",
    )
    metadata = serializers.JSONField(
        required=False, allow_null=True, help_text=METADATA_HELP,
    )


class ReactionInput(serializers.Serializer):
    emoji = serializers.CharField(max_length=16, trim_whitespace=False, help_text="One emoji, such as \U0001f44d.")


class MessageEditInput(serializers.Serializer):
    body = serializers.CharField(allow_blank=True, trim_whitespace=False, required=False, help_text="Absent: unchanged.")
    metadata = serializers.JSONField(
        required=False, allow_null=True, help_text=f"{METADATA_HELP} Absent: unchanged; null or {{}}: none.",
    )

    def validate(self, attrs):
        if not attrs:
            raise serializers.ValidationError({"body": ["Give body, metadata or both."]})
        return attrs


class MessageRangeInput(serializers.Serializer):
    before = serializers.IntegerField(required=False, min_value=1)
    after = serializers.IntegerField(required=False, min_value=0)

    def get_fields(self):
        # The cap is a setting, read per request rather than at import.
        fields = super().get_fields()
        fields["limit"] = serializers.IntegerField(
            required=False, min_value=1, max_value=settings.CHAT_MESSAGE_PAGE_MAX, default=50,
            help_text=(
                "Messages per page (default 50; at most CHAT_MESSAGE_PAGE_MAX, 200). With `q`: results per page "
                "(default CHAT_SEARCH_PAGE_SIZE, 20; at most CHAT_SEARCH_PAGE_MAX, 50; more is a 400)."
            ),
        )
        return fields

    def validate(self, attrs):
        # ``cursor`` pages a search (?q=); empty, it is refused as the search refuses it, with or without q.
        if self.initial_data.get("cursor") == "":
            raise serializers.ValidationError({"cursor": ["This field may not be blank."]})
        return attrs


class ReplyOut(serializers.Serializer):
    id = serializers.UUIDField()
    seq = serializers.IntegerField()
    body = serializers.CharField(allow_blank=True, help_text="The first 140 characters; empty once deleted.")
    created_by = UserPublicOut()
    deleted = serializers.BooleanField()
    moderated = serializers.BooleanField(help_text="Hidden by a moderator: the body is empty.")


class ReactionOut(serializers.Serializer):
    emoji = serializers.CharField()
    count = serializers.IntegerField(help_text="Everyone who reacted with it.")
    user_ids = serializers.ListField(
        child=serializers.UUIDField(), help_text="The first CHAT_REACTION_USERS_SHOWN (20) of them."
    )


class SystemOut(serializers.Serializer):
    action = serializers.ChoiceField(
        choices=["renamed", "members_added", "member_removed", "member_left", "role_changed", "member_joined",
                 "message_pinned", "disappearing_set"]
    )
    user_ids = serializers.ListField(
        child=serializers.UUIDField(), help_text="Who was added, removed, left or joined, or whose role changed."
    )
    title = serializers.CharField(allow_blank=True, required=False, help_text="The new title (renamed).")
    role = serializers.ChoiceField(
        choices=["owner", "admin", "member"], required=False, help_text="The new role (role_changed)."
    )
    message_id = serializers.UUIDField(required=False, help_text="The message pinned (message_pinned).")
    seconds = serializers.IntegerField(
        allow_null=True, required=False,
        help_text="The new disappearing-messages timer in seconds, null: off (disappearing_set).",
    )


class ForwardedOut(serializers.Serializer):
    from_user = UserPublicOut(allow_null=True, help_text="Who wrote the original (of a copy of a copy, the first).")
    original_created_at = serializers.DateTimeField(help_text="When the original was sent.")


class ThreadSummaryOut(serializers.Serializer):
    reply_count = serializers.IntegerField(help_text="Every reply in the thread (deleted ones stay as tombstones).")
    last_reply_at = serializers.DateTimeField()
    last_reply_seq = serializers.IntegerField(help_text="The newest reply's seq.")
    latest_replier_ids = serializers.ListField(
        child=serializers.UUIDField(), help_text="Who replied last, newest first: at most CHAT_THREAD_REPLIERS_SHOWN (5)."
    )


class PreviewOut(serializers.Serializer):
    url = serializers.CharField(help_text="The URL as written in the message.")
    title = serializers.CharField(help_text="og:title, else the page's <title>; may be empty.")
    description = serializers.CharField(help_text="og:description, else its meta description; may be empty.")
    image = serializers.CharField(allow_null=True, help_text="og:image as an absolute http(s) URL, or null.")
    site_name = serializers.CharField(help_text="og:site_name, else the host name.")


class MessageOut(serializers.Serializer):
    id = serializers.UUIDField()
    seq = serializers.IntegerField(help_text="1, 2, 3… per conversation, no gaps.")
    conversation_id = serializers.UUIDField()
    body = serializers.CharField(help_text="Empty once deleted or hidden by a moderator.")
    created_by = UserPublicOut()
    sent_to_id = serializers.UUIDField(allow_null=True, help_text="The other member of a direct conversation; null in a group.")
    created_at = serializers.DateTimeField()
    client_id = serializers.CharField(allow_null=True)
    edited_at = serializers.DateTimeField(allow_null=True)
    deleted = serializers.BooleanField()
    expired = serializers.BooleanField(
        help_text=(
            "Deleted because it disappeared (the conversation's timer, or the server's retention), "
            "not by someone: show “message expired”. Always with `deleted`."
        )
    )
    expires_at = serializers.DateTimeField(
        allow_null=True,
        help_text=(
            "When it disappears (its conversation's disappearing timer when it was sent); null without a timer, "
            "and once it is a tombstone."
        ),
    )
    moderated = serializers.BooleanField(
        help_text="Hidden by a moderator: a tombstone like a deleted message (empty body, no reactions or attachments)."
    )
    kind = serializers.ChoiceField(
        choices=["text", "system"], help_text="system: a change to the conversation, described in `system`."
    )
    system = SystemOut(allow_null=True, help_text="What changed, for a system message; null otherwise.")
    reply_to = ReplyOut(allow_null=True, help_text="The message this one answers.")
    reactions = ReactionOut(many=True, help_text="In the order each emoji was first used.")
    attachments = AttachmentOut(many=True)
    thread_id = serializers.UUIDField(
        allow_null=True, help_text="For a reply in a thread: the thread's root (a message of the main timeline)."
    )
    thread = ThreadSummaryOut(allow_null=True, help_text="For a thread's root: its replies in short; null without any.")
    pinned = serializers.BooleanField(help_text="Pinned to the conversation (GET /api/chat/<id>/pins/).")
    forwarded = ForwardedOut(
        allow_null=True, help_text="A forwarded copy: whose message it copies and when that was sent; never from where."
    )
    mentions = serializers.ListField(
        child=serializers.UUIDField(),
        help_text="The members it mentions with `<@user-id>` markup, each once (docs/protocol.md, \"Mentions\").",
    )
    mentions_all = serializers.BooleanField(help_text="It mentions `@all`: every member of the group.")
    preview = PreviewOut(
        allow_null=True,
        help_text=(
            "The link preview of the first http(s) URL in the body, once the server fetched it (CHAT_LINK_PREVIEWS; "
            "announced with `chat.message.updated`); null before, without one, and on tombstones."
        ),
    )
    metadata = serializers.DictField(
        allow_null=True, help_text="The sender's JSON object for a custom message type; null without one (or hidden).",
    )


class PinOut(serializers.Serializer):
    message = MessageOut()
    pinned_by = UserPublicOut(allow_null=True, help_text="Who pinned it (null if their account is gone).")
    pinned_at = serializers.DateTimeField()


class ForwardInput(serializers.Serializer):
    # The bound is checked by the service (CHAT_FORWARD_MAX_TARGETS), with the code clients switch on.
    conversation_ids = serializers.ListField(
        child=serializers.CharField(), allow_empty=False,
        help_text="Conversations of yours to forward to, at most CHAT_FORWARD_MAX_TARGETS (10); each once.",
    )
    comment = serializers.CharField(
        required=False, allow_blank=True, trim_whitespace=False, default="",
        help_text="Sent after the copy, as your own message, in each conversation the copy reached.",
    )


class ForwardErrorOut(serializers.Serializer):
    code = serializers.CharField()
    detail = serializers.CharField()


class ForwardResultOut(serializers.Serializer):
    conversation_id = serializers.CharField()
    ok = serializers.BooleanField()
    message = MessageOut(allow_null=True, help_text="The copy, when it was sent.")
    comment = MessageOut(allow_null=True, help_text="The comment sent after it, when there was one.")
    error = ForwardErrorOut(allow_null=True, help_text="Why nothing was sent there (as an error response's body).")


class ForwardOut(serializers.Serializer):
    results = ForwardResultOut(many=True, help_text="One per target, in the order asked.")
