"""
JSON shapes of conversations and messages, shared by REST and the sockets.

Plain functions rather than DRF serializers: ``message_data`` runs once per
message on the broadcast path, and a dict built by hand is several times
cheaper than a serializer instance. Input validation for REST lives in the
``*Input`` serializers at the bottom.
"""

from datetime import datetime

from django.conf import settings
from django.utils import timezone
from django.urls import reverse
from rest_framework import serializers

from core.public_urls import absolute_url

from useraccount.serializers import UserPublicOut, user_public

from .models import (
    CLIENT_ID_MAX_LENGTH,
    REPORT_DETAILS_MAX_LENGTH,
    Attachment,
    Conversation,
    ConversationMessage,
    Report,
)
from .realtime.presence import Unknown


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
    reactions or attachments (staff read it in the admin).
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
        "moderated": moderated,
        "kind": message.kind,
        "system": message.system,
        "reply_to": reply_data(message.reply_to) if message.reply_to_id else None,
        "reactions": [] if moderated else message.reaction_summary,
        "attachments": [] if moderated else [
            attachment_data(message.conversation_id, item) for item in message.attachment_summary
        ],
    }


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


def attachment_summary(attachment: Attachment) -> dict:
    """What a message keeps of an attachment it carries (its URL is made when shown)."""
    return {
        "id": str(attachment.id),
        "name": attachment.name,
        "content_type": attachment.content_type,
        "size": attachment.size,
        "width": attachment.width,
        "height": attachment.height,
    }


def attachment_data(conversation_id, summary: dict) -> dict:
    """An attachment's JSON, from its summary: with the URL members download it at."""
    url = reverse("chat-attachment", args=[conversation_id, summary["id"]])
    return {**summary, "url": absolute_url(url)}


def user_with_presence(user, online: set[str] | None) -> dict:
    """The user, with ``online`` when presence was asked for (``null`` when it is unknown)."""
    data = user_public(user)
    if online is not None:
        data["online"] = None if isinstance(online, Unknown) else data["id"] in online
    return data


def conversation_data(conversation: Conversation, online: set[str] | None = None) -> dict:
    """
    A conversation with its members; ``users`` should be prefetched.

    With ``online`` (ids from chat.realtime.presence), each member carries ``online``.
    """
    return {
        "id": str(conversation.id),
        "title": conversation.title,
        "is_direct": conversation.is_direct,
        "users": [user_with_presence(user, online) for user in conversation.users.all()],
        "modified_at": timestamp(conversation.modified_at),
        "last_seq": conversation.last_seq,
        "owner_id": str(conversation.owner_id) if conversation.owner_id else None,
    }


def mute_data(muted: bool, muted_until: datetime | None) -> dict:
    """The caller's mute of a conversation as it stands now: a mute that ran out is none."""
    if muted and muted_until is not None and muted_until <= timezone.now():
        muted = False
    return {"muted": muted, "muted_until": timestamp(muted_until) if muted else None}


def conversation_list_item(conversation: Conversation, online: set[str] | None = None) -> dict:
    """
    ``conversation_data`` plus ``last_message`` (see selectors.attach_last_messages)
    and the caller's ``unread_count``, ``muted`` and ``muted_until`` (see selectors.conversation_list).
    """
    data = conversation_data(conversation, online)
    last = getattr(conversation, "last_message", None)
    data["last_message"] = message_data(last) if last is not None else None
    data["unread_count"] = getattr(conversation, "unread_count", 0)
    data.update(mute_data(getattr(conversation, "muted", False), getattr(conversation, "muted_until", None)))
    return data


def sync_result_data(changes, unread_total: int, more: bool) -> dict:
    """The notifications socket's ``sync.result`` frame, from selectors.changes_since."""
    return {
        "type": "sync.result",
        "conversations": [
            {
                "conversation": conversation_data(change.conversation),
                "unread_count": change.conversation.unread_count,
                **mute_data(change.conversation.muted, change.conversation.muted_until),
                "messages": [message_data(m) for m in change.messages],
                "has_more": change.has_more,
            }
            for change in changes
        ],
        "unread_total": unread_total,
        "more": more,
    }


class ConversationCreateInput(serializers.Serializer):
    user_ids = serializers.ListField(child=serializers.UUIDField(), allow_empty=False, max_length=500)
    title = serializers.CharField(required=False, allow_blank=True, max_length=255, default="")


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


class ConversationUpdateInput(serializers.Serializer):
    title = serializers.CharField(allow_blank=True, max_length=255)


class MembersAddInput(serializers.Serializer):
    user_ids = serializers.ListField(child=serializers.UUIDField(), allow_empty=False, max_length=500)


class ReactionInput(serializers.Serializer):
    emoji = serializers.CharField(max_length=16, trim_whitespace=False, help_text="One emoji, such as \U0001f44d.")


class AttachmentUploadInput(serializers.Serializer):
    file = serializers.FileField(allow_empty_file=True, help_text="Its type is read from its bytes.")


class SearchInput(serializers.Serializer):
    q = serializers.CharField(max_length=200, help_text="Words to find (docs/search.md).")
    cursor = serializers.CharField(required=False, help_text="From a `Link` header; opaque.")

    def get_fields(self):
        fields = super().get_fields()
        fields["limit"] = serializers.IntegerField(
            required=False, min_value=1, max_value=settings.CHAT_SEARCH_PAGE_MAX,
            help_text="Results per page (default CHAT_SEARCH_PAGE_SIZE, 20; at most CHAT_SEARCH_PAGE_MAX, 50).",
        )
        return fields

    @classmethod
    def optional(cls):
        """The same parameters, with ``q`` optional (a message list that searches only when asked to)."""
        instance = cls()
        instance.fields["q"].required = False
        return instance


class MessageEditInput(serializers.Serializer):
    body = serializers.CharField(allow_blank=True, trim_whitespace=False)


class ReadInput(serializers.Serializer):
    seq = serializers.IntegerField(min_value=0)


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


# --- Documented shapes (OpenAPI): what the functions above return.


class AttachmentOut(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField(help_text="The file name it was uploaded with.")
    content_type = serializers.CharField(help_text="Read from the file's bytes.")
    size = serializers.IntegerField(help_text="Bytes.")
    width = serializers.IntegerField(allow_null=True, help_text="Pixels, for an image.")
    height = serializers.IntegerField(allow_null=True, help_text="Pixels, for an image.")
    url = serializers.URLField(help_text="Download (members only, with the bearer token).")


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
    action = serializers.ChoiceField(choices=["renamed", "members_added", "member_removed", "member_left"])
    user_ids = serializers.ListField(child=serializers.UUIDField(), help_text="Who was added, removed or left.")
    title = serializers.CharField(allow_blank=True, required=False, help_text="The new title (renamed).")


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


class ConversationOut(serializers.Serializer):
    id = serializers.UUIDField()
    title = serializers.CharField(allow_blank=True)
    is_direct = serializers.BooleanField()
    users = UserPublicOut(many=True)
    modified_at = serializers.DateTimeField()
    last_seq = serializers.IntegerField()
    owner_id = serializers.UUIDField(allow_null=True, help_text="Who manages the group; null for a direct conversation.")


class MuteOut(serializers.Serializer):
    muted = serializers.BooleanField(help_text="You muted it: no `notification` frames or pushes for it.")
    muted_until = serializers.DateTimeField(allow_null=True, help_text="When the mute ends; null: until you unmute.")


class ConversationListItemOut(ConversationOut):
    last_message = MessageOut(allow_null=True)
    unread_count = serializers.IntegerField()
    muted = serializers.BooleanField(help_text="You muted it: no `notification` frames or pushes for it.")
    muted_until = serializers.DateTimeField(allow_null=True, help_text="When your mute ends; null: until you unmute, or not muted.")


class DateTimeAsGiven(serializers.DateTimeField):
    """
    A date and time kept as written: DRF would read one without a time zone
    as UTC, and the service refuses such a time (``invalid_until``) rather
    than guess the zone the client meant.
    """

    def enforce_timezone(self, value):
        return value


class MuteInput(serializers.Serializer):
    until = DateTimeAsGiven(
        required=False, allow_null=True, default=None,
        help_text=(
            "When the mute ends: in the future, with a time zone (`Z` or an offset; without one: `invalid_until`). "
            "Null or left out: until you unmute."
        ),
    )


class ReportInput(serializers.Serializer):
    message_id = serializers.UUIDField(required=False, help_text="A message of a conversation you are in.")
    user_id = serializers.UUIDField(required=False, help_text="A user (or name message_id instead).")
    reason = serializers.ChoiceField(choices=[value for value, _ in Report.REASONS])
    details = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=REPORT_DETAILS_MAX_LENGTH,
        help_text=f"What happened, at most {REPORT_DETAILS_MAX_LENGTH} characters.",
    )


class ReportOut(serializers.Serializer):
    id = serializers.UUIDField()
    message_id = serializers.UUIDField(allow_null=True)
    user_id = serializers.UUIDField(help_text="The reported user (a message's author).")
    reason = serializers.ChoiceField(choices=[value for value, _ in Report.REASONS])
    details = serializers.CharField(allow_blank=True)
    status = serializers.ChoiceField(choices=[Report.OPEN, Report.RESOLVED])
    created_at = serializers.DateTimeField()


def report_data(report: Report) -> dict:
    return {
        "id": str(report.id),
        "message_id": str(report.message_id) if report.message_id else None,
        "user_id": str(report.user_id),
        "reason": report.reason,
        "details": report.details,
        "status": report.status,
        "created_at": timestamp(report.created_at),
    }


class ConversationDetailOut(serializers.Serializer):
    conversation = ConversationOut()
    messages = MessageOut(many=True)


class ConversationStartOut(serializers.Serializer):
    success = serializers.BooleanField()
    conversation_id = serializers.UUIDField()
    created = serializers.BooleanField()


class ReadOut(serializers.Serializer):
    conversation_id = serializers.UUIDField()
    last_read_seq = serializers.IntegerField()
    unread_count = serializers.IntegerField()


class UnreadOut(serializers.Serializer):
    total = serializers.IntegerField()
    conversations = serializers.DictField(child=serializers.IntegerField(), help_text="Unread count per conversation id.")


class PresenceOut(serializers.Serializer):
    online = serializers.ListField(
        child=serializers.UUIDField(), allow_null=True, help_text="Contacts online now; null while presence is unknown."
    )
