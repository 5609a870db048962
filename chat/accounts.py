"""
The chat app's part of account changes, carried out through the hooks
useraccount calls (core.hooks), connected in ChatConfig.ready:

- ``account_deleting``: the user leaves every group (a "left" system
  message; an owned group passes on as when an owner leaves), and their push
  devices, scheduled messages (cancelled) and unsent uploads go. Direct
  conversations stay, so the other person keeps the history (closed:
  chat.rules). Their data exports go too, pending, building or built
  (chat.exports.services.exports_delete).
- ``block_changed``: the room sockets of the two users' direct conversation,
  if they have one, are told whether a block (either way) closes it now, so
  neither is shown the other's typing or presence while it does.
- ``status_changed``: a user's new status goes to the conversations their
  presence is announced in (not the direct ones a block closes), as a
  ``user.status`` event.
"""

from chat.attachments.services import attachments_delete_unsent
from chat.conversations.groups import conversation_remove_member
from chat.exports.services import exports_delete
from chat.models import (
    Attachment,
    Conversation,
    ConversationMember,
    PushDevice,
    ScheduledMessage,
    direct_conversation_key,
)
from chat.realtime import events
from chat.conversations.selectors import presence_conversation_ids
from chat.realtime.groups import conversation_group, room_group
from core.outbox import Outbox
from useraccount.models import User
from useraccount.selectors import blocked_between


def account_deleting(*, user: User, outbox: Outbox) -> None:
    """Inside the deletion's transaction, with the user anonymised already (the "left" messages name nobody)."""
    groups = ConversationMember.objects.filter(user=user, conversation__direct_key__isnull=True)
    for conversation_id in list(groups.values_list("conversation_id", flat=True)):
        conversation_remove_member(conversation_id=conversation_id, user=user, member_id=user.id, outbox=outbox)
    PushDevice.objects.filter(user=user).delete()
    # What they scheduled is not sent for them (and lets its uploads go, deleted next).
    pending = ScheduledMessage.objects.filter(sender=user, state=ScheduledMessage.PENDING)
    pending.update(state=ScheduledMessage.CANCELLED)
    Attachment.objects.filter(uploaded_by=user, scheduled__isnull=False).update(scheduled=None)
    attachments_delete_unsent(user=user)
    exports_delete(user=user)


def block_changed(*, blocker_id, blocked_id, outbox: Outbox) -> None:
    """Inside the transaction that made or lifted the block."""
    key = direct_conversation_key(blocker_id, blocked_id)
    conversation_id = Conversation.objects.filter(direct_key=key).values_list("id", flat=True).first()
    if conversation_id is not None:
        closed = blocked_between(first_id=blocker_id, second_id=blocked_id)
        event = events.conversation_blocked(
            conversation_id=conversation_id, user_ids=[blocker_id, blocked_id], closed=closed
        )
        outbox.emit(room_group(conversation_id), event)


def status_changed(*, user: User, event: dict, outbox: Outbox) -> None:
    """Inside the transaction that set or cleared the status: one event per conversation, after commit."""
    for conversation_id in presence_conversation_ids(user_id=user.id):
        outbox.emit(conversation_group(conversation_id), event)
