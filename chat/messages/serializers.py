"""
JSON shapes of messages, shared by REST and the sockets.

Plain functions rather than DRF serializers: ``message_data`` runs once per
message on the broadcast path, and a dict built by hand is several times
cheaper than a serializer instance. REST's input and output serializers
(for validation and the OpenAPI document) follow.
"""

from datetime import datetime

from django.conf import settings
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
        "moderated": moderated,
        "kind": message.kind,
        "system": message.system,
        "reply_to": reply_data(message.reply_to) if message.reply_to_id else None,
        "reactions": [] if moderated else message.reaction_summary,
        "attachments": [] if moderated else [
            attachment_data(message.conversation_id, item) for item in message.attachment_summary
        ],
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
    attachment_ids = serializers.ListField(
        child=serializers.UUIDField(), required=False,
        help_text="Your uploads to this conversation (POST .../attachments/), at most CHAT_MESSAGE_MAX_ATTACHMENTS (10).",
    )


class ReactionInput(serializers.Serializer):
    emoji = serializers.CharField(max_length=16, trim_whitespace=False, help_text="One emoji, such as \U0001f44d.")


class MessageEditInput(serializers.Serializer):
    body = serializers.CharField(allow_blank=True, trim_whitespace=False)


class MessageRangeInput(serializers.Serializer):
    before = serializers.IntegerField(required=False, min_value=1)
    after = serializers.IntegerField(required=False, min_value=0)

    def get_fields(self):
        # The cap is a setting, read per request rather than at import.
        fields = super().get_fields()
        fields["limit"] = serializers.IntegerField(
            required=False, min_value=1, max_value=settings.CHAT_MESSAGE_PAGE_MAX, default=50
        )
        return fields


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
        choices=["renamed", "members_added", "member_removed", "member_left", "role_changed", "disappearing_set"]
    )
    user_ids = serializers.ListField(
        child=serializers.UUIDField(), help_text="Who was added, removed or left, or whose role changed."
    )
    title = serializers.CharField(allow_blank=True, required=False, help_text="The new title (renamed).")
    role = serializers.ChoiceField(
        choices=["owner", "admin", "member"], required=False, help_text="The new role (role_changed)."
    )
    seconds = serializers.IntegerField(
        allow_null=True, required=False,
        help_text="The new disappearing-messages timer in seconds, null: off (disappearing_set).",
    )


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
