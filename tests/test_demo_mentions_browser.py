"""
The demo client's mentions (/demo/) in headless Chromium against a real
server process: typing "@" offers the members and inserts the markup, the
mention shows highlighted as "@Name", the notification level chooser saves
the level, and the "Mentions" list shows the message. Skipped as
tests/test_demo_browser.py is without playwright or Chromium.
"""

import asyncio
import re

import pytest
from asgiref.sync import sync_to_async
from django.db import connection

from tests.test_demo_browser import (
    SERVER_ENV,
    assert_no_errors,
    expect,
    expect_messages,
    sign_up,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.live]


async def saved_level(conversation_id: str, user_id: str, want: str = "mentions") -> str:
    """The member's stored level, once it is ``want`` (or after 5 s: what it is then)."""
    from chat.models import ConversationMember

    @sync_to_async
    def read():
        try:
            return ConversationMember.objects.get(conversation_id=conversation_id, user_id=user_id).notification_level
        finally:
            connection.close()

    for _ in range(50):
        if (level := await read()) == want:
            return level
        await asyncio.sleep(0.1)
    return level


@pytest.mark.slow
async def test_mentioning_someone_and_choosing_a_level_in_the_demo_page(start_server, browser):
    server = start_server(**SERVER_ENV)
    alice = await sign_up(browser, server, "Alice")
    bob = await sign_up(browser, server, "Bob")
    await alice.page.fill("#group-title", "Team")
    await alice.page.fill("#group-users", bob.id)
    await alice.page.click("#group-form button")
    await expect(alice.room_state).to_have_attribute("data-state", "open")
    group = await alice.active_conversation()
    await expect(bob.conversation(group).locator(".title")).to_have_text("Team")

    # Bob wants only mentions from this group; the level is saved and shown again.
    await bob.open(group)
    await bob.page.select_option("#notify-level", "mentions")
    await expect(bob.page.locator("#notify-level")).to_have_value("mentions")
    assert await saved_level(group, bob.id) == "mentions"

    # Alice types "@Bo", picks Bob: the markup goes in, and shows as "@Bob" on both sides.
    await alice.page.locator("#message-input").press_sequentially("Hi @Bo", delay=20)
    choice = alice.page.get_by_test_id("mention-choice")
    await expect(choice).to_have_text(["@Bob"])
    await choice.click()
    await expect(alice.page.locator("#message-input")).to_have_value(f"Hi <@{bob.id}> ")
    await alice.page.locator("#message-input").press_sequentially("look")
    await alice.page.press("#message-input", "Enter")
    await expect_messages(alice, ["Hi @Bob look"])
    await expect_messages(bob, ["Hi @Bob look"])
    await expect(bob.page.locator("#messages [data-seq='1']")).to_have_class(re.compile(r"\bmentioned\b"))
    await expect(bob.page.locator("#messages [data-seq='1'] [data-testid=mention]")).to_have_text("@Bob")

    # His Mentions list has it.
    await bob.page.click("#show-mentions")
    await expect(bob.page.get_by_test_id("mention-item")).to_have_count(1)
    await expect(bob.page.get_by_test_id("mention-item")).to_contain_text("Alice")
    await expect(bob.page.get_by_test_id("mention-item")).to_contain_text("Hi @Bob look")
    for person in (alice, bob):
        assert_no_errors(person)
