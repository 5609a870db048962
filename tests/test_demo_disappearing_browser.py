"""
Disappearing messages in the demo client (/demo/), in headless Chromium
against a real server process: one person turns the timer on, the other's
chooser follows live, a message sent under it says when it disappears, and
at that time it turns into "This message expired." on both screens without
a reload (the server's expiry: in the server itself in the embedded
configuration, ``expire_messages --loop`` beside it with Redis). Skipped as
tests/test_demo_browser.py is without playwright or Chromium.
"""

import re
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from django.db import connection
from django.utils import timezone

from tests.test_demo_browser import (
    SERVER_ENV,
    assert_no_errors,
    expect,
    sign_up,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.live]


@sync_to_async
def due_in_a_second(message_id: str):
    """Bring a message's time forward: an hour is the shortest timer a person can choose."""
    from chat.models import ConversationMessage

    try:
        ConversationMessage.objects.filter(id=message_id).update(expires_at=timezone.now() + timedelta(seconds=1))
    finally:
        connection.close()


@pytest.mark.slow
async def test_a_message_disappears_from_both_screens_at_its_time(start_server, timed_work, browser):
    server = start_server(**SERVER_ENV, CHAT_EXPIRY_INTERVAL_SECONDS="1")
    alice = await sign_up(browser, server, "Alice")
    bob = await sign_up(browser, server, "Bob")
    await alice.page.fill("#start-user", bob.id)
    await alice.page.click("#start-form button")
    await expect(alice.room_state).to_have_attribute("data-state", "open")
    direct = await alice.active_conversation()
    await bob.open(direct)

    # Alice turns the timer on: Bob's chooser follows without a reload.
    await alice.page.select_option("#disappearing", "3600")
    await expect(bob.page.locator("#disappearing")).to_have_value("3600")

    await alice.send("the door code is 4711")
    line = '#messages [data-testid=message]:has-text("the door code")'
    for person in (alice, bob):
        await expect(person.page.locator(f"{line} [data-testid=disappears]")).to_contain_text("disappears")
    message_id = await bob.page.locator(line).get_attribute("data-id")

    await due_in_a_second(message_id)
    for person in (alice, bob):
        gone = person.page.locator(f'#messages [data-id="{message_id}"]')
        await expect(gone.locator(".body")).to_have_text("This message expired.", timeout=15_000)
        await expect(gone).to_have_class(re.compile(r"\bexpired\b"))
        await expect(person.page.locator("#messages")).not_to_contain_text("4711")
        await expect(gone.get_by_test_id("disappears")).to_have_count(0)
    assert await alice.page.evaluate("window.neverReloaded") is True
    assert_no_errors(alice)
    assert_no_errors(bob)
