"""
JSON shapes of conversations and messages, shared by REST and the sockets.

Plain functions rather than DRF serializers: ``message_data`` runs once per
message on the broadcast path, and a dict built by hand is several times
cheaper than a serializer instance. Input validation for REST lives in the
``*Input`` serializers at the bottom.
"""

from datetime import datetime

from django.conf import settings
from rest_framework import serializers

from useraccount.serializers import UserPublicOut, user_public

from .models import CLIENT_ID_MAX_LENGTH, Conversation, ConversationMessage
from .realtime.presence import Unknown


def timestamp(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.isoformat().replace("+00:00", "Z")


def message_data(message: ConversationMessage) -> dict:
    """The message JSON; ``message.created_by`` must be loaded."""
    return {
        "id": str(message.id),
        "seq": message.seq,
        "conversation_id": str(message.conversation_id),
        "body": message.body,
        "created_by": user_public(message.created_by),
        "sent_to_id": str(message.sent_to_id) if message.sent_to_id else None,
        "created_at": timestamp(message.created_at),
        "client_id": message.client_id or None,
        "edited_at": timestamp(message.edited_at),
        "deleted": message.is_deleted,
    }


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
    }


def conversation_list_item(conversation: Conversation, online: set[str] | None = None) -> dict:
    """
    ``conversation_data`` plus ``last_message`` (see selectors.attach_last_messages)
    and the caller's ``unread_count`` (see selectors.conversation_list).
    """
    data = conversation_data(conversation, online)
    last = getattr(conversation, "last_message", None)
    data["last_message"] = message_data(last) if last is not None else None
    data["unread_count"] = getattr(conversation, "unread_count", 0)
    return data


def sync_result_data(changes, unread_total: int, more: bool) -> dict:
    """The notifications socket's ``sync.result`` frame, from selectors.changes_since."""
    return {
        "type": "sync.result",
        "conversations": [
            {
                "conversation": conversation_data(change.conversation),
                "unread_count": change.conversation.unread_count,
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
    body = serializers.CharField(allow_blank=True, trim_whitespace=False)
    client_id = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=CLIENT_ID_MAX_LENGTH
    )


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


class MessageOut(serializers.Serializer):
    id = serializers.UUIDField()
    seq = serializers.IntegerField(help_text="1, 2, 3… per conversation, no gaps.")
    conversation_id = serializers.UUIDField()
    body = serializers.CharField(help_text="Empty once deleted.")
    created_by = UserPublicOut()
    sent_to_id = serializers.UUIDField(allow_null=True, help_text="The other member of a direct conversation; null in a group.")
    created_at = serializers.DateTimeField()
    client_id = serializers.CharField(allow_null=True)
    edited_at = serializers.DateTimeField(allow_null=True)
    deleted = serializers.BooleanField()


class ConversationOut(serializers.Serializer):
    id = serializers.UUIDField()
    title = serializers.CharField(allow_blank=True)
    is_direct = serializers.BooleanField()
    users = UserPublicOut(many=True)
    modified_at = serializers.DateTimeField()
    last_seq = serializers.IntegerField()


class ConversationListItemOut(ConversationOut):
    last_message = MessageOut(allow_null=True)
    unread_count = serializers.IntegerField()


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
