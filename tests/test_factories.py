"""The factories make rows as the application does: members, seq and last_seq agree."""

import pytest

from chat.models import ConversationMember
from tests.factories import (
    AttachmentFactory,
    DirectConversationFactory,
    GroupConversationFactory,
    MessageFactory,
    ReportFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def test_a_group_has_its_creator_and_members():
    creator, member = UserFactory(name="Ada"), UserFactory()
    group = GroupConversationFactory(creator=creator, members=[member], title="Pair")
    assert set(ConversationMember.objects.filter(conversation=group).values_list("user", flat=True)) == {
        creator.id, member.id,
    }
    assert group.title == "Pair" and creator.email.startswith("ada.")


def test_messages_take_the_conversations_next_seq():
    direct = DirectConversationFactory()
    first, second = MessageFactory(conversation=direct), MessageFactory(conversation=direct, body="again")
    direct.refresh_from_db()
    assert (first.seq, second.seq, direct.last_seq) == (1, 2, 2)


def test_attachments_and_reports_go_through_their_services():
    message = MessageFactory()
    attachment = AttachmentFactory(conversation=message.conversation)
    assert attachment.message is None and attachment.uploaded_by == message.created_by
    other = message.conversation.users.exclude(id=message.created_by_id).get()
    report = ReportFactory(reporter=other, message=message)
    assert (report.user, report.reason) == (message.created_by, "spam")


def test_a_superuser_is_staff_and_signs_in_with_the_password():
    admin = UserFactory(is_superuser=True, password="admin-password-1")
    assert admin.is_staff and admin.check_password("admin-password-1")
