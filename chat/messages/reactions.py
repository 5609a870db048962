"""
Reactions: one fully qualified emoji per user, emoji and message, at most
CHAT_REACTIONS_PER_MESSAGE different emoji a message; the message keeps a
summary of its counts, and the room gets ``chat.reaction``.
"""


from django.conf import settings
from django.db import transaction

from chat.messages.serializers import reaction_summary
from chat.messages.services import member_message
from chat.models import (
    REACTION_MAX_LENGTH,
    ConversationMessage,
    Reaction,
)
from chat.realtime import events
from chat.realtime.groups import room_group
from chat.rules import refuse_unless_open
from core.errors import InvalidInput
from core.outbox import Outbox, with_outbox
from useraccount.models import User



def _emoji(value) -> str:
    """``value`` as one fully qualified emoji (a missing U+FE0F is added), or InvalidInput."""
    normal = _FULLY_QUALIFIED.get(value.replace("\ufe0f", "")) if isinstance(value, str) and len(value) <= 16 else None
    if normal is None:
        raise InvalidInput("emoji must be one emoji, such as \U0001f44d.", code="invalid_emoji", field="emoji")
    return normal


def _fully_qualified_emoji() -> dict[str, str]:
    import emoji

    qualified = emoji.STATUS["fully_qualified"]
    return {
        text.replace("\ufe0f", ""): text
        for text, data in emoji.EMOJI_DATA.items()
        if data["status"] == qualified and len(text) <= REACTION_MAX_LENGTH
    }


_FULLY_QUALIFIED = _fully_qualified_emoji()


def _reactable(*, conversation_id, user: User, message_id) -> ConversationMessage:
    message = member_message(conversation_id=conversation_id, user=user, message_id=message_id)
    if message.is_deleted or message.is_moderated or message.kind != ConversationMessage.TEXT:
        raise InvalidInput("Only messages that are not deleted take reactions.", code="message_deleted")
    return message


def _reactions_changed(message: ConversationMessage, *, user: User, emoji: str, added: bool, outbox: Outbox):
    """Rewrite the message's reaction summary (its row is locked) and tell the room."""
    message.reaction_summary = reaction_summary(
        Reaction.objects.filter(message=message).order_by("created_at", "id")
    )
    message.save(update_fields=["reaction_summary"])
    outbox.emit(
        room_group(message.conversation_id),
        events.reaction(message, user_id=user.id, emoji=emoji, added=added),
    )


@with_outbox
def reaction_add(*, conversation_id, user: User, message_id, emoji, outbox: Outbox) -> ConversationMessage:
    """
    ``user`` reacts to a message with ``emoji``: once per user, emoji and
    message (adding it again changes nothing), at most
    CHAT_REACTIONS_PER_MESSAGE different emoji per message. The room gets
    ``chat.reaction`` with the new counts.
    """
    emoji = _emoji(emoji)
    with transaction.atomic():
        message = _reactable(conversation_id=conversation_id, user=user, message_id=message_id)
        refuse_unless_open(conversation_id=message.conversation_id, user=user)
        used = {entry["emoji"] for entry in message.reaction_summary}
        if emoji not in used and len(used) >= settings.CHAT_REACTIONS_PER_MESSAGE:
            raise InvalidInput(
                f"A message takes at most {settings.CHAT_REACTIONS_PER_MESSAGE} different reactions.",
                code="too_many_reactions", field="emoji",
            )
        _, created = Reaction.objects.get_or_create(message=message, user=user, emoji=emoji)
        if created:
            _reactions_changed(message, user=user, emoji=emoji, added=True, outbox=outbox)
    return message


@with_outbox
def reaction_remove(*, conversation_id, user: User, message_id, emoji, outbox: Outbox) -> ConversationMessage:
    """``user`` takes their ``emoji`` reaction back (one they never added changes nothing)."""
    emoji = _emoji(emoji)
    with transaction.atomic():
        message = _reactable(conversation_id=conversation_id, user=user, message_id=message_id)
        removed, _ = Reaction.objects.filter(message=message, user=user, emoji=emoji).delete()
        if removed:
            _reactions_changed(message, user=user, emoji=emoji, added=False, outbox=outbox)
    return message
