"""
JSON shapes of conversations (plain functions, cheap on hot paths) and the
REST input and output serializers of the conversation endpoints.
"""

from datetime import datetime

from django.utils import timezone
from rest_framework import serializers

from chat.messages.serializers import MessageOut, message_data, timestamp
from chat.models import (
    Conversation,
    ConversationMember,
)
from chat.conversations.drafts import draft_data
from chat.conversations.roles import ROLES, role_of
from chat.audience import ALL

LEVELS = ConversationMember.NOTIFICATION_LEVELS
from chat.realtime.presence import Unknown
from chat.threads.selectors import UnreadThreads
from chat.threads.serializers import thread_list_item
from useraccount.serializers import UserPublicOut, user_public



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
        "users": [_member(conversation, user, online) for user in conversation.users.all()],
        "modified_at": timestamp(conversation.modified_at),
        "last_seq": conversation.last_seq,
        "owner_id": str(conversation.owner_id) if conversation.owner_id else None,
        "disappearing_seconds": conversation.disappearing_seconds,
    }


def _member(conversation: Conversation, user, online) -> dict:
    data = user_with_presence(user, online)
    data["role"] = role_of(conversation, user_id=user.id, stored=user.member_role)
    return data


def mute_data(muted: bool, muted_until: datetime | None) -> dict:
    """The caller's mute of a conversation as it stands now: a mute that ran out is none."""
    if muted and muted_until is not None and muted_until <= timezone.now():
        muted = False
    return {"muted": muted, "muted_until": timestamp(muted_until) if muted else None}


def conversation_list_item(conversation: Conversation, online: set[str] | None = None) -> dict:
    """
    ``conversation_data`` plus ``last_message`` (see attach_last_messages)
    and the caller's ``unread_count``, ``muted``, ``muted_until`` and
    ``notification_level`` (see conversation_list).
    """
    data = conversation_data(conversation, online)
    last = getattr(conversation, "last_message", None)
    data["last_message"] = message_data(last) if last is not None else None
    data["unread_count"] = getattr(conversation, "unread_count", 0)
    data.update(mute_data(getattr(conversation, "muted", False), getattr(conversation, "muted_until", None)))
    data["notification_level"] = getattr(conversation, "notification_level", None) or ALL
    data["draft"] = draft_data(getattr(conversation, "draft", None), getattr(conversation, "draft_updated_at", None))
    return data


def sync_result_data(changes, unread_total: int, more: bool, *, threads: UnreadThreads) -> dict:
    """
    The notifications socket's ``sync.result`` frame, from changes_since and
    chat.threads.selectors.unread_threads (the followed threads with unread replies).
    """
    return {
        "type": "sync.result",
        "conversations": [
            {
                "conversation": conversation_data(change.conversation),
                "unread_count": change.conversation.unread_count,
                **mute_data(change.conversation.muted, change.conversation.muted_until),
                "notification_level": change.conversation.notification_level,
                "messages": [message_data(m) for m in change.messages],
                "has_more": change.has_more,
            }
            for change in changes
        ],
        "unread_total": unread_total,
        "more": more,
        "unread_threads": threads.count,
        "threads": [thread_list_item(thread) for thread in threads.threads],
        "threads_more": threads.more,
    }


class ConversationCreateInput(serializers.Serializer):
    user_ids = serializers.ListField(child=serializers.UUIDField(), allow_empty=False, max_length=500)
    title = serializers.CharField(required=False, allow_blank=True, max_length=255, default="")


class ConversationUpdateInput(serializers.Serializer):
    title = serializers.CharField(allow_blank=True, max_length=255)


class MembersAddInput(serializers.Serializer):
    user_ids = serializers.ListField(child=serializers.UUIDField(), allow_empty=False, max_length=500)


class DisappearingInput(serializers.Serializer):
    # Any whole number or null here: which ones are timers is the service's rule (invalid_disappearing_timer).
    seconds = serializers.IntegerField(
        allow_null=True,
        help_text="3600 (1 hour), 86400 (1 day), 604800 (7 days), 7776000 (90 days), or null: off.",
    )


class ReadInput(serializers.Serializer):
    seq = serializers.IntegerField(min_value=0)


class MemberOut(UserPublicOut):
    role = serializers.ChoiceField(
        choices=ROLES, help_text='Their role in a group ("member" for both in a direct conversation): docs/protocol.md, "Roles".'
    )


class MemberRoleInput(serializers.Serializer):
    role = serializers.ChoiceField(
        choices=ROLES, help_text='"admin" or "member"; "owner" hands the group on (you become an admin).'
    )


class ConversationOut(serializers.Serializer):
    id = serializers.UUIDField()
    title = serializers.CharField(allow_blank=True)
    is_direct = serializers.BooleanField()
    users = MemberOut(many=True)
    modified_at = serializers.DateTimeField()
    last_seq = serializers.IntegerField()
    owner_id = serializers.UUIDField(allow_null=True, help_text="Who manages the group; null for a direct conversation.")
    disappearing_seconds = serializers.IntegerField(
        allow_null=True,
        help_text=(
            "The disappearing-messages timer: messages sent from when it was set expire this many seconds later "
            "(3600, 86400, 604800 or 7776000); null: off."
        ),
    )


class MuteOut(serializers.Serializer):
    muted = serializers.BooleanField(help_text="You muted it: no `notification` frames or pushes for it.")
    muted_until = serializers.DateTimeField(allow_null=True, help_text="When the mute ends; null: until you unmute.")


UNREAD_HELP = (
    "Messages of the main timeline after your read position (replies in threads count in their thread's "
    "unread count instead), at most CHAT_UNREAD_COUNT_MAX: at it, that many or more."
)


class DraftOut(serializers.Serializer):
    body = serializers.CharField(allow_blank=True, help_text="Empty: no draft.")
    updated_at = serializers.DateTimeField(allow_null=True, help_text="When it was saved; null without one.")


class ConversationListItemOut(ConversationOut):
    last_message = MessageOut(allow_null=True)
    unread_count = serializers.IntegerField(help_text=UNREAD_HELP)
    muted = serializers.BooleanField(help_text="You muted it: no `notification` frames or pushes for it.")
    muted_until = serializers.DateTimeField(allow_null=True, help_text="When your mute ends; null: until you unmute, or not muted.")
    notification_level = serializers.ChoiceField(
        choices=LEVELS, help_text="Which of its messages you are told of: all, mentions (of you) or none.",
    )
    draft = DraftOut(allow_null=True, help_text="What you were writing here and have not sent (PUT .../draft/).")


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


class NotificationLevelInput(serializers.Serializer):
    level = serializers.ChoiceField(
        choices=LEVELS,
        help_text=(
            "all: every message; mentions: only those that mention you (or @all); none: nothing. "
            "A muted conversation still tells you of mentions unless this is none."
        ),
    )


class NotificationLevelOut(serializers.Serializer):
    conversation_id = serializers.UUIDField()
    level = serializers.ChoiceField(choices=LEVELS)


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
    unread_count = serializers.IntegerField(help_text=UNREAD_HELP)


class UnreadOut(serializers.Serializer):
    total = serializers.IntegerField(help_text="The sum of the counts.")
    conversations = serializers.DictField(
        child=serializers.IntegerField(),
        help_text="Unread count per conversation id, for those with any (as a conversation's `unread_count`).",
    )


class PresenceOut(serializers.Serializer):
    online = serializers.ListField(
        child=serializers.UUIDField(), allow_null=True, help_text="Contacts online now; null while presence is unknown."
    )
