"""
The demo client's statuses and drafts (/demo/) in headless Chromium against
a real server process: a status (emoji, text, when it clears) set with the "Status" button shows beside
its owner's name on the other person's page, live; what one types and does
not send shows up in the composer of the same person's second device, and
sending it clears it; "Later" schedules what was typed (its list:
tests/test_demo_scheduled_browser.py). Skipped as tests/test_demo_browser.py is without
playwright or Chromium.
"""

import re
import time

import pytest
from asgiref.sync import sync_to_async
from django.db import connection

from tests.test_demo_browser import (
    PASSWORD,
    SERVER_ENV,
    Person,
    assert_no_errors,
    expect,
    expect_messages,
    sign_up,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.live]


@sync_to_async
def scheduled_bodies(user_id: str) -> list[str]:
    """The user's pending scheduled messages, once there is one (or after 5 s: none)."""
    from chat.models import ScheduledMessage

    try:
        for _ in range(50):
            pending = ScheduledMessage.objects.filter(sender_id=user_id, state="pending")
            bodies = list(pending.values_list("body", flat=True))
            if bodies:
                return bodies
            time.sleep(0.1)
        return []
    finally:
        connection.close()  # this worker thread's own; left open, the test database could not be dropped


async def second_device(browser, server, person: Person) -> Person:
    """Another browser context of the same person, logged in through the page's form."""
    email = (await person.session())["user"]["email"]
    context = await browser.new_context(viewport={"width": 1100, "height": 700})
    device = Person(person.name, context, await context.new_page(), id=person.id)
    device.page.on("pageerror", lambda error: device.page_errors.append(str(error)))
    await device.page.goto(f"{server.http}/demo/?ping=2")
    await device.page.fill("#auth-form [name=email]", email)
    await device.page.fill("#auth-form [name=password]", PASSWORD)
    await device.page.click("#auth-form button[value=login]")
    await expect(device.page.locator("#feed-status")).to_have_attribute("data-state", "open")
    return device


@sync_to_async
def saved_status_expires_in(user_id: str) -> float:
    """Seconds until the user's stored status clears itself."""
    from django.utils import timezone

    from useraccount.models import User

    try:
        return (User.objects.get(id=user_id).status_expires_at - timezone.now()).total_seconds()
    finally:
        connection.close()


async def test_statuses_and_drafts_through_the_demo_page(start_server, browser):
    server = start_server(**SERVER_ENV)
    alice = await sign_up(browser, server, "Alice")
    bob = await sign_up(browser, server, "Bob")
    await alice.page.fill("#start-user", bob.id)
    await alice.page.click("#start-form button")
    await expect(alice.room_state).to_have_attribute("data-state", "open")
    direct = await alice.active_conversation()
    await alice.send("Hello")
    await expect_messages(alice, ["Hello"])
    await bob.open(direct)

    # Bob sets a status with an emoji, clearing in an hour: Alice sees it beside him, live, in the
    # room and in her conversation list; cleared, it goes from both.
    await bob.page.click("#set-status")
    await bob.page.fill("#status-emoji", "\U0001f354")
    await bob.page.fill("#status-text", "Out for lunch")
    await bob.page.select_option("#status-until", "3600")
    await bob.page.click("#status-form button[type=submit]")
    member = alice.page.locator(f'[data-testid=member][data-user-id="{bob.id}"]')
    await expect(member).to_contain_text("\U0001f354 Out for lunch")
    await expect(alice.conversation(direct).get_by_test_id("peer-status")).to_have_text(
        "\U0001f354 Out for lunch")
    assert await saved_status_expires_in(bob.id) == pytest.approx(3600, abs=120)
    await bob.page.click("#set-status")
    await expect(bob.page.locator("#status-text")).to_have_value("Out for lunch")
    await bob.page.click("#status-clear")
    await expect(member).not_to_contain_text("Out for lunch")
    await expect(alice.conversation(direct).get_by_test_id("peer-status")).to_have_count(0)

    # Alice types without sending; her second device opens the conversation with it.
    async with alice.page.expect_response(lambda response: "/draft/" in response.url):
        await alice.page.fill("#message-input", "Half a thought")
        await alice.page.type("#message-input", ".")
    phone = await second_device(browser, server, alice)
    conversation = phone.conversation(direct)
    await expect(conversation.locator(".preview")).to_have_text("Draft: Half a thought.")
    await phone.open(direct)
    await expect(phone.page.locator("#message-input")).to_have_value("Half a thought.")

    # Sent from the first device: the draft is gone on the server, and on the second device's list.
    await alice.page.press("#message-input", "Enter")
    await expect_messages(alice, ["Hello", "Half a thought."])
    await expect_messages(phone, ["Hello", "Half a thought."])
    await phone.page.reload()
    await expect(phone.page.locator("#feed-status")).to_have_attribute("data-state", "open")
    await expect(phone.conversation(direct).locator(".preview")).to_have_text(re.compile("Half a thought"))
    await expect(phone.conversation(direct).locator(".preview")).not_to_contain_text("Draft:")

    # "Later": the text becomes a scheduled message (the runner: tests/chat/messages/test_scheduled.py).
    await bob.page.fill("#message-input", "See you at 3")
    await bob.page.click("#send-later")
    await bob.page.click("#schedule-confirm")  # the picker's time: in an hour
    await expect(bob.page.locator("#message-input")).to_have_value("")
    assert await scheduled_bodies(bob.id) == ["See you at 3"]
    assert_no_errors(alice)
    assert_no_errors(bob)
