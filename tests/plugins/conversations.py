"""
Conversations (Alice and Bob's direct one, the "Team" group of the three)
and the messages in them, made through the services (sync code only).
"""

import pytest

from tests.factories import DirectConversationFactory, GroupConversationFactory, MessageFactory

UNKNOWN_ID = "00000000-0000-0000-0000-000000000000"


@pytest.fixture
def direct(alice, bob):
    """The direct conversation between Alice and Bob."""
    return DirectConversationFactory(user=alice, other=bob)


@pytest.fixture
def group(alice, bob, carol):
    """A group conversation of Alice, Bob and Carol."""
    return GroupConversationFactory(creator=alice, members=[bob, carol], title="Team")


def send(conversation, sender, body="hello", **fields):
    """A message sent through the service (MessageFactory): ``send(direct, bob, "hi")``."""
    return MessageFactory(conversation=conversation, sender=sender, body=body, **fields)


def send_many(conversation, sender, count: int) -> None:
    for n in range(1, count + 1):
        send(conversation, sender, f"message {n}")


def post_message(client, conversation, body="hello", **fields):
    """POST a message over REST; the response."""
    return client.post(f"/api/chat/{conversation.id}/messages/", {"body": body, **fields}, format="json")


def last_read_seq(conversation, user) -> int:
    from chat.models import ConversationMember

    return ConversationMember.objects.get(conversation=conversation, user=user).last_read_seq
