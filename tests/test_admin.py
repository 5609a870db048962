"""The admin for support staff: finding conversations, messages and users, read-only messages."""

from datetime import datetime, timezone

import pytest
from django.test import Client

from chat.models import ConversationMessage
from chat.services import conversation_start_direct, message_send
from useraccount.models import User

pytestmark = pytest.mark.django_db



@pytest.fixture
def staff_client() -> Client:
    admin = User.objects.create_superuser(email="admin@example.com", password="admin-password-1")
    client = Client()
    client.force_login(admin)
    return client


def send(conversation, sender, body) -> ConversationMessage:
    return message_send(conversation_id=conversation.id, sender=sender, body=body)[0]


def listed(response) -> list:
    assert response.status_code == 200
    return list(response.context["cl"].result_list)


CONVERSATIONS = "/admin/chat/conversation/"
MESSAGES = "/admin/chat/conversationmessage/"
USERS = "/admin/useraccount/user/"


# --- Conversations --------------------------------------------------------------------------


def test_conversation_changelist_lists_conversations_with_participants(
    staff_client, alice, bob, direct
):
    response = staff_client.get(CONVERSATIONS)
    assert listed(response) == [direct]
    assert f"{alice.email}, {bob.email}".encode() in response.content or (
        f"{bob.email}, {alice.email}".encode() in response.content
    )


def test_conversation_changelist_search_by_participant_email(
    staff_client, alice, carol, direct, group, make_user
):
    conversation_start_direct(user=make_user("Dave"), other_user_id=make_user("Erin").id)
    assert listed(staff_client.get(CONVERSATIONS, {"q": carol.email})) == [group]
    assert set(listed(staff_client.get(CONVERSATIONS, {"q": alice.email.upper()}))) == {direct, group}


def test_conversation_search_matching_several_members_lists_each_conversation_once(
    staff_client, direct, group
):
    found = listed(staff_client.get(CONVERSATIONS, {"q": "example.com"}))
    assert sorted(c.id for c in found) == sorted([direct.id, group.id])


def test_conversation_changelist_search_by_id(staff_client, direct, group):
    assert listed(staff_client.get(CONVERSATIONS, {"q": str(group.id)})) == [group]


def test_conversation_change_page_shows_participants_and_messages_read_only(
    staff_client, alice, bob, carol, group
):
    send(group, alice, "Lunch at noon?")
    send(group, carol, "Only if there is pie")
    response = staff_client.get(f"{CONVERSATIONS}{group.id}/change/")
    assert response.status_code == 200
    content = response.content.decode()
    for user in (alice, bob, carol):
        assert f"/admin/useraccount/user/{user.id}/change/" in content
        assert user.name in content
    assert "Lunch at noon?" in content
    assert "Only if there is pie" in content
    # Read-only: the inline rows render text, not form fields for the body or sender.
    assert 'name="messages-0-body"' not in content
    assert 'name="messages-0-created_by"' not in content
    assert 'name="members-0-user"' not in content
    for prefix in ("members", "messages"):
        assert f'name="{prefix}-MAX_NUM_FORMS" value="0"' in content, "no rows can be added"


def test_conversation_cannot_be_added_in_admin(staff_client):
    assert staff_client.get(f"{CONVERSATIONS}add/").status_code == 403


# --- Messages ---------------------------------------------------------------------------------


@pytest.fixture
def messages(alice, bob, carol, direct, group):
    """A message from Alice in the direct conversation and one each from Bob and Carol in the group."""
    return {
        "alice": send(direct, alice, "Pineapple on pizza?"),
        "bob": send(group, bob, "Meeting moved to Friday"),
        "carol": send(group, carol, "Fine by me"),
    }


def test_message_changelist_search_by_body(staff_client, messages):
    assert listed(staff_client.get(MESSAGES, {"q": "pineapple"})) == [messages["alice"]]


def test_message_changelist_search_finds_words_as_the_api_does(staff_client, messages):
    assert listed(staff_client.get(MESSAGES, {"q": "friday meeting"})) == [messages["bob"]]
    assert listed(staff_client.get(MESSAGES, {"q": "x" * 300})) == []


def test_message_changelist_search_by_sender_email(staff_client, bob, messages):
    assert listed(staff_client.get(MESSAGES, {"q": bob.email})) == [messages["bob"]]


def test_message_changelist_filter_by_conversation(staff_client, group, messages):
    found = listed(staff_client.get(MESSAGES, {"conversation__id__exact": str(group.id)}))
    assert set(found) == {messages["bob"], messages["carol"]}


@pytest.fixture
def dated_messages(messages):
    """Alice's message on 2024-01-15, Bob's on 2024-03-02, Carol's today."""
    ConversationMessage.objects.filter(id=messages["alice"].id).update(
        created_at=datetime(2024, 1, 15, 12, tzinfo=timezone.utc)
    )
    ConversationMessage.objects.filter(id=messages["bob"].id).update(
        created_at=datetime(2024, 3, 2, 9, tzinfo=timezone.utc)
    )
    return messages


def test_message_changelist_filter_by_date_range(staff_client, dated_messages):
    found = listed(
        staff_client.get(
            MESSAGES,
            {
                "created_at__gte": "2024-01-01 00:00:00+00:00",
                "created_at__lt": "2024-02-01 00:00:00+00:00",
            },
        )
    )
    assert found == [dated_messages["alice"]]


def test_message_changelist_date_hierarchy(staff_client, dated_messages):
    assert listed(staff_client.get(MESSAGES, {"created_at__year": 2024, "created_at__month": 3})) == [
        dated_messages["bob"]
    ]
    assert set(listed(staff_client.get(MESSAGES, {"created_at__year": 2024}))) == {
        dated_messages["alice"], dated_messages["bob"],
    }


def test_message_changelist_newest_first(staff_client, dated_messages):
    assert listed(staff_client.get(MESSAGES)) == [
        dated_messages["carol"], dated_messages["bob"], dated_messages["alice"],
    ]


def test_message_change_page_is_read_only(staff_client, messages):
    message = messages["bob"]
    url = f"{MESSAGES}{message.id}/change/"
    response = staff_client.get(url)
    assert response.status_code == 200
    assert "Meeting moved to Friday" in response.content.decode()
    assert 'name="body"' not in response.content.decode()
    assert staff_client.post(url, {"body": "Edited by support"}).status_code == 403
    message.refresh_from_db()
    assert message.body == "Meeting moved to Friday"


def test_message_cannot_be_added_in_admin(staff_client):
    assert staff_client.get(f"{MESSAGES}add/").status_code == 403


# --- Users ------------------------------------------------------------------------------------


def test_user_changelist_search_by_email(staff_client, alice, bob, carol):
    assert listed(staff_client.get(USERS, {"q": bob.email})) == [bob]
    assert listed(staff_client.get(USERS, {"q": carol.email.upper()})) == [carol]


def test_non_staff_user_is_sent_to_admin_login(client, alice):
    client.force_login(alice)
    response = client.get(CONVERSATIONS)
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def add_user_in_admin(staff_client, email):
    return staff_client.post(
        f"{USERS}add/",
        {
            "email": email,
            "name": "Zed",
            "usable_password": "true",
            "password1": "violet-tugboat-sings-42",
            "password2": "violet-tugboat-sings-42",
        },
    )


def test_user_added_in_admin_with_mixed_case_email_can_log_in(staff_client, client_for):
    response = add_user_in_admin(staff_client, " Zed@Example.COM ")
    assert response.status_code == 302
    assert User.objects.get(name="Zed").email == "zed@example.com"
    login = client_for().post(
        "/api/auth/login/", {"email": "Zed@Example.com", "password": "violet-tugboat-sings-42"}, format="json"
    )
    assert login.status_code == 200


def test_user_added_in_admin_with_taken_email_in_other_case_is_refused(staff_client, make_user):
    make_user("Zed", email="zed@example.com")
    response = add_user_in_admin(staff_client, "ZED@example.com")
    assert response.status_code == 200
    assert "email" in response.context["adminform"].form.errors
    assert User.objects.filter(email__iexact="zed@example.com").count() == 1
