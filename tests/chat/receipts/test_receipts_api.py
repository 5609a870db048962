"""
Receipts over REST: members' delivered and read positions (paged), a
message's delivered and read counts, the ``read_receipts`` setting on
/api/auth/me/, and the privacy rule, the same in Python and in SQL.
"""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from chat.models import ConversationMember
from chat.realtime.profiles import read_position_shown
from chat.receipts.selectors import read_shown_q
from tests.factories import GroupConversationFactory
from tests.plugins.conversations import UNKNOWN_ID, send, send_many
from useraccount.models import User

pytestmark = pytest.mark.django_db


def set_positions(conversation, user, *, delivered: int, read: int) -> None:
    ConversationMember.objects.filter(conversation=conversation, user=user).update(
        delivered_seq=delivered, last_read_seq=read
    )


def receipts(client, conversation, query="") -> list[dict]:
    response = client.get(f"/api/chat/{conversation.id}/receipts/{query}")
    assert response.status_code == 200, response.content
    return response.json()


def by_user(rows: list[dict]) -> dict[str, tuple]:
    return {row["user_id"]: (row["delivered_seq"], row["last_read_seq"]) for row in rows}


def turn_off(user) -> None:
    User.objects.filter(id=user.id).update(read_receipts=False)


# --- Members' positions -------------------------------------------------------------------


def test_members_positions_show_a_direct_conversations_ticks(client_for, direct, alice, bob):
    send_many(direct, alice, 5)
    set_positions(direct, bob, delivered=4, read=2)
    rows = receipts(client_for(alice), direct)
    assert [row["user_id"] for row in rows] == [str(alice.id), str(bob.id)]  # in the order they joined
    # Alice's messages: 1-2 read, 3-4 delivered, 5 sent.
    assert by_user(rows)[str(bob.id)] == (4, 2)


def test_reading_implies_delivered_in_what_is_shown(client_for, direct, alice, bob):
    send_many(direct, alice, 5)
    set_positions(direct, bob, delivered=1, read=3)  # read over REST on a device never sent a frame
    assert by_user(receipts(client_for(alice), direct))[str(bob.id)] == (3, 3)


def test_members_positions_are_paged_with_link_headers(client_for, alice, make_user):
    members = [make_user(f"Member {n}") for n in range(6)]
    team = GroupConversationFactory(creator=alice, members=members)
    client = client_for(alice)
    response = client.get(f"/api/chat/{team.id}/receipts/?limit=4")
    assert len(response.json()) == 4
    next_url = re.search(r'<([^>]+)>; rel="next"', response.headers["Link"]).group(1)
    rest = client.get(next_url).json()
    assert len(rest) == 3
    assert {row["user_id"] for row in response.json() + rest} == {str(alice.id), *(str(m.id) for m in members)}


def test_a_page_is_at_most_the_configured_maximum(settings, client_for, alice, make_user):
    settings.CHAT_RECEIPTS_PAGE_MAX = 3
    team = GroupConversationFactory(creator=alice, members=[make_user(f"M{n}") for n in range(5)])
    assert len(receipts(client_for(alice), team, "?limit=100")) == 3


def test_members_positions_take_a_fixed_number_of_queries(client_for, alice, make_user):
    team = GroupConversationFactory(creator=alice, members=[make_user(f"M{n}") for n in range(3)])
    client = client_for(alice)
    with CaptureQueriesContext(connection) as small:
        receipts(client, team)
    team = GroupConversationFactory(creator=alice, members=[make_user(f"N{n}") for n in range(12)])
    with CaptureQueriesContext(connection) as large:
        receipts(client, team)
    assert len(small) == len(large)


def test_only_members_see_receipts(client_for, direct, carol):
    for path in (f"/api/chat/{direct.id}/receipts/", f"/api/chat/{UNKNOWN_ID}/receipts/"):
        assert client_for(carol).get(path).status_code == 404
    assert client_for().get(f"/api/chat/{direct.id}/receipts/").status_code == 401


# --- A message's receipts -------------------------------------------------------------------


def test_a_groups_message_has_delivered_and_read_counts(client_for, group, alice, bob, carol):
    send_many(group, alice, 4)
    set_positions(group, bob, delivered=4, read=3)
    set_positions(group, carol, delivered=2, read=0)
    third = group.messages.get(seq=3)
    response = client_for(alice).get(f"/api/chat/{group.id}/messages/{third.id}/receipts/")
    assert response.status_code == 200
    assert response.json() == {
        "message_id": str(third.id), "seq": 3, "members": 2, "delivered": 1, "read": 1,
        "delivered_to": [str(bob.id)], "read_by": [str(bob.id)],
    }
    first = group.messages.get(seq=1)
    data = client_for(bob).get(f"/api/chat/{group.id}/messages/{first.id}/receipts/").json()
    assert (data["delivered"], data["read"]) == (2, 1)


def test_a_message_elsewhere_or_unknown_has_no_receipts(client_for, direct, group, alice):
    elsewhere = send(direct, alice, "hi")
    client = client_for(alice)
    for message_id in (elsewhere.id, UNKNOWN_ID, "nope"):
        assert client.get(f"/api/chat/{group.id}/messages/{message_id}/receipts/").status_code == 404


# --- Privacy ---------------------------------------------------------------------------------


def test_a_member_with_read_receipts_off_shows_delivered_but_not_read(client_for, group, alice, bob, carol):
    send_many(group, alice, 3)
    set_positions(group, bob, delivered=3, read=3)
    set_positions(group, carol, delivered=3, read=3)
    turn_off(bob)
    rows = by_user(receipts(client_for(alice), group))
    assert rows[str(bob.id)] == (3, None)
    assert rows[str(carol.id)] == (3, 3)
    message = group.messages.get(seq=3)
    data = client_for(alice).get(f"/api/chat/{group.id}/messages/{message.id}/receipts/").json()
    assert (data["delivered"], data["read"], data["read_by"]) == (2, 1, [str(carol.id)])
    # Bob still sees his own.
    assert by_user(receipts(client_for(bob), group))[str(bob.id)] == (3, 3)


def test_a_viewer_with_read_receipts_off_sees_no_one_elses_reads(client_for, group, alice, bob, carol):
    send_many(group, bob, 3)
    set_positions(group, alice, delivered=3, read=3)
    set_positions(group, carol, delivered=3, read=2)
    turn_off(bob)
    rows = by_user(receipts(client_for(bob), group))
    assert rows[str(alice.id)] == (3, None) and rows[str(carol.id)] == (3, None)
    assert rows[str(bob.id)] == (3, 3)
    message = group.messages.get(seq=2)
    data = client_for(bob).get(f"/api/chat/{group.id}/messages/{message.id}/receipts/").json()
    assert (data["delivered"], data["read"], data["read_by"]) == (2, 0, [])


def test_read_receipts_are_a_setting_of_me(client_for, alice):
    client = client_for(alice)
    assert client.get("/api/auth/me/").json()["read_receipts"] is True
    response = client.patch("/api/auth/me/", {"read_receipts": False}, format="json")
    assert response.status_code == 200 and response.json()["read_receipts"] is False
    assert User.objects.get(id=alice.id).read_receipts is False
    assert client.patch("/api/auth/me/", {"read_receipts": "maybe"}, format="json").status_code == 400


@pytest.mark.parametrize(
    "reader_is_viewer, reader_shares, viewer_shares, shown",
    [
        (True, False, False, True),
        (False, True, True, True),
        (False, False, True, False),
        (False, True, False, False),
        (False, False, False, False),
    ],
)
def test_the_privacy_rule_is_the_same_in_sql_and_in_python(
    make_user, reader_is_viewer, reader_shares, viewer_shares, shown
):
    viewer = make_user("Viewer", read_receipts=viewer_shares)
    reader = viewer if reader_is_viewer else make_user("Reader", read_receipts=reader_shares)
    team = GroupConversationFactory(creator=viewer, members=[make_user("Other")] if reader_is_viewer else [reader])
    assert read_position_shown(
        reader_id=str(reader.id), viewer_id=str(viewer.id), reader_shares=reader.read_receipts,
        viewer_shares=viewer.read_receipts,
    ) is shown
    in_sql = ConversationMember.objects.filter(read_shown_q(viewer=viewer), conversation=team, user=reader).exists()
    assert in_sql is shown
