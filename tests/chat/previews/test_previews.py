"""
Link previews (chat.previews): the first URL of a message fetched by the
worker from a real HTTPS server on 127.0.0.1 (tests/plugins/receivers.py),
stored on the message and announced as ``chat.message.updated``; pages that
are not HTML, too large, or behind a redirect to a private address; edits
and deletes; off by the setting.
"""

import pytest
from channels.db import database_sync_to_async

from chat.messages.services import message_delete, message_edit
from chat.models import ConversationMessage
from chat.previews.parse import first_url, page_preview
from tests.plugins.conversations import send
from tests.plugins.sockets import receive, room

PAGE = """<!doctype html><html><head>
<meta property="og:title" content="Release 2.0">
<meta property="og:description" content="What is new &amp; improved.">
<meta property="og:image" content="/cover.png">
<title>Ignored when og:title is there</title>
</head><body><p>Hello</p></body></html>"""


@pytest.fixture
def previews(settings, receiver):
    settings.CHAT_LINK_PREVIEWS = True
    return receiver


# --- Plain Python ------------------------------------------------------------------


@pytest.mark.parametrize(
    "body, url",
    [
        ("see https://example.com/a.", "https://example.com/a"),
        ("(https://example.com/a)", "https://example.com/a"),
        ("https://en.wikipedia.org/wiki/Foo_(bar) is it", "https://en.wikipedia.org/wiki/Foo_(bar)"),
        ("two: http://one.example/x and https://two.example/", "http://one.example/x"),
        ("HTTPS://Example.com/Path?q=1#f, done", "HTTPS://Example.com/Path?q=1#f"),
        ("no link here", None), ("ftp://example.com/file", None), ("https:// nothing", None), ("", None),
    ],
)
def test_the_first_url_of_a_body(body, url):
    assert first_url(body) == url


def test_open_graph_comes_first_and_relative_images_resolve():
    preview = page_preview(PAGE, url="https://example.com/r", page_url="https://www.example.com/releases/2")
    assert preview == {
        "url": "https://example.com/r", "title": "Release 2.0", "description": "What is new & improved.",
        "image": "https://www.example.com/cover.png", "site_name": "www.example.com",
    }


def test_title_and_meta_description_without_open_graph():
    html = "<html><head><title> A\n page </title><meta name=description content='About it'></head></html>"
    assert page_preview(html, url="https://x.example/")["title"] == "A page"
    assert page_preview(html, url="https://x.example/")["description"] == "About it"
    assert page_preview("<html><body>no head</body></html>", url="https://x.example/") is None


def test_long_texts_are_cut_and_odd_images_dropped():
    html = f"<meta property='og:title' content='{'t' * 500}'><meta property='og:image' content='javascript:alert(1)'>"
    preview = page_preview(html, url="https://x.example/")
    assert len(preview["title"]) == 300 and preview["title"].endswith("\u2026") and preview["image"] is None


# --- End to end ------------------------------------------------------------------------


def stored(message) -> dict | None:
    return ConversationMessage.objects.get(id=message.id).preview


def test_a_message_gets_the_preview_of_its_first_url(jobs, previews, direct, alice):
    previews.page("/release", PAGE)
    message = send(direct, alice, f"Look: {previews.url('/release')} and {previews.url('/other')}")
    jobs()
    assert [r["path"] for r in previews.requests] == ["/release"]
    assert previews.requests[0]["headers"]["accept"].startswith("text/html")
    assert stored(message) == {
        "url": previews.url("/release"), "title": "Release 2.0", "description": "What is new & improved.",
        "image": previews.url("/cover.png"), "site_name": "127.0.0.1",
    }


@pytest.mark.django_db(transaction=True)
async def test_the_preview_is_announced_to_the_room_as_an_update(jobs, previews, direct, alice, bob):
    previews.page("/release", PAGE)
    async with room(direct, alice) as mine, room(direct, bob) as theirs:
        await mine.send_json_to({"type": "message.send", "body": f"see {previews.url('/release')}"})
        for ws in (mine, theirs):
            sent = await receive(ws)
            assert sent["type"] == "chat.message" and sent["preview"] is None
        for ws in (mine, theirs):
            updated = await receive(ws)
            assert updated["type"] == "chat.message.updated" and updated["id"] == sent["id"]
            assert updated["preview"]["title"] == "Release 2.0" and updated["body"] == sent["body"]
    await database_sync_to_async(jobs)()


def test_the_preview_is_in_the_message_json_over_rest(jobs, previews, client_for, direct, alice):
    previews.page("/release", PAGE)
    message = send(direct, alice, previews.url("/release"))
    jobs()
    [shown] = client_for(alice).get(f"/api/chat/{direct.id}/messages/").json()
    assert shown["id"] == str(message.id) and shown["preview"]["title"] == "Release 2.0"


def test_a_page_that_is_not_html_is_ignored(jobs, previews, direct, alice):
    previews.page("/data.json", '{"title": "no"}', content_type="application/json")
    message = send(direct, alice, previews.url("/data.json"))
    jobs()
    assert len(previews.requests) == 1 and stored(message) is None


def test_a_large_page_is_cut_off_at_the_bound(jobs, settings, previews, direct, alice):
    settings.PREVIEW_MAX_BYTES = 4096
    head = "<html><head><meta property='og:title' content='Big page'>"
    late = "<meta property='og:description' content='past the bound'></head>"
    previews.page("/big", head + "<!--" + "x" * 5_000_000 + "-->" + late)
    message = send(direct, alice, previews.url("/big"))
    jobs()
    assert stored(message)["title"] == "Big page"
    assert stored(message)["description"] == "", "what lies past PREVIEW_MAX_BYTES is never read"


def test_a_redirect_to_a_private_address_is_refused(jobs, previews, direct, alice):
    previews.answer("/out", status=302, headers={"Location": previews.url("/inside", host="localhost")})
    previews.page("/inside", PAGE)
    message = send(direct, alice, previews.url("/out"))
    jobs()
    assert [r["path"] for r in previews.requests] == ["/out"] and stored(message) is None


def test_a_url_on_a_private_address_is_not_fetched(jobs, previews, direct, alice):
    message = send(direct, alice, previews.url("/release", host="localhost"))
    jobs()
    assert previews.requests == [] and stored(message) is None


def test_an_edit_that_changes_the_first_url_fetches_again_and_one_that_keeps_it_does_not(jobs, previews, direct, alice):
    previews.page("/one", "<title>One</title>")
    previews.page("/two", "<title>Two</title>")
    message = send(direct, alice, previews.url("/one"))
    jobs()
    assert stored(message)["title"] == "One"
    message_edit(conversation_id=direct.id, user=alice, message_id=message.id, body=f"{previews.url('/one')} still")
    jobs()
    assert stored(message)["title"] == "One" and len(previews.requests) == 1
    message_edit(conversation_id=direct.id, user=alice, message_id=message.id, body=f"now {previews.url('/two')}")
    jobs()
    assert stored(message)["title"] == "Two" and len(previews.requests) == 2
    message_edit(conversation_id=direct.id, user=alice, message_id=message.id, body="no link any more")
    jobs()
    assert stored(message) is None and len(previews.requests) == 2


def test_a_deleted_message_drops_its_preview(jobs, previews, direct, alice):
    previews.page("/one", "<title>One</title>")
    message = send(direct, alice, previews.url("/one"))
    jobs()
    assert stored(message) is not None
    message_delete(conversation_id=direct.id, user=alice, message_id=message.id)
    assert stored(message) is None


def test_previews_are_off_by_the_setting(jobs, settings, receiver, direct, alice):
    settings.CHAT_LINK_PREVIEWS = False
    receiver.page("/one", "<title>One</title>")
    message = send(direct, alice, receiver.url("/one"))
    jobs()
    assert receiver.requests == [] and stored(message) is None
