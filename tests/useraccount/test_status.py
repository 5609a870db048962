"""
A user's status (useraccount.status): set and cleared over REST, bounded,
shown wherever the user is shown until it expires (read-time: nothing has to
clear it), at no extra query.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.plugins.conversations import send
from useraccount.models import User
from useraccount.serializers import user_public
from useraccount.status import user_status_set

pytestmark = pytest.mark.django_db

URL = "/api/auth/me/status/"


def test_a_status_is_set_and_shown_to_the_user_then_cleared(client_for, alice):
    until = timezone.now() + timedelta(hours=1)
    response = client_for(alice).put(
        URL, {"text": "In a meeting", "emoji": "\U0001f4c5", "expires_at": until.isoformat()}, format="json"
    )
    assert response.status_code == 200
    status = response.json()["status"]
    assert (status["text"], status["emoji"]) == ("In a meeting", "\U0001f4c5")
    assert client_for(alice).get("/api/auth/me/").json()["status"] == status
    cleared = client_for(alice).delete(URL)
    assert cleared.status_code == 200 and cleared.json()["status"] is None
    assert User.objects.get(id=alice.id).status_text == ""


def test_a_short_code_is_an_emoji_and_either_part_may_be_alone(client_for, alice):
    assert client_for(alice).put(URL, {"emoji": ":palm_tree:"}, format="json").json()["status"] == {
        "text": "", "emoji": ":palm_tree:", "expires_at": None}
    assert client_for(alice).put(URL, {"text": "Lunch"}, format="json").json()["status"]["emoji"] == ""
    assert client_for(alice).put(URL, {}, format="json").json()["status"] is None, "both empty: no status"


@pytest.mark.parametrize("data, code", [
    ({"text": "x" * 101}, "status_too_long"),
    ({"text": "two\nlines"}, "invalid_status"),
    ({"emoji": "ab"}, "invalid_emoji"),
    ({"emoji": "\U0001f4c5\U0001f4c5"}, "invalid_emoji"),
    ({"emoji": ":" + "a" * 40 + ":"}, "invalid_emoji"),
    ({"text": "x", "expires_at": "2000-01-01T00:00:00Z"}, "invalid_expiry"),
])
def test_bad_status_input_is_a_400_with_its_code_and_changes_nothing(client_for, alice, data, code):
    user_status_set(user=alice, text="before")
    response = client_for(alice).put(URL, data, format="json")
    assert (response.status_code, response.json()["code"]) == (400, code)
    assert User.objects.get(id=alice.id).status_text == "before"


def test_the_text_bound_is_a_setting(client_for, alice, settings):
    settings.USER_STATUS_TEXT_MAX_LENGTH = 5
    assert client_for(alice).put(URL, {"text": "sixsix"}, format="json").json()["code"] == "status_too_long"
    assert client_for(alice).put(URL, {"text": "five5"}, format="json").status_code == 200


def test_others_see_the_status_on_the_user_and_as_a_message_sender(client_for, alice, bob, direct):
    user_status_set(user=alice, text="Travelling", emoji="\u2708\ufe0f")
    send(direct, alice, "hi")
    seen = client_for(bob).get(f"/api/chat/{direct.id}/messages/").json()[0]["created_by"]
    assert seen["status"]["text"] == "Travelling"
    members = client_for(bob).get("/api/chat/").json()[0]["users"]
    assert next(user for user in members if user["id"] == str(alice.id))["status"]["text"] == "Travelling"
    assert "status" not in next(user for user in members if user["id"] == str(bob.id)), "none set: not there"


def test_an_expired_status_is_not_shown_though_nobody_cleared_it(alice):
    user_status_set(user=alice, text="Back at 3", expires_at=timezone.now() + timedelta(minutes=5))
    User.objects.filter(id=alice.id).update(status_expires_at=timezone.now() - timedelta(seconds=1))
    alice.refresh_from_db()
    assert "status" not in user_public(alice)
    assert alice.status_text == "Back at 3", "kept, just not shown"


def test_showing_statuses_costs_no_query(client_for, alice, bob, carol, group, django_assert_num_queries):
    for user in (alice, bob, carol):
        user_status_set(user=user, text=f"{user.name}'s")
    for n in range(3):
        send(group, alice if n % 2 else bob, f"m{n}")
    client = client_for(carol)
    baseline = len(client.get(f"/api/chat/{group.id}/messages/").json())
    assert baseline == 3
    User.objects.update(status_text="", status_emoji="")
    with django_assert_num_queries(3) as counted:  # the caller, membership, the page: as without statuses
        client.get(f"/api/chat/{group.id}/messages/")
    User.objects.update(status_text="busy")
    with django_assert_num_queries(len(counted.captured_queries)):
        page = client.get(f"/api/chat/{group.id}/messages/").json()
    assert all(message["created_by"]["status"]["text"] == "busy" for message in page)
