"""Forwarding: through the send path, per-target refusals, no leak of the source, shared files, bounds."""

import io
import json

import pytest
from channels.db import database_sync_to_async
from PIL import Image

from chat.conversations.groups import conversation_rename
from chat.messages.services import message_delete
from chat.models import Attachment, ConversationMessage
from chat.moderation.services import message_hide
from chat.push import queue
from tests.factories import DirectConversationFactory, GroupConversationFactory
from tests.plugins.conversations import UNKNOWN_ID, post_message, send
from tests.plugins.sockets import assert_silent, receive, room
from useraccount.models import Block
from useraccount.services import user_delete

pytestmark = pytest.mark.django_db(transaction=True)


def forward(client, message, *targets, **fields):
    return client.post(
        f"/api/chat/{message.conversation_id}/messages/{message.id}/forward/",
        {"conversation_ids": [str(target.id) if hasattr(target, "id") else target for target in targets], **fields},
        format="json",
    )


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 6), (10, 200, 30)).save(buffer, "PNG")
    return buffer.getvalue()


def upload_png(client, conversation) -> dict:
    file = io.BytesIO(png())
    file.name = "photo.png"
    response = client.post(f"/api/chat/{conversation.id}/attachments/", {"file": file}, format="multipart")
    assert response.status_code == 201
    return response.json()


def latest(conversation) -> ConversationMessage:
    return ConversationMessage.objects.filter(conversation=conversation).latest("seq")


# --- Through the send path -----------------------------------------------------------------


def test_a_copy_is_a_new_message_of_the_forwarder_saying_whose_it_was(client_for, alice, bob, carol, direct, group):
    original = send(group, carol, "Meet at 6")
    last_seq = direct.last_seq
    answer = forward(client_for(bob), original, direct)
    assert answer.status_code == 200
    [result] = answer.json()["results"]
    assert (result["conversation_id"], result["ok"], result["error"], result["comment"]) == (str(direct.id), True, None, None)
    copy = result["message"]
    assert (copy["conversation_id"], copy["seq"], copy["body"]) == (str(direct.id), last_seq + 1, "Meet at 6")
    assert copy["created_by"]["id"] == str(bob.id)
    assert copy["forwarded"] == {
        "from_user": {"id": str(carol.id), "name": "Carol", "avatar_url": ""},
        "original_created_at": original.created_at.isoformat().replace("+00:00", "Z"),
    }
    assert copy["sent_to_id"] == str(alice.id)
    stored = latest(direct)
    assert (str(stored.id), stored.forwarded_from_id) == (copy["id"], carol.id)
    # Shown the same way in history; the original is not marked.
    history = client_for(alice).get(f"/api/chat/{direct.id}/messages/").json()
    assert history[-1] == copy
    assert client_for(bob).get(f"/api/chat/{group.id}/messages/").json()[-1]["forwarded"] is None


def test_a_copy_never_names_the_source_conversation(client_for, alice, bob, carol, group, make_user):
    secret_group = GroupConversationFactory(creator=carol, members=[bob], title="Secret Plans")
    original = send(secret_group, carol, "hush")
    direct = DirectConversationFactory(user=bob, other=alice)
    result = forward(client_for(bob), original, direct, group).json()["results"]
    text = json.dumps(result) + json.dumps(client_for(alice).get(f"/api/chat/{direct.id}/messages/").json())
    assert str(secret_group.id) not in text and secret_group.id.hex not in text
    assert "Secret Plans" not in text


def test_forwarding_a_forwarded_message_keeps_the_original_author(client_for, alice, bob, carol, direct, group):
    original = send(group, carol, "first said by Carol")
    first = forward(client_for(bob), original, direct).json()["results"][0]["message"]
    copy = ConversationMessage.objects.get(id=first["id"])
    elsewhere = DirectConversationFactory(user=alice, other=carol)
    again = forward(client_for(alice), copy, elsewhere).json()["results"][0]["message"]
    assert again["created_by"]["id"] == str(alice.id)
    assert again["forwarded"]["from_user"]["id"] == str(carol.id)
    assert again["forwarded"]["original_created_at"] == first["forwarded"]["original_created_at"]


def test_a_comment_follows_the_copy_as_the_forwarders_own_message(client_for, alice, bob, carol, direct, group):
    original = send(group, carol, "the doc")
    [result] = forward(client_for(bob), original, direct, comment="see this").json()["results"]
    assert (result["message"]["seq"] + 1, result["comment"]["seq"]) == (result["comment"]["seq"], latest(direct).seq)
    assert (result["comment"]["body"], result["comment"]["forwarded"]) == ("see this", None)
    blank = forward(client_for(bob), original, direct, comment="   ")
    assert (blank.status_code, blank.json()["code"]) == (400, "empty_body")


async def test_the_targets_room_gets_the_copy_as_any_message(client_for, alice, bob, carol, direct, group):
    original = await database_sync_to_async(send)(group, carol, "news")
    async with room(direct, alice) as ws, room(group, carol) as source_room:
        answer = await database_sync_to_async(forward)(client_for(bob), original, direct)
        frame = await receive(ws)
        assert frame["type"] == "chat.message" and frame["id"] == answer.json()["results"][0]["message"]["id"]
        assert (frame["body"], frame["name"], frame["forwarded"]["from_user"]["name"]) == ("news", "Bob", "Carol")
        assert str(group.id) not in json.dumps(frame)
        await assert_silent(source_room)  # nothing is said in the source conversation


def test_a_copy_queues_its_push_job_when_pushes_are_on(settings, client_for, bob, carol, direct, group, monkeypatch):
    settings.PUSH_VAPID_PRIVATE_KEY = "x"
    settings.PUSH_VAPID_SUBJECT = "mailto:ops@example.com"
    jobs = []
    monkeypatch.setattr(queue, "_send", lambda actor, *args: jobs.append((actor, args)))
    original = send(group, carol, "ping")
    jobs.clear()
    results = forward(client_for(bob), original, direct, group).json()["results"]
    assert jobs == [("push_message", (result["message"]["id"],)) for result in results]


# --- Per-target refusals -------------------------------------------------------------------


def test_each_target_the_user_may_not_post_in_fails_alone(client_for, alice, bob, carol, make_user, direct, group):
    dave, erin = make_user("Dave"), make_user("Erin")
    with_dave = DirectConversationFactory(user=bob, other=dave)
    with_erin = DirectConversationFactory(user=bob, other=erin)
    not_mine = DirectConversationFactory(user=alice, other=carol)
    Block.objects.create(blocker=dave, blocked=bob)
    user_delete(user=erin)
    original = send(group, carol, "pass it on")
    answer = forward(client_for(bob), original, with_dave, direct, not_mine, with_erin, UNKNOWN_ID)
    assert answer.status_code == 200
    outcome = [(r["conversation_id"], r["ok"], r["error"] and r["error"]["code"]) for r in answer.json()["results"]]
    assert outcome == [
        (str(with_dave.id), False, "blocked"),
        (str(direct.id), True, None),
        (str(not_mine.id), False, "not_found"),
        (str(with_erin.id), False, "recipient_deleted"),
        (UNKNOWN_ID, False, "not_found"),
    ]
    assert all(r["message"] is None for r in answer.json()["results"] if not r["ok"])
    for conversation in (with_dave, not_mine, with_erin):
        assert not ConversationMessage.objects.filter(conversation=conversation, forwarded_created_at__isnull=False).exists()
    assert latest(direct).body == "pass it on"


# --- What fails the whole request ----------------------------------------------------------


@pytest.mark.parametrize("state,status,code", [
    ("not a member", 404, "not_found"),
    ("deleted", 400, "message_deleted"),
    ("moderated", 400, "message_moderated"),
    ("system", 400, "system_message"),
])
def test_a_source_that_cannot_be_forwarded_sends_nothing(client_for, alice, bob, carol, make_user, direct, group,
                                                        state, status, code):
    original = send(group, carol, "x")
    sender = alice
    if state == "not a member":
        original, sender = send(DirectConversationFactory(user=bob, other=carol), carol, "private"), alice
    elif state == "deleted":
        message_delete(conversation_id=group.id, user=carol, message_id=original.id)
    elif state == "moderated":
        message_hide(message_id=original.id, moderator=make_user("Mod", is_staff=True))
    else:
        conversation_rename(conversation_id=group.id, user=alice, title="Renamed")
        original = latest(group)
        assert original.kind == "system"
    before = direct.messages.count()
    answer = forward(client_for(sender), original, direct)
    assert (answer.status_code, answer.json()["code"]) == (status, code)
    assert direct.messages.count() == before


def test_targets_are_bounded_and_must_be_conversation_ids(settings, client_for, alice, bob, carol, direct, group):
    settings.CHAT_FORWARD_MAX_TARGETS = 2
    original = send(group, carol, "x")
    third = DirectConversationFactory(user=alice, other=carol)
    over = forward(client_for(alice), original, direct, group, third)
    assert (over.status_code, over.json()["code"]) == (400, "too_many_targets")
    assert "at most 2" in over.json()["detail"]
    for bad in (["nope"], []):
        answer = client_for(alice).post(
            f"/api/chat/{group.id}/messages/{original.id}/forward/", {"conversation_ids": bad}, format="json"
        )
        assert answer.status_code == 400
    assert direct.messages.count() == 0 and third.messages.count() == 0
    # The same target twice is one target, within the bound.
    answer = forward(client_for(alice), original, direct, direct, str(direct.id).upper())
    assert [r["ok"] for r in answer.json()["results"]] == [True]
    assert direct.messages.count() == 1


# --- Shared files --------------------------------------------------------------------------


def test_files_are_shared_with_the_copy_and_kept_until_the_last_reference_goes(client_for, alice, bob, carol, direct,
                                                                               attachment_files):
    group = GroupConversationFactory(creator=carol, members=[bob])  # Alice is not in it
    photo = upload_png(client_for(carol), group)
    sent = post_message(client_for(carol), group, "", attachment_ids=[photo["id"]]).json()
    original = ConversationMessage.objects.get(id=sent["id"])
    copy = forward(client_for(bob), original, direct).json()["results"][0]["message"]
    assert copy["body"] == ""
    [shared] = copy["attachments"]
    assert shared["id"] != photo["id"]
    assert shared["url"] == f"http://testserver/api/chat/{direct.id}/attachments/{shared['id']}/"
    assert {key: shared[key] for key in ("name", "content_type", "size", "width", "height")} == {
        key: photo[key] for key in ("name", "content_type", "size", "width", "height")
    }
    source_row, copy_row = Attachment.objects.get(id=photo["id"]), Attachment.objects.get(id=shared["id"])
    assert (copy_row.conversation_id, copy_row.message_id) == (direct.id, ConversationMessage.objects.get(id=copy["id"]).id)
    assert copy_row.file.name == source_row.file.name, "the stored file is shared, not copied"
    assert len(list(attachment_files.rglob("*.png"))) == 1
    # Alice, who is not in the group, downloads through the copy only.
    assert client_for(alice).get(shared["url"]).status_code == 200
    assert client_for(alice).get(photo["url"]).status_code == 404
    path = attachment_files / source_row.file.name
    message_delete(conversation_id=group.id, user=carol, message_id=original.id)
    assert path.exists(), "the copy still refers to the file"
    downloaded = client_for(alice).get(shared["url"])
    assert downloaded.status_code == 200 and b"".join(downloaded.streaming_content) == png()
    message_delete(conversation_id=direct.id, user=bob, message_id=copy["id"])
    assert not path.exists(), "the last reference went"


def test_deleting_the_copy_first_keeps_the_originals_file(client_for, alice, bob, carol, direct, group, attachment_files):
    photo = upload_png(client_for(carol), group)
    sent = post_message(client_for(carol), group, "look", attachment_ids=[photo["id"]]).json()
    copy = forward(client_for(bob), ConversationMessage.objects.get(id=sent["id"]), direct).json()["results"][0]["message"]
    path = attachment_files / Attachment.objects.get(id=photo["id"]).file.name
    message_delete(conversation_id=direct.id, user=bob, message_id=copy["id"])
    assert path.exists()
    assert client_for(bob).get(photo["url"]).status_code == 200
    message_delete(conversation_id=group.id, user=carol, message_id=sent["id"])
    assert not path.exists()
