"""
Drafts: what a member was writing in a conversation and has not sent, kept
per member (``ConversationMember.draft``) so that another device of theirs
picks it up. Saving or deleting one tells every socket of the user (their
group) with a ``draft.updated`` frame: notifications sockets, and room
sockets of that conversation. The conversation list carries each
conversation's ``draft`` for the caller (read in the list's own query).

Sending a message clears the sender's draft of that conversation, in the same
write that moves their read position (chat.rules.mark_own_read: no query of
its own on the send path); no ``draft.updated`` goes out for it: the user's
other sockets see their message arrive, which is the signal to drop the draft
(docs/protocol.md, "Drafts"). A scheduled message does not clear it.

    draft_save(conversation_id=cid, user=me, body="Half a thought")
    draft_get(conversation_id=cid, user=me)      # {"body", "updated_at"} or None
    draft_save(conversation_id=cid, user=me, body="")   # deleting it
"""

from datetime import datetime

from django.conf import settings
from django.utils import timezone

from chat.messages.serializers import timestamp
from chat.models import ConversationMember
from chat.rules import parse_conversation_id
from core.errors import InvalidInput, NotFound
from core.events import dumps
from core.groups import user_group
from core.outbox import Outbox, with_outbox
from core.validation import storable_text
from useraccount.models import User


def draft_data(body: str | None, updated_at: datetime | None) -> dict | None:
    """A draft as JSON shows it; None without one."""
    return {"body": body, "updated_at": timestamp(updated_at)} if body else None


def draft_event(*, conversation_id, draft: dict | None) -> dict:
    """``draft.updated`` for the user's group: their draft of a conversation as it is now (None: none)."""
    frame = {"type": "draft.updated", "conversation_id": str(conversation_id), "draft": draft}
    return {"type": "draft.updated", "conversation_id": str(conversation_id), "text": dumps(frame)}


def _membership(*, conversation_id, user: User):
    parsed = parse_conversation_id(conversation_id)
    return ConversationMember.objects.filter(conversation_id=parsed, user=user)


def draft_get(*, conversation_id, user: User) -> dict | None:
    """The user's draft of the conversation (None: none); NotFound unless they are a member."""
    row = _membership(conversation_id=conversation_id, user=user).values_list("draft", "draft_updated_at").first()
    if row is None:
        raise NotFound("No such conversation.")
    return draft_data(*row)


def _validate(body) -> str:
    if not isinstance(body, str) or not storable_text(body):
        raise InvalidInput("The draft must be text (no NUL).", code="invalid_draft", field="body")
    limit = settings.CHAT_DRAFT_MAX_LENGTH
    if len(body) > limit:
        raise InvalidInput(f"The draft is longer than {limit} characters.", code="draft_too_long", field="body")
    return body if body.strip() else ""


@with_outbox
def draft_save(*, conversation_id, user: User, body, outbox: Outbox) -> dict | None:
    """Keep the user's draft (blank: delete it) and tell their sockets; returns the draft as now kept."""
    body = _validate(body)
    now = timezone.now() if body else None
    membership = _membership(conversation_id=conversation_id, user=user)
    if not membership.update(draft=body, draft_updated_at=now):
        raise NotFound("No such conversation.")
    draft = draft_data(body, now)
    outbox.emit(user_group(user.id), draft_event(conversation_id=parse_conversation_id(conversation_id), draft=draft))
    return draft
