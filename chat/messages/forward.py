"""
Forwarding a message to other conversations of the user (WhatsApp's
forward, Slack's share). Called by the REST view (chat.messages.api).

Each copy is sent through the one send path (chat.messages.send.message_send
with ``forward_of``), so its seq, events, push job and the posting rule are
those of any message. Each target is its own transaction and its own
result: a target the user may not post in (not a member, ``blocked``,
``recipient_deleted``) fails alone, with the error a send there would get,
and the others are sent. What fails the whole request (nothing is sent) is
what no target could change: a bad list (``too_many_targets`` past
CHAT_FORWARD_MAX_TARGETS, ``invalid_targets``), a bad comment, a source the
user cannot see (404) or that cannot be forwarded (deleted, hidden by a
moderator, a system message).

A copy says whose message it was and when it was sent, never from which
conversation (its readers may not be members there); a copy of a copy keeps
the original's author. Files are shared, not copied (chat.attachments).

    results = message_forward(conversation_id=cid, user=user, message_id=mid, conversation_ids=[a, b], comment="fyi")
    # [ForwardResult(conversation_id=a, message=<copy>, comment=<comment>, error=None), ...]
"""

from dataclasses import dataclass

from django.conf import settings
from django.db import transaction

from chat.messages.send import message_send
from chat.messages.services import member_message
from chat.models import ConversationMessage
from chat.rules import validate_body
from core.errors import ApplicationError, InvalidInput
from core.outbox import Outbox, with_outbox
from core.validation import uuid_or_none
from useraccount.models import User


@dataclass(frozen=True)
class ForwardResult:
    """What happened in one target: the copy (and comment) sent, or the error that kept it out."""

    conversation_id: str
    message: ConversationMessage | None = None
    comment: ConversationMessage | None = None
    error: ApplicationError | None = None


def _targets(value) -> list:
    """The target ids, each once, in order; the whole request fails on anything else."""
    limit = settings.CHAT_FORWARD_MAX_TARGETS
    if not isinstance(value, list) or not value:
        raise InvalidInput(
            "conversation_ids must be a list of conversation ids.", code="invalid_targets", field="conversation_ids"
        )
    ids = list(dict.fromkeys(uuid_or_none(item) for item in value))
    if None in ids:
        raise InvalidInput(
            "conversation_ids must hold conversation ids.", code="invalid_targets", field="conversation_ids"
        )
    if len(ids) > limit:
        raise InvalidInput(
            f"A message is forwarded to at most {limit} conversations at once.",
            code="too_many_targets", field="conversation_ids",
        )
    return ids


def _forwardable(*, conversation_id, user: User, message_id) -> ConversationMessage:
    """The source, locked, if ``user`` is a member of its conversation and it may be forwarded."""
    message = member_message(conversation_id=conversation_id, user=user, message_id=message_id)
    if message.is_deleted:
        raise InvalidInput("A deleted message cannot be forwarded.", code="message_deleted")
    if message.is_moderated:
        raise InvalidInput("A message hidden by a moderator cannot be forwarded.", code="message_moderated")
    if message.kind != ConversationMessage.TEXT:
        raise InvalidInput("A system message cannot be forwarded.", code="system_message")
    return message


@with_outbox
def message_forward(
    *, conversation_id, user: User, message_id, conversation_ids, comment="", outbox: Outbox
) -> list[ForwardResult]:
    """
    Send a copy of a message to each conversation of ``conversation_ids``
    (then ``comment``, if any, as the user's own message there); one result
    per target, in order. See the module docstring for what fails a target
    and what fails the request.
    """
    targets = _targets(conversation_ids)
    comment = validate_body(comment) if comment else ""
    with transaction.atomic():
        _forwardable(conversation_id=conversation_id, user=user, message_id=message_id)
    results = []
    for target in targets:
        try:
            with transaction.atomic():
                # Locked again in each target's transaction: the source's files
                # stay while a copy takes them, and a source deleted meanwhile
                # is not copied.
                source = _forwardable(conversation_id=conversation_id, user=user, message_id=message_id)
                copy, _ = message_send(
                    conversation_id=target, sender=user, body=source.body, forward_of=source, outbox=outbox
                )
                said = None
                if comment:
                    said, _ = message_send(conversation_id=target, sender=user, body=comment, outbox=outbox)
        except ApplicationError as error:
            results.append(ForwardResult(conversation_id=str(target), error=error))
        else:
            results.append(ForwardResult(conversation_id=str(target), message=copy, comment=said))
    return results
