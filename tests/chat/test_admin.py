"""
The admin for support staff: conversation pages that read like the chat,
paged however long the conversation; lists that find conversations, messages
and users without listing every row in a filter; everything read-only.
"""

import re
from datetime import datetime, timezone

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone as django_timezone

from chat.conversations.admin import ConversationAdmin
from chat.models import Attachment, ConversationMember, ConversationMessage
from chat.conversations.groups import conversation_rename
from chat.messages.services import message_delete, message_edit
from chat.messages.send import message_send
from chat.messages.reactions import reaction_add
from tests.factories import (
    AttachmentFactory,
    DirectConversationFactory,
    GroupConversationFactory,
    UserFactory,
    bulk_messages,
)
from useraccount.models import User

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def staff_user() -> User:
    return UserFactory(email="admin@example.com", password="admin-password-1", name="Sam Support", is_superuser=True)


@pytest.fixture
def staff_client(staff_user) -> Client:
    client = Client()
    client.force_login(staff_user)
    return client


def send(conversation, sender, body, **fields) -> ConversationMessage:
    return message_send(conversation_id=conversation.id, sender=sender, body=body, **fields)[0]


def listed(response) -> list:
    assert response.status_code == 200
    return list(response.context["cl"].result_list)


def conversation_of_every_kind(group, alice, bob, carol, moderator, emoji="👍") -> dict[str, ConversationMessage]:
    """
    In ``group``: a question, a reply with a reaction (``emoji``), a file, an
    edited message, a deleted one, a moderated one, and a system message (the rename).
    """
    question = send(group, alice, "Lunch at noon?")
    reply = send(group, bob, "Only if there is pie", reply_to=str(question.id))
    reaction_add(conversation_id=group.id, user=alice, message_id=reply.id, emoji=emoji)
    upload = AttachmentFactory(conversation=group, user=carol,
                               file=SimpleUploadedFile("menu.pdf", PDF, content_type="application/pdf"))
    with_file = send(group, carol, "Here is the menu", attachment_ids=[str(upload.id)])
    edited = send(group, alice, "See you at 12")
    message_edit(conversation_id=group.id, user=alice, message_id=edited.id, body="See you at 12:30")
    deleted = send(group, bob, "oops, wrong chat")
    message_delete(conversation_id=group.id, user=bob, message_id=deleted.id)
    moderated = send(group, carol, "Something rude")
    # How the moderation queue hides a message: marked, its body kept for staff.
    ConversationMessage.objects.filter(id=moderated.id).update(moderated_at=django_timezone.now(),
                                                             moderated_by=moderator)
    conversation_rename(conversation_id=group.id, user=alice, title="Lunch club")
    system = ConversationMessage.objects.get(conversation=group, kind=ConversationMessage.SYSTEM)
    group.refresh_from_db()
    return {"question": question, "reply": reply, "with_file": with_file, "edited": edited, "deleted": deleted,
            "moderated": moderated, "system": system, "upload": upload}


def rows(content: str) -> list[int]:
    """The seqs of the transcript's rows, in page order."""
    import re

    return [int(seq) for seq in re.findall(r'data-seq="(\d+)" data-testid="message"', content)]


def query_count(client, url) -> tuple[int, bytes]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries), response.content


CONVERSATIONS = "/admin/chat/conversation/"
MESSAGES = "/admin/chat/conversationmessage/"
USERS = "/admin/useraccount/user/"
ATTACHMENTS = "/admin/chat/attachment/"


def page_of(conversation) -> str:
    return f"{CONVERSATIONS}{conversation.id}/change/"


# --- The conversation list --------------------------------------------------------------------


def test_conversation_list_shows_kind_names_member_count_and_activity(staff_client, alice, bob, direct, group):
    send(group, alice, "hi")
    response = staff_client.get(CONVERSATIONS)
    assert set(listed(response)) == {direct, group}
    content = response.content.decode()
    # A direct conversation goes by its members' names, never its UUID; a group by its title.
    assert ">Alice &amp; Bob</a>" in content
    assert ">Team</a>" in content
    assert '<td class="field-kind">direct</td>' in content
    assert '<td class="field-kind">group</td>' in content
    assert '<td class="field-members">Alice, Bob, Carol</td>' in content
    assert '<td class="field-member_count">3</td>' in content
    assert '<td class="field-message_count">1</td>' in content
    assert 'class="field-last_activity' in content


def test_conversation_list_names_a_few_members_of_a_big_group_and_counts_the_rest(staff_client, make_user):
    creator = make_user("Aaron")
    others = [make_user(f"Member {n:02}") for n in range(9)]
    GroupConversationFactory(creator=creator, members=others)
    content = staff_client.get(CONVERSATIONS).content.decode()
    assert "Aaron, Member 00, Member 01, Member 02 and 6 more" in content
    assert '<td class="field-member_count">10</td>' in content


def test_conversation_list_takes_the_same_queries_for_three_conversations_as_for_thirty(staff_client, make_user):
    def add_conversations(count):
        for _ in range(count):
            GroupConversationFactory()

    add_conversations(3)
    few, _ = query_count(staff_client, CONVERSATIONS)
    add_conversations(27)
    many, content = query_count(staff_client, CONVERSATIONS)
    assert many == few
    assert content.count(b'class="field-kind"') == 30


def test_conversation_list_is_paged(staff_client, make_user):
    owner, other = make_user(), make_user()
    for _ in range(ConversationAdmin.list_per_page + 1):
        GroupConversationFactory(creator=owner, members=[other])
    assert len(listed(staff_client.get(CONVERSATIONS))) == ConversationAdmin.list_per_page
    assert len(listed(staff_client.get(CONVERSATIONS, {"p": 2}))) == 1


def test_conversation_list_search_by_member_email_name_or_title(
    staff_client, alice, carol, direct, group, make_user
):
    DirectConversationFactory(user=make_user("Dave"), other=make_user("Erin"))
    assert listed(staff_client.get(CONVERSATIONS, {"q": carol.email})) == [group]
    assert set(listed(staff_client.get(CONVERSATIONS, {"q": alice.email.upper()}))) == {direct, group}
    assert listed(staff_client.get(CONVERSATIONS, {"q": "carol"})) == [group]
    assert listed(staff_client.get(CONVERSATIONS, {"q": "team"})) == [group]


def test_conversation_search_matching_several_members_lists_each_conversation_once(
    staff_client, direct, group
):
    found = listed(staff_client.get(CONVERSATIONS, {"q": "example.com"}))
    assert sorted(c.id for c in found) == sorted([direct.id, group.id])
    # And the member count is not multiplied by the search's join on members.
    searched = staff_client.get(CONVERSATIONS, {"q": "example.com"}).content.decode()
    assert '<td class="field-member_count">3</td>' in searched


def test_conversation_changelist_search_by_id(staff_client, direct, group):
    assert listed(staff_client.get(CONVERSATIONS, {"q": str(group.id)})) == [group]


def test_conversation_list_filters_by_kind_and_member(staff_client, alice, carol, direct, group):
    assert listed(staff_client.get(CONVERSATIONS, {"kind": "direct"})) == [direct]
    assert listed(staff_client.get(CONVERSATIONS, {"kind": "group"})) == [group]
    assert listed(staff_client.get(CONVERSATIONS, {"users__id__exact": str(carol.id)})) == [group]


def test_member_filter_is_an_autocomplete_not_a_list_of_every_user(staff_client, direct, make_user):
    bystander = make_user("Zelda Nobody")
    content = staff_client.get(CONVERSATIONS).content.decode()
    assert 'class="django-admin-list-filter-ajax"' in content
    assert 'data-field-name="users"' in content
    assert bystander.name not in content
    # The autocomplete it asks finds users by name.
    found = staff_client.get("/admin/autocomplete/", {
        "app_label": "chat", "model_name": "conversation", "field_name": "users", "term": "zelda",
    }).json()
    assert [item["id"] for item in found["results"]] == [str(bystander.id)]


def test_conversations_cannot_be_added_changed_or_deleted_in_admin(staff_client, group):
    assert staff_client.get(f"{CONVERSATIONS}add/").status_code == 403
    assert staff_client.post(page_of(group), {"title": "Renamed by support"}).status_code == 403
    assert staff_client.post(f"{CONVERSATIONS}{group.id}/delete/", {"post": "yes"}).status_code == 403
    group.refresh_from_db()
    assert group.title == "Team"
    content = staff_client.get(page_of(group)).content.decode()
    assert 'name="_save"' not in content and "deletelink" not in content


# --- A conversation's page ----------------------------------------------------------------------


def test_conversation_page_names_the_conversation_and_lists_members_read_only(
    staff_client, alice, bob, carol, group
):
    response = staff_client.get(page_of(group))
    assert response.status_code == 200
    content = response.content.decode()
    assert "Team (group)" in content
    for user in (alice, bob, carol):
        assert f"/admin/useraccount/user/{user.id}/change/" in content
        assert user.email in content
    assert 'name="members-0-user"' not in content
    assert 'name="members-0-last_read_seq"' not in content
    assert 'name="members-MAX_NUM_FORMS" value="0"' in content, "no members can be added"


def test_the_members_list_shows_roles_and_delivered_positions(staff_client, alice, bob, carol, group):
    ConversationMember.objects.filter(conversation=group, user=bob).update(role="admin", delivered_seq=7)
    content = staff_client.get(page_of(group)).content.decode()
    rows = re.findall(r'<td class="field-email">\s*<p>([^<]+)</p>.*?<td class="field-group_role">\s*<p>(\w+)</p>',
                      content, re.S)
    assert sorted(rows) == sorted([(alice.email, "owner"), (bob.email, "admin"), (carol.email, "member")])
    assert re.search(r'<td class="field-delivered_seq">\s*<p>7</p>', content)


def test_direct_conversation_page_is_named_after_its_members(staff_client, direct):
    assert "Alice &amp; Bob (direct)" in staff_client.get(page_of(direct)).content.decode()


def test_conversation_page_reads_like_the_chat(staff_client, staff_user, alice, bob, carol, group):
    sent = conversation_of_every_kind(group, alice, bob, carol, staff_user)
    content = staff_client.get(page_of(group)).content.decode()
    assert rows(content) == [1, 2, 3, 4, 5, 6, 7], "oldest first"

    def row(message) -> str:
        start = content.index(f'id="seq-{message.seq}"')
        ends = [content.find(end, start + 1) for end in ('<li id="seq-', "</ol>")]
        return content[start:min(end for end in ends if end > 0)]

    question = row(sent["question"])
    assert "Alice" in question and "Lunch at noon?" in question
    when = django_timezone.localtime(sent["question"].created_at).strftime("%Y-%m-%d %H:%M:%S")
    assert when in question, "the time, to the second"
    reply = row(sent["reply"])
    assert 'data-testid="reply"' in reply and "#1</a> by Alice" in reply and "Only if there is pie" in reply
    assert '<li data-testid="reaction">👍 1</li>' in reply
    with_file = row(sent["with_file"])
    assert f'href="/admin/chat/attachment/{sent["upload"].id}/download/">menu.pdf</a>' in with_file
    edited = row(sent["edited"])
    assert 'data-testid="marker-edited"' in edited and "See you at 12:30" in edited
    deleted = row(sent["deleted"])
    assert 'data-testid="marker-deleted"' in deleted and "Deleted by its author" in deleted
    assert "oops" not in deleted
    moderated = row(sent["moderated"])
    assert 'data-testid="marker-moderated"' in moderated and "by Sam Support" in moderated
    assert "Something rude" in moderated, "staff still read a moderated message"
    system = row(sent["system"])
    assert 'data-testid="marker-system"' in system and "Alice renamed the group to “Lunch club”" in system
    for message in (sent["question"], sent["reply"], sent["with_file"]):
        assert "data-testid=\"marker-" not in row(message)
    # The file itself downloads from the link.
    download = staff_client.get(f"{ATTACHMENTS}{sent['upload'].id}/download/")
    assert download.status_code == 200 and b"".join(download.streaming_content) == PDF


def test_conversation_page_shows_the_newest_page_of_a_long_conversation(staff_client, alice, group):
    bulk_messages(group, alice, 250)
    content = staff_client.get(page_of(group)).content.decode()
    assert rows(content) == list(range(201, 251))
    assert "Messages 201–250 of 250, oldest first" in content
    assert 'href="?page=2#transcript">‹ older</a>' in content
    assert 'href="?page=1#transcript">1</a>' in content
    assert "newer ›" not in content


def test_conversation_page_links_to_every_page_and_pages_oldest_first(staff_client, alice, group):
    bulk_messages(group, alice, 250)
    first = staff_client.get(page_of(group), {"page": 1}).content.decode()
    assert rows(first) == list(range(1, 101))
    assert 'href="?page=2#transcript">newer ›</a>' in first
    assert 'href="?page=3#transcript">3</a>' in first
    assert rows(staff_client.get(page_of(group), {"page": 2}).content.decode()) == list(range(101, 201))
    assert rows(staff_client.get(page_of(group), {"page": 99}).content.decode()) == list(range(201, 251))
    assert rows(staff_client.get(page_of(group), {"page": "x"}).content.decode()) == list(range(1, 101))


def test_conversation_page_at_a_seq_opens_the_page_holding_it(staff_client, alice, group):
    bulk_messages(group, alice, 250)
    content = staff_client.get(page_of(group), {"seq": 150}).content.decode()
    assert rows(content) == list(range(101, 201))
    assert 'id="seq-150" data-seq="150" data-testid="message"\n        class="message text target"' in content


def test_conversation_page_of_five_thousand_messages_is_bounded_in_size_and_queries(staff_client, alice, group):
    bulk_messages(group, alice, 150)
    staff_client.get(page_of(group))  # a process's first admin page fills caches once (content types)
    short_queries, short_page = query_count(staff_client, f"{page_of(group)}?page=1")
    bulk_messages(group, alice, 4850)
    long_queries, long_page = query_count(staff_client, page_of(group))
    first_queries, first_page = query_count(staff_client, f"{page_of(group)}?page=1")
    assert long_queries == short_queries == first_queries
    assert long_queries <= 12
    assert rows(long_page.decode()) == list(range(4901, 5001))
    assert rows(first_page.decode()) == list(range(1, 101))
    # A page of 100 short messages, whatever the length of the conversation: tens of kB, not megabytes.
    assert len(long_page) < 100_000
    assert abs(len(long_page) - len(short_page)) < 5_000


def test_message_rows_link_to_their_own_page_and_sender(staff_client, alice, group):
    message = send(group, alice, "hello")
    content = staff_client.get(page_of(group)).content.decode()
    assert f'href="{MESSAGES}{message.id}/change/"' in content
    assert f'class="sender" href="{USERS}{alice.id}/change/">Alice</a>' in content


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


def test_message_cannot_be_added_or_deleted_in_admin(staff_client, messages):
    assert staff_client.get(f"{MESSAGES}add/").status_code == 403
    message = messages["bob"]
    assert staff_client.post(f"{MESSAGES}{message.id}/delete/", {"post": "yes"}).status_code == 403
    assert ConversationMessage.objects.filter(id=message.id).exists()
    content = staff_client.get(f"{MESSAGES}{message.id}/change/").content.decode()
    assert 'name="_save"' not in content and "deletelink" not in content
    # Nor in bulk from the list.
    assert 'value="delete_selected"' not in staff_client.get(MESSAGES).content.decode()


def test_message_list_names_conversations_and_marks_deleted_messages(staff_client, alice, direct, messages):
    message_delete(conversation_id=direct.id, user=alice, message_id=messages["alice"].id)
    content = staff_client.get(MESSAGES).content.decode()
    assert str(direct.id) not in content.replace(f"/admin/chat/conversation/{direct.id}/", "")
    assert f'href="/admin/chat/conversation/{direct.id}/change/?seq=1#seq-1">Alice &amp; Bob</a>' in content
    assert '<td class="field-short_body">(deleted)</td>' in content
    assert '<td class="field-markers">deleted</td>' in content
    assert listed(staff_client.get(MESSAGES, {"state": "deleted"})) == [messages["alice"]]


def test_message_page_shows_markers_and_a_moderated_body(staff_client, staff_user, alice, bob, carol, group):
    sent = conversation_of_every_kind(group, alice, bob, carol, staff_user)
    moderated = staff_client.get(f"{MESSAGES}{sent['moderated'].id}/change/").content.decode()
    assert "Something rude" in moderated and "moderated " in moderated and "Sam Support" in moderated
    deleted = staff_client.get(f"{MESSAGES}{sent['deleted'].id}/change/").content.decode()
    assert "deleted by its author" in deleted and "deleted 20" in deleted
    edited = staff_client.get(f"{MESSAGES}{sent['edited'].id}/change/").content.decode()
    assert "edited 20" in edited
    reply = staff_client.get(f"{MESSAGES}{sent['reply'].id}/change/").content.decode()
    assert "👍 1" in reply


def test_message_filters_are_autocompletes_not_lists_of_every_conversation(staff_client, alice, messages, make_user):
    stranger = make_user("Zelda Nobody")
    quiet = DirectConversationFactory(user=stranger, other=alice)
    content = staff_client.get(MESSAGES).content.decode()
    assert 'data-field-name="conversation"' in content and 'data-field-name="created_by"' in content
    assert str(quiet.id) not in content and stranger.name not in content


def test_message_list_takes_the_same_queries_for_few_messages_as_for_many(staff_client, alice, bob, direct, make_user):
    send(direct, alice, "one")
    few, _ = query_count(staff_client, MESSAGES)
    for n in range(20):
        conversation = DirectConversationFactory(other=alice)
        send(conversation, alice, f"hello {n}")
    many, _ = query_count(staff_client, MESSAGES)
    assert many == few


# --- Users ------------------------------------------------------------------------------------


def test_user_page_links_to_their_conversations_and_messages(staff_client, alice, bob, direct, group, messages):
    content = staff_client.get(f"{USERS}{bob.id}/change/").content.decode()
    conversations = f"{CONVERSATIONS}?users__id__exact={bob.id}"
    sent = f"{MESSAGES}?created_by__id__exact={bob.id}"
    assert f'<a href="{conversations}">2 conversations</a>' in content
    assert f'<a href="{sent}">1 message sent</a>' in content
    assert set(listed(staff_client.get(conversations))) == {direct, group}
    assert listed(staff_client.get(sent)) == [messages["bob"]]


def test_user_page_links_to_reports_about_them_and_by_them(staff_client, alice, bob, direct, messages):
    from chat.moderation.services import report_create

    report, _ = report_create(reporter=alice, reason="spam", message_id=messages["bob"].id)
    content = staff_client.get(f"{USERS}{bob.id}/change/").content.decode()
    about = f"/admin/chat/report/?user__id__exact={bob.id}"
    by = f"/admin/chat/report/?reporter__id__exact={bob.id}"
    assert f'<a href="{about}">1 report about them</a>' in content
    assert f'<a href="{by}">0 reports by them</a>' in content
    about_page = staff_client.get(about)
    assert about_page.status_code == 200 and str(report.id) in about_page.content.decode()
    assert str(report.id) not in staff_client.get(by).content.decode()


def test_user_page_and_list_show_last_login_and_date_joined(staff_client, alice):
    User.objects.filter(id=alice.id).update(last_login=datetime(2025, 6, 1, 8, 30, tzinfo=timezone.utc))
    page = staff_client.get(f"{USERS}{alice.id}/change/").content.decode()
    assert "Last login" in page and "June 1, 2025" in page
    assert "Date joined" in page
    listing = staff_client.get(USERS).content.decode()
    assert 'class="field-last_login' in listing and "June 1, 2025" in listing


def test_user_list_is_paged(staff_client, make_user):
    from useraccount.admin import UserAdmin

    for _ in range(UserAdmin.list_per_page):
        make_user()
    assert len(listed(staff_client.get(USERS))) == UserAdmin.list_per_page
    assert len(listed(staff_client.get(USERS, {"p": 2}))) == 1


def test_attachments_cannot_be_deleted_in_admin(staff_client, alice, bob, carol, staff_user, group):
    upload = conversation_of_every_kind(group, alice, bob, carol, staff_user)["upload"]
    assert staff_client.post(f"{ATTACHMENTS}{upload.id}/delete/", {"post": "yes"}).status_code == 403
    assert Attachment.objects.filter(id=upload.id).exists()


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


def test_support_staff_with_view_permissions_only_read_everything_and_change_nothing(
    client, make_user, alice, bob, carol, group, staff_user
):
    from django.contrib.auth.models import Group, Permission

    sent = conversation_of_every_kind(group, alice, bob, carol, staff_user)
    support = Group.objects.create(name="Support")
    support.permissions.set(Permission.objects.filter(codename__in=[
        "view_conversation", "view_conversationmessage", "view_attachment", "view_user",
    ]))
    agent = make_user("Agent", is_staff=True)
    agent.groups.add(support)
    client.force_login(agent)
    assert listed(client.get(CONVERSATIONS)) == [group]
    assert "Here is the menu" in client.get(page_of(group)).content.decode()
    assert listed(client.get(MESSAGES, {"q": "menu"})) == [sent["with_file"]]
    assert client.get(f"{ATTACHMENTS}{sent['upload'].id}/download/").status_code == 200
    found = client.get("/admin/autocomplete/", {
        "app_label": "chat", "model_name": "conversationmessage", "field_name": "conversation", "term": "lunch",
    })
    assert [item["id"] for item in found.json()["results"]] == [str(group.id)]
    assert client.post(f"{MESSAGES}{sent['question'].id}/change/", {"body": "x"}).status_code == 403
    assert client.post(f"{USERS}{alice.id}/change/", {"name": "x"}).status_code == 403
