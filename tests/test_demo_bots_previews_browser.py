"""
The demo client's bot badges and link preview cards (/demo/) in headless
Chromium against a real server process: a bot added to a group posts over
REST with its API key, and both people see "bot" beside it, on its messages
and in the member lists; a message with a link gets a card (title, site,
description) once the server's worker has fetched the page (a real local
HTTPS server) and announced it with `chat.message.updated`. Skipped as
tests/test_demo_browser.py is without playwright or Chromium.
"""


import pytest
from asgiref.sync import sync_to_async
from django.db import connection

from tests.plugins.servers import http_request
from tests.test_demo_browser import (
    SERVER_ENV,
    assert_no_errors,
    expect,
    expect_messages,
    sign_up,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.live]

ARTICLE = """<!doctype html><html><head>
<meta property="og:title" content="Release notes 4.2">
<meta property="og:description" content="Faster sync, fewer surprises.">
<meta property="og:site_name" content="Example Blog">
<meta property="og:image" content="https://127.0.0.1:1/cover.png">
</head><body>Notes</body></html>"""


@sync_to_async
def make_bot(name: str) -> tuple[str, str]:
    """A bot account and a read-write API key: (its id, the key)."""
    from useraccount.bots import api_key_create, bot_create

    try:
        bot = bot_create(name=name)
        _, key = api_key_create(bot=bot, scopes=["read", "write"])
        return str(bot.id), key
    finally:
        connection.close()  # this worker thread's own; left open, the test database could not be dropped


async def make_group(person, title: str, user_ids: list[str]) -> str:
    await person.page.fill("#group-title", title)
    await person.page.fill("#group-users", ", ".join(user_ids))
    await person.page.click("#group-form button")
    await expect(person.page.locator("#room-title")).to_have_text(title)
    await expect(person.room_state).to_have_attribute("data-state", "open")
    return await person.active_conversation()


async def test_a_bots_messages_and_membership_carry_a_bot_badge(start_server, browser):
    server = start_server(**SERVER_ENV)
    alice = await sign_up(browser, server, "Alice")
    bob = await sign_up(browser, server, "Bob")
    bot_id, key = await make_bot("Deploy Bot")
    group = await make_group(alice, "Deploys", [bob.id, bot_id])
    await alice.send("Ship it")
    await bob.open(group)

    answer = http_request(f"{server.http}/api/chat/{group}/messages/", data={"body": "Deployed 4.2"},
                          headers={"Authorization": f"Api-Key {key}"})
    assert answer.status == 201, answer.body
    for person in (alice, bob):
        await expect_messages(person, ["Ship it", "Deployed 4.2"])
        await expect(person.page.locator('#messages [data-seq="2"] [data-testid=bot]')).to_have_text("bot")
        await expect(person.page.locator('#messages [data-seq="1"] [data-testid=bot]')).to_have_count(0)
        bot_member = person.page.locator(f'[data-testid=member][data-user-id="{bot_id}"]')
        await expect(bot_member.get_by_test_id("bot")).to_be_visible()
        human = alice.id if person is bob else bob.id
        await expect(person.page.locator(f'[data-testid=member][data-user-id="{human}"] [data-testid=bot]')
                     ).to_have_count(0)
    await alice.page.click("#group-panel summary")
    await expect(alice.page.get_by_test_id("group-member").filter(has_text="Deploy Bot").get_by_test_id("bot")
                 ).to_be_visible()
    assert_no_errors(alice)
    assert_no_errors(bob)


async def test_a_link_gets_a_preview_card_live(start_server, queue_worker, receiver, test_ca, browser):
    ca_file, _, _ = test_ca
    outbound = {"CHAT_LINK_PREVIEWS": "true", "OUTBOUND_ALLOWED_HOSTS": "127.0.0.1", "OUTBOUND_CA_BUNDLE": str(ca_file)}
    server = start_server(**SERVER_ENV, **outbound)
    queue_worker(**outbound)
    receiver.page("/notes", ARTICLE)
    url = receiver.url("/notes")
    alice = await sign_up(browser, server, "Alice")
    bob = await sign_up(browser, server, "Bob")
    await alice.page.fill("#start-user", bob.id)
    await alice.page.click("#start-form button")
    await expect(alice.room_state).to_have_attribute("data-state", "open")
    await bob.open(await alice.active_conversation())

    await alice.send(f"Read this: {url}")
    for person in (alice, bob):
        card = person.page.locator('#messages [data-seq="1"] [data-testid=preview]')
        await expect(card).to_be_visible(timeout=20_000)  # fetched by the worker, then announced
        await expect(card.locator(".preview-title")).to_have_text("Release notes 4.2")
        await expect(card.locator(".preview-title")).to_have_attribute("href", url)
        await expect(card).to_contain_text("Example Blog")
        await expect(card).to_contain_text("Faster sync, fewer surprises.")
        await expect(card.locator("img")).to_have_count(0)  # the page's policy loads no outside image
    assert [request["path"] for request in receiver.requests] == ["/notes"]
    assert_no_errors(alice)
    assert_no_errors(bob)
