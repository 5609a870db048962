"""
Conversations (Alice and Bob's direct one, the "Team" group of the three)
and the messages in them, made through the services (sync code only).
"""

import pytest

UNKNOWN_ID = "00000000-0000-0000-0000-000000000000"


@pytest.fixture
def direct(alice, bob):
    """The direct conversation between Alice and Bob."""
    from chat.services import conversation_start_direct

    conversation, _ = conversation_start_direct(user=alice, other_user_id=bob.id)
    return conversation


@pytest.fixture
def group(alice, bob, carol):
    """A group conversation of Alice, Bob and Carol."""
    from chat.services import conversation_create_group

    return conversation_create_group(creator=alice, user_ids=[bob.id, carol.id], title="Team")[0]


def send(conversation, sender, body="hello", **fields) :
    from chat.services import message_send

    return message_send(conversation_id=conversation.id, sender=sender, body=body, **fields)[0]


def send_many(conversation, sender, count: int) -> None:
    for n in range(1, count + 1):
        send(conversation, sender, f"message {n}")


def post_message(client, conversation, body="hello", **fields):
    """POST a message over REST; the response."""
    return client.post(f"/api/chat/{conversation.id}/messages/", {"body": body, **fields}, format="json")


def last_read_seq(conversation, user) -> int:
    from chat.models import ConversationMember

    return ConversationMember.objects.get(conversation=conversation, user=user).last_read_seq
