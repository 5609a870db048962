"""
factory_boy factories for the rows tests need. Conversations, messages,
attachments and reports are made through the services (chat's domain packages), as
the application makes them, so members, ``seq`` and ``last_seq`` are always
consistent; blocks and push devices are plain rows.

    alice = UserFactory(name="Alice")
    group = GroupConversationFactory(creator=alice, members=[bob, carol], title="Team")
    MessageFactory(conversation=group, sender=bob, body="hi")   # seq 1, through message_send
    bulk_messages(group, [alice, bob], 5000)                    # seq 2 to 5001, in one INSERT per 500
    ReportFactory(reporter=alice, message=message, reason="spam")
"""

import factory
from django.core.files.uploadedfile import SimpleUploadedFile

from chat.attachments.services import attachment_upload
from chat.conversations.services import conversation_create_group
from chat.conversations.services import conversation_start_direct
from chat.messages.send import message_send
from chat.moderation.services import report_create
from chat.models import Attachment, Conversation, ConversationMessage, PushDevice, Report
from useraccount.models import Block, User

PASSWORD = "correct-horse-battery-staple"


class UserFactory(factory.django.DjangoModelFactory):
    """A user with PASSWORD (``is_superuser=True`` for staff with every permission)."""

    class Meta:
        model = User
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"User {n}")
    email = factory.LazyAttributeSequence(lambda user, n: f"{user.name.lower().replace(' ', '.')}.{n}@example.com")
    password = PASSWORD

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        """Through the manager, which hashes the password (create_superuser with ``is_superuser``)."""
        manager = cls._get_manager(model_class)
        make = manager.create_superuser if kwargs.pop("is_superuser", False) else manager.create_user
        return make(*args, **kwargs)


class DirectConversationFactory(factory.Factory):
    """The direct conversation of ``user`` and ``other`` (conversation_start_direct)."""

    class Meta:
        model = Conversation

    user = factory.SubFactory(UserFactory)
    other = factory.SubFactory(UserFactory)

    @classmethod
    def _create(cls, model_class, *, user, other):
        return conversation_start_direct(user=user, other_user_id=other.id)[0]


class GroupConversationFactory(factory.Factory):
    """A group of ``creator`` and ``members`` (two new users unless given; conversation_create_group)."""

    class Meta:
        model = Conversation

    creator = factory.SubFactory(UserFactory)
    members = factory.LazyFunction(lambda: UserFactory.create_batch(2))
    title = ""

    @classmethod
    def _create(cls, model_class, *, creator, members, title):
        return conversation_create_group(
            creator=creator, user_ids=[member.id for member in members], title=title
        )[0]


class MessageFactory(factory.Factory):
    """A message sent through message_send: the conversation's next seq, its events."""

    class Meta:
        model = ConversationMessage

    conversation = factory.SubFactory(DirectConversationFactory)
    sender = factory.LazyAttribute(lambda message: message.conversation.users.order_by("date_joined").first())
    body = "hello"

    @classmethod
    def _create(cls, model_class, *, conversation, sender, **fields):
        return message_send(conversation_id=conversation.id, sender=sender, **fields)[0]


def bulk_messages(conversation: Conversation, sender: User | list[User], count: int, bodies=None) -> None:
    """
    ``count`` plain messages after the conversation's last, written in one go
    (test data for pages and catch-up, not the send path: no events): "message
    <seq>", or taken in turn from ``bodies``; from ``sender``, or from each of a
    list of senders in turn. The seqs follow the conversation's ``last_seq``
    and move it on, as message_send would.
    """
    senders = sender if isinstance(sender, list) else [sender]
    first = Conversation.objects.values_list("last_seq", flat=True).get(id=conversation.id) + 1
    ConversationMessage.objects.bulk_create(
        [ConversationMessage(conversation=conversation, seq=seq, created_by=senders[seq % len(senders)],
                             body=bodies[seq % len(bodies)] if bodies else f"message {seq}")
         for seq in range(first, first + count)],
        batch_size=500,
    )
    Conversation.objects.filter(id=conversation.id).update(last_seq=first + count - 1)
    conversation.refresh_from_db()


class AttachmentFactory(factory.Factory):
    """A file ``user`` uploaded to ``conversation`` (attachment_upload), for a message to carry."""

    class Meta:
        model = Attachment

    conversation = factory.SubFactory(DirectConversationFactory)
    user = factory.LazyAttribute(lambda attachment: attachment.conversation.users.order_by("date_joined").first())
    file = factory.LazyFunction(lambda: SimpleUploadedFile("notes.txt", b"plain text\n", content_type="text/plain"))

    @classmethod
    def _create(cls, model_class, *, conversation, user, file):
        return attachment_upload(conversation_id=conversation.id, user=user, file=file)


class ReportFactory(factory.Factory):
    """``reporter``'s report of a message or of a user (report_create)."""

    class Meta:
        model = Report

    reporter = factory.SubFactory(UserFactory)
    reason = "spam"
    message = None
    user = None

    @classmethod
    def _create(cls, model_class, *, reporter, reason, message, user, **fields):
        return report_create(
            reporter=reporter, reason=reason, message_id=message and message.id, user_id=user and user.id, **fields
        )[0]


class BlockFactory(factory.django.DjangoModelFactory):
    """``blocker`` has blocked ``blocked``: the row alone, without user_block's events (useraccount.services)."""

    class Meta:
        model = Block

    blocker = factory.SubFactory(UserFactory)
    blocked = factory.SubFactory(UserFactory)


class PushDeviceFactory(factory.django.DjangoModelFactory):
    """An app's FCM registration token for ``user``."""

    class Meta:
        model = PushDevice

    user = factory.SubFactory(UserFactory)
    kind = PushDevice.FCM
    address = factory.Sequence(lambda n: f"phone-{n}")
