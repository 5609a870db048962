"""
The demo client's scheduled messages (/demo/) in headless Chromium against a
real server process: what Alice types goes "Later" at the time she picks;
her "Scheduled" list shows it, and she edits it and cancels another before
their time; one that cannot be sent at its time (Bob blocked her meanwhile)
is told to her and shown in the list as not sent, with why. Skipped as
tests/test_demo_browser.py is without playwright or Chromium.
"""

import datetime
import re

import pytest
from asgiref.sync import sync_to_async
from django.db import connection

from tests.test_demo_browser import (
    SERVER_ENV,
    assert_no_errors,
    expect,
    sign_up,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.live]


@sync_to_async
def pending_bodies(user_id: str) -> list[str]:
    from chat.models import ScheduledMessage

    try:
        return sorted(ScheduledMessage.objects.filter(sender_id=user_id, state="pending").values_list("body", flat=True))
    finally:
        connection.close()  # this worker thread's own; left open, the test database could not be dropped


@sync_to_async
def block_then_fall_due(blocker_id: str, blocked_id: str):
    """Bob blocks Alice, and her scheduled message falls due: the server's runner (core.timed) takes it."""
    from chat.models import ScheduledMessage
    from useraccount.models import User
    from useraccount.services import user_block

    try:
        user_block(blocker=User.objects.get(id=blocker_id), user_id=blocked_id)
        past = datetime.datetime.now(datetime.UTC) - datetime.timedelta(seconds=1)
        ScheduledMessage.objects.filter(sender_id=blocked_id, state="pending").update(send_at=past)
    finally:
        connection.close()


async def test_scheduled_messages_are_listed_edited_cancelled_and_their_failure_told(start_server, timed_work, browser):
    server = start_server(**SERVER_ENV, CHAT_SCHEDULED_MAX_SLEEP_SECONDS="1")
    alice = await sign_up(browser, server, "Alice")
    bob = await sign_up(browser, server, "Bob")
    page = alice.page
    await page.fill("#start-user", bob.id)
    await page.click("#start-form button")
    await expect(alice.room_state).to_have_attribute("data-state", "open")

    # Two messages for later, at the picker's time (in an hour) and at one chosen.
    await page.fill("#message-input", "See you at 3")
    await page.click("#send-later")
    await page.click("#schedule-confirm")
    await expect(page.locator("#message-input")).to_have_value("")
    await page.fill("#message-input", "Never mind")
    await page.click("#send-later")
    later = (datetime.datetime.now() + datetime.timedelta(days=2)).replace(hour=9, minute=30)
    await page.fill("#schedule-at", later.strftime("%Y-%m-%dT%H:%M"))
    await page.click("#schedule-confirm")
    await expect(page.locator("#message-input")).to_have_value("")

    # The list: soonest first; one edited in place, the other cancelled.
    await page.click("#show-scheduled")
    rows = page.get_by_test_id("scheduled")
    await expect(rows.locator(".scheduled-body")).to_have_text(["See you at 3", "Never mind"])
    await rows.nth(0).get_by_role("button", name="Edit").click()
    await page.get_by_test_id("scheduled-text").fill("See you at 4")
    await page.get_by_role("button", name="Save").click()
    await expect(rows.locator(".scheduled-body")).to_have_text(["See you at 4", "Never mind"])
    await rows.nth(1).get_by_role("button", name="Cancel").click()
    await expect(rows.locator(".scheduled-body")).to_have_text(["See you at 4"])
    assert await pending_bodies(alice.id) == ["See you at 4"]

    # Bob blocks her before its time: at its time it is refused, and she is told.
    await block_then_fall_due(bob.id, alice.id)
    # The runner's frame reaches her page live (from the server itself, or through Redis).
    await expect(page.locator("#notice")).to_contain_text(
        "Your scheduled message to Bob was not sent", timeout=15_000)
    failed = rows.filter(has=page.get_by_test_id("scheduled-failure"))
    await expect(failed).to_have_attribute("data-state", "failed")
    await expect(failed.get_by_test_id("scheduled-failure")).to_have_text(
        re.compile(r"^Not sent: .+"))
    await expect(failed.get_by_role("button", name="Edit")).to_have_count(0)
    await expect(page.locator("#messages [data-seq]")).to_have_count(0)
    assert_no_errors(alice)
