"""Message search (ranked full text on PostgreSQL, substrings on SQLite) and finding people."""

import re

import pytest
from django.db import connection

from chat.conversations.groups import conversation_rename
from chat.messages.services import message_delete
from tests.factories import DirectConversationFactory
from tests.plugins.conversations import send

pytestmark = pytest.mark.django_db

POSTGRES = connection.vendor == "postgresql"


def search(client, q, **params):
    return client.get("/api/chat/search/", {"q": q, **params})


def bodies(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [m["body"] for m in response.json()]


def next_link(response) -> str | None:
    match = re.search(r'<([^>]+)>; rel="next"', response.headers.get("Link", ""))
    return match.group(1) if match else None


def test_search_finds_messages_of_the_callers_conversations_only(client_for, make_user, alice, bob, carol, direct, group):
    send(direct, bob, "Dinner at the harbour on Friday?")
    send(group, carol, "The harbour trip is cancelled")
    send(direct, alice, "Sounds good")
    stranger = make_user("Eve")
    others = DirectConversationFactory(user=stranger, other=carol)
    send(others, stranger, "harbour secrets")
    found = bodies(search(client_for(alice), "harbour"))
    assert sorted(found) == ["Dinner at the harbour on Friday?", "The harbour trip is cancelled"]
    assert sorted(bodies(search(client_for(carol), "harbour"))) == ["The harbour trip is cancelled", "harbour secrets"]
    assert bodies(search(client_for(alice), "HARBOUR friday")) == ["Dinner at the harbour on Friday?"]
    assert bodies(search(client_for(alice), "nothing like this")) == []


def test_deleted_and_system_messages_never_match(client_for, alice, bob, group):
    gone = send(group, bob, "the password is swordfish")
    message_delete(conversation_id=group.id, user=bob, message_id=gone.id)
    conversation_rename(conversation_id=group.id, user=alice, title="swordfish club")
    assert bodies(search(client_for(alice), "swordfish")) == []


def test_search_in_one_conversation(client_for, alice, bob, direct, group):
    send(direct, bob, "budget report draft")
    send(group, bob, "budget meeting")
    response = client_for(alice).get(f"/api/chat/{direct.id}/messages/", {"q": "budget"})
    assert bodies(response) == ["budget report draft"]
    response = client_for(alice).get(f"/api/chat/{direct.id}/messages/", {"q": "budget", "after": 0})
    assert response.status_code == 400


@pytest.mark.skipif(not POSTGRES, reason="ranking is PostgreSQL's")
def test_postgres_ranks_and_reads_web_search_syntax(client_for, alice, bob, direct):
    send(direct, bob, "release notes")
    send(direct, bob, "release release release notes notes")
    send(direct, bob, "release candidate is ready")
    assert bodies(search(client_for(alice), "release notes"))[0] == "release release release notes notes"
    assert bodies(search(client_for(alice), '"candidate is"')) == ["release candidate is ready"]
    assert sorted(bodies(search(client_for(alice), "release -candidate"))) == [
        "release notes", "release release release notes notes",
    ]


@pytest.mark.skipif(POSTGRES, reason="the fallback is SQLite's")
def test_sqlite_finds_every_word_as_a_substring_newest_first(client_for, alice, bob, direct):
    send(direct, bob, "meet at the station")
    send(direct, bob, "stationery order")
    assert bodies(search(client_for(alice), "station")) == ["stationery order", "meet at the station"]
    assert bodies(search(client_for(alice), "station meet")) == ["meet at the station"]


def test_results_are_paged_with_link_headers_and_bounded(settings, client_for, alice, bob, direct):
    settings.CHAT_SEARCH_MAX_RESULTS = 7
    for n in range(10):
        send(direct, bob, f"apple number {n}")
    seen, url = [], "/api/chat/search/?q=apple&limit=3"
    while url:
        response = client_for(alice).get(url)
        seen += bodies(response)
        url = next_link(response)
    assert len(seen) == 7 and len(set(seen)) == 7
    response = client_for(alice).get("/api/chat/search/?q=apple&limit=3&cursor=bm9wZQ")
    assert response.status_code == 404


@pytest.mark.parametrize("q", ["", "   ", "x" * 201])
def test_a_bad_query_is_a_400(client_for, alice, q):
    assert search(client_for(alice), q).status_code == 400


def test_message_search_is_throttled(rest_settings, client_for, alice):
    rest_settings(rates={"message_search": "2/min"})
    as_alice = client_for(alice)
    assert [search(as_alice, "hi").status_code for _ in range(3)] == [200, 200, 429]


@pytest.mark.skipif(not POSTGRES, reason="the index is PostgreSQL's")
def test_the_full_text_index_serves_the_search(alice, bob, direct, group):
    from chat.models import ConversationMessage
    from chat.search.selectors import message_search

    # 40,000 messages in two conversations, a few of them with the word: the
    # planner must find them through the index, not by reading every body.
    with connection.cursor() as cursor:
        for conversation in (direct, group):
            cursor.execute(
                """
                INSERT INTO chat_conversationmessage
                    (id, conversation_id, seq, body, created_by_id, client_id, created_at, kind,
                     reaction_summary, attachment_summary)
                SELECT gen_random_uuid(), %s, n, CASE WHEN n %% 5000 = 0 THEN 'the harbour ' || n
                       ELSE 'ordinary chatter number ' || n END, %s, '', now(), 'text', '[]', '[]'
                FROM generate_series(1, 20000) AS n
                """,
                [conversation.id, alice.id],
            )
        cursor.execute("ANALYZE chat_conversationmessage")
    for query in (message_search(user=bob, query="harbour"), message_search(user=bob, query="harbour", conversation=direct)):
        with connection.cursor() as cursor:
            sql, params = query.query.sql_with_params()
            cursor.execute("EXPLAIN " + sql, params)
            plan = "\n".join(row[0] for row in cursor.fetchall())
        assert "message_body_search" in plan, plan
    assert len(list(message_search(user=bob, query="harbour"))) == 8
    assert ConversationMessage.objects.count() == 40_000


# --- Finding people ---------------------------------------------------------------------


def find(client, q, **params):
    return client.get("/api/auth/users/", {"q": q, **params})


def test_people_are_found_by_the_start_of_their_name_or_a_word_of_it(client_for, make_user, alice):
    ann = make_user("Ann Lee")
    lee = make_user("Leona Smith")
    make_user("Dolores Day", is_active=False)
    found = find(client_for(alice), "le").json()
    assert [u["name"] for u in found] == ["Ann Lee", "Leona Smith"]
    assert found[0] == {"id": str(ann.id), "name": "Ann Lee", "avatar_url": ""}
    assert [u["id"] for u in find(client_for(alice), "LEONA").json()] == [str(lee.id)]
    assert find(client_for(alice), "dol").json() == [], "inactive users are not found"
    assert find(client_for(alice), "ali").json() == [], "nor the caller"


def test_an_email_finds_only_its_exact_owner_and_never_shows_emails(client_for, make_user, alice):
    target = make_user("Zoe", email="zoe@example.com")
    make_user("Zoey", email="zoey@example.com")
    assert [u["id"] for u in find(client_for(alice), "Zoe@Example.com").json()] == [str(target.id)]
    assert find(client_for(alice), "zoe@example").json() == []
    assert find(client_for(alice), "@example.com").json() == []
    assert all("email" not in user for user in find(client_for(alice), "zo").json())


def test_people_search_is_bounded(client_for, make_user, alice):
    for n in range(25):
        make_user(f"Sam {n:02}")
    assert len(find(client_for(alice), "sam").json()) == 20
    assert len(find(client_for(alice), "sam", limit=50).json()) == 25
    assert find(client_for(alice), "sam", limit=51).status_code == 400
    assert find(client_for(alice), "").status_code == 400
    assert find(client_for(alice), "x" * 101).status_code == 400


def test_people_search_is_throttled(rest_settings, client_for, alice):
    rest_settings(rates={"user_search": "1/min"})
    assert [find(client_for(alice), "sam").status_code for _ in range(2)] == [200, 429]
