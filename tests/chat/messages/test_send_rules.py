"""
The posting rule (chat.rules) run both ways: every case through the
transactional send (``message_send``, any database) and through the socket's
send (``message_send_from_loop``: one statement from the event loop on
PostgreSQL), with the same outcome expected of both.
"""

import uuid
from io import BytesIO

import pytest
from channels.db import database_sync_to_async
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from chat.attachments.services import attachment_upload
from chat.messages.send import message_send, message_send_from_loop
from chat.models import Conversation, ConversationMember, ConversationMessage, direct_conversation_key
from core.errors import ApplicationError
from core.outbox import carry_out
from useraccount.models import Block
from useraccount.services import user_delete

pytestmark = pytest.mark.django_db(transaction=True)


async def transactional(**kwargs):
    return await database_sync_to_async(message_send)(**kwargs)


async def from_loop(**kwargs):
    return (await carry_out(message_send_from_loop, **kwargs))[0]


EXECUTORS = {"transactional": transactional, "from_loop": from_loop}


def _png() -> SimpleUploadedFile:
    data = BytesIO()
    Image.new("RGB", (4, 4)).save(data, "PNG")
    return SimpleUploadedFile("dot.png", data.getvalue(), content_type="image/png")


# Each case: the world it sets up, returning (conversation id, sender, send arguments), and what must come of it:
# ("sent", seq) or ("refused", error code). Setups are synchronous ORM code, run on a database thread.
def member(w):
    return w.direct.id, w.alice, {}


def group_member(w):
    return w.group.id, w.carol, {}


def outsider(w):
    return w.direct.id, w.carol, {}


def unknown_conversation(w):
    return uuid.uuid4(), w.alice, {}


def not_an_id(w):
    return "not-a-conversation", w.alice, {}


def blocked_by_sender(w):
    Block.objects.create(blocker=w.alice, blocked=w.bob)
    return w.direct.id, w.alice, {}


def blocked_by_peer(w):
    Block.objects.create(blocker=w.bob, blocked=w.alice)
    return w.direct.id, w.alice, {}


def block_in_a_group(w):
    Block.objects.create(blocker=w.bob, blocked=w.alice)
    return w.group.id, w.alice, {}


def deleted_peer(w):
    user_delete(user=w.bob)
    return w.direct.id, w.alice, {}


def missing_peer_row(w):
    lonely = Conversation.objects.create(direct_key=direct_conversation_key(w.alice.id, uuid.uuid4()))
    ConversationMember.objects.create(conversation=lonely, user=w.alice)
    return lonely.id, w.alice, {}


def duplicate_client_id(w):
    message_send(conversation_id=w.direct.id, sender=w.alice, body="first", client_id="same")
    return w.direct.id, w.alice, {"client_id": "same"}


def reply(w):
    replied, _ = message_send(conversation_id=w.direct.id, sender=w.bob, body="question")
    return w.direct.id, w.alice, {"reply_to": str(replied.id)}


def attachments(w):
    upload = attachment_upload(conversation_id=w.direct.id, user=w.alice, file=_png())
    return w.direct.id, w.alice, {"attachment_ids": [str(upload.id)], "body": ""}


def empty_body(w):
    return w.direct.id, w.alice, {"body": "   "}


CASES = [
    (member, ("sent", 1)),
    (group_member, ("sent", 1)),
    (outsider, ("refused", "not_found")),
    (unknown_conversation, ("refused", "not_found")),
    (not_an_id, ("refused", "not_found")),
    (blocked_by_sender, ("refused", "blocked")),
    (blocked_by_peer, ("refused", "blocked")),
    (block_in_a_group, ("sent", 1)),
    (deleted_peer, ("refused", "recipient_deleted")),
    (missing_peer_row, ("refused", "recipient_deleted")),
    (duplicate_client_id, ("resent", 1)),
    (reply, ("sent", 2)),
    (attachments, ("sent", 1)),
    (empty_body, ("refused", "empty_body")),
]


class World:
    def __init__(self, alice, bob, carol, direct, group):
        self.alice, self.bob, self.carol, self.direct, self.group = alice, bob, carol, direct, group


def _state(conversation_id, sender):
    """What a send may change: the conversation's last seq, its messages, the sender's read position."""
    conversation = Conversation.objects.filter(id=conversation_id).values_list("last_seq", flat=True).first() \
        if isinstance(conversation_id, uuid.UUID) else None
    read = ConversationMember.objects.filter(conversation_id=conversation_id, user=sender).values_list(
        "last_read_seq", flat=True).first() if isinstance(conversation_id, uuid.UUID) else None
    count = ConversationMessage.objects.filter(conversation_id=conversation_id).count() \
        if isinstance(conversation_id, uuid.UUID) else 0
    return conversation, read, count


@pytest.mark.parametrize("executor", EXECUTORS)
@pytest.mark.parametrize("setup, expected", CASES, ids=[case.__name__ for case, _ in CASES])
async def test_every_case_has_the_same_outcome_both_ways(executor, setup, expected, alice, bob, carol, direct, group):
    world = World(alice, bob, carol, direct, group)
    conversation_id, sender, arguments = await database_sync_to_async(setup)(world)
    before = await database_sync_to_async(_state)(conversation_id, sender)
    arguments = {"body": "hello", **arguments}
    try:
        message, created = await EXECUTORS[executor](conversation_id=conversation_id, sender=sender, **arguments)
    except ApplicationError as error:
        assert ("refused", error.code) == expected
        assert await database_sync_to_async(_state)(conversation_id, sender) == before, "a refusal writes nothing"
        return
    seq = message.seq
    assert ("sent" if created else "resent", seq) == expected
    last_seq, read, count = await database_sync_to_async(_state)(conversation_id, sender)
    if created:
        assert (last_seq, read, count) == (before[0] + 1, seq, before[2] + 1), "one seq, the sender has read it"
        saved = await database_sync_to_async(ConversationMessage.objects.get)(id=message.id)
        assert (saved.seq, saved.body, saved.created_by_id) == (seq, arguments["body"], sender.id)
        is_direct = conversation_id == direct.id
        assert saved.sent_to_id == (bob.id if is_direct and sender == alice else None)
        assert str(saved.reply_to_id) == arguments["reply_to"] if "reply_to" in arguments else saved.reply_to_id is None
        assert len(saved.attachment_summary) == len(arguments.get("attachment_ids", []))
    else:
        assert (last_seq, count) == (before[0], before[2]), "a resend takes no seq"
