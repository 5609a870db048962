"""
Pinned messages: a conversation's short list of messages to keep in view.

Who may pin and unpin is chat.conversations.roles' ``Action.PIN`` (a
group's owner and admins; either member of a direct conversation). A pin is
kept on the message row (``pinned_at``, ``pinned_by``), at most
CHAT_PINS_PER_CONVERSATION per conversation; pinning is a system message
("Alice pinned a message", as Slack posts) and a ``chat.pinned`` event,
unpinning a ``chat.unpinned`` event. A message that is deleted or hidden by
a moderator stops being pinned (chat.messages.services.pin_drop, which
message_delete and the moderators' message_hide call).
Called by the REST views (chat.messages.api); the list is
chat.messages.selectors.pinned_messages.

    message = message_pin(conversation_id=cid, user=user, message_id=mid)     # again: no change
    message = message_unpin(conversation_id=cid, user=user, message_id=mid)
"""

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from chat.conversations.groups import system_message
from chat.conversations.roles import Action, group_for
from chat.messages.services import member_message, unpin
from chat.models import ConversationMessage
from chat.realtime import events
from chat.realtime.groups import conversation_group
from core.errors import InvalidInput
from core.outbox import Outbox, with_outbox
from useraccount.models import User


def _pinnable(message: ConversationMessage) -> None:
    if message.is_deleted:
        raise InvalidInput("A deleted message cannot be pinned.", code="message_deleted")
    if message.is_moderated:
        raise InvalidInput("A message hidden by a moderator cannot be pinned.", code="message_moderated")
    if message.kind != ConversationMessage.TEXT:
        raise InvalidInput("A system message cannot be pinned.", code="system_message")


@with_outbox
def message_pin(*, conversation_id, user: User, message_id, outbox: Outbox) -> ConversationMessage:
    """
    Pin a message; pinning a pinned one changes nothing. Past
    CHAT_PINS_PER_CONVERSATION, InvalidInput ``too_many_pins``. The system
    message takes a seq through the posting rule, so a direct conversation
    a block closes refuses with ``blocked`` (or ``recipient_deleted``).
    """
    with transaction.atomic():
        # The message first, then the conversation: the order every write
        # that locks both takes (a forward locks its source message, then the
        # target conversation), so two cannot wait on each other.
        message = member_message(conversation_id=conversation_id, user=user, message_id=message_id)
        conversation = group_for(conversation_id=message.conversation_id, user=user, action=Action.PIN)
        _pinnable(message)
        if message.pinned_at is not None:
            return message
        # Counted under the conversation's lock (group_for), so two pins at
        # once cannot both take the last place.
        limit = settings.CHAT_PINS_PER_CONVERSATION
        if ConversationMessage.objects.filter(conversation=conversation, pinned_at__isnull=False).count() >= limit:
            raise InvalidInput(
                f"A conversation has at most {limit} pinned messages: unpin one first.", code="too_many_pins"
            )
        message.pinned_at, message.pinned_by = timezone.now(), user
        message.save(update_fields=["pinned_at", "pinned_by"])
        system_message(
            conversation, actor=user, body=f"{user.display_name} pinned a message", action="message_pinned",
            message_id=str(message.id), outbox=outbox,
        )
        outbox.emit(conversation_group(message.conversation_id), events.pinned(message))
    return message


@with_outbox
def message_unpin(*, conversation_id, user: User, message_id, outbox: Outbox) -> ConversationMessage:
    """Unpin a message (the same right as pinning); unpinning one that is not pinned changes nothing."""
    with transaction.atomic():
        message = member_message(conversation_id=conversation_id, user=user, message_id=message_id)
        group_for(conversation_id=message.conversation_id, user=user, action=Action.PIN)
        if message.pinned_at is None:
            return message
        unpin(message)
        outbox.emit(conversation_group(message.conversation_id), events.unpinned(message, by_id=user.id))
    return message
