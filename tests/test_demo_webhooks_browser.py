"""
A group's webhooks in the demo client (/demo/), in headless Chromium against
a real server process and a real local HTTPS receiver: the group's owner adds
one in the group panel and sees its secret once, a member's message reaches
the receiver, signed with that secret, and shows in the deliveries log; the
owner rotates the secret, pauses, resumes and deletes it; a member who does
not manage the group sees no webhooks. Skipped as tests/test_demo_browser.py
is without playwright or Chromium.
"""

import hashlib
import hmac
import json
import re

import pytest
from asgiref.sync import sync_to_async
from django.db import connection

from tests.test_demo_bots_previews_browser import make_group
from tests.test_demo_browser import (
    SERVER_ENV,
    assert_no_errors,
    expect,
    expect_messages,
    sign_up,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.live]


@sync_to_async
def subscription(webhook_id: str) -> dict:
    from chat.models import WebhookSubscription

    try:
        row = WebhookSubscription.objects.filter(id=webhook_id).first()
        return {"active": row.active, "secret": row.secret} if row else {}
    finally:
        connection.close()  # this worker thread's own; left open, the test database could not be dropped


def signed_with(secret: str, request: dict) -> bool:
    parts = dict(item.split("=", 1) for item in request["headers"]["x-chat-signature"].split(","))
    expected = hmac.new(secret.encode(), f"{parts['t']}.".encode() + request["body"], hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts["v1"])


async def test_a_group_owner_manages_its_webhooks_in_the_group_panel(start_server, queue_worker, receiver, test_ca, browser):
    ca_file, _, _ = test_ca
    outbound = {"OUTBOUND_ALLOWED_HOSTS": "127.0.0.1", "OUTBOUND_CA_BUNDLE": str(ca_file)}
    server = start_server(**SERVER_ENV, **outbound)
    queue_worker(**outbound)
    alice = await sign_up(browser, server, "Alice")
    bob = await sign_up(browser, server, "Bob")
    group = await make_group(alice, "Ops", [bob.id])
    page = alice.page

    # Added for message.created only; the secret is shown once.
    await page.click("#group-panel summary")
    await page.fill("#webhook-url", receiver.url("/hook"))
    for event in ("message.edited", "message.deleted", "member.joined", "member.left"):
        await page.locator(f'#webhook-form [value="{event}"]').uncheck()
    await page.click("#webhook-form button[type=submit]")
    hook = page.get_by_test_id("webhook")
    await expect(hook).to_have_count(1)
    await expect(hook).to_contain_text("message.created · active")
    secret = await page.get_by_test_id("webhook-secret").input_value()
    webhook_id = await hook.get_attribute("data-id")
    assert secret.startswith("whsec_") and secret == (await subscription(webhook_id))["secret"]

    # Bob writes: the receiver gets it, signed; the log shows it delivered.
    await bob.open(group)
    await bob.send("Deploy done")
    await expect_messages(alice, ["Deploy done"])
    [delivery] = await sync_to_async(receiver.wait_for)(1)
    assert json.loads(delivery["body"])["data"]["message"]["body"] == "Deploy done"
    assert signed_with(secret, delivery)
    await hook.get_by_role("button", name="Deliveries").click()
    await expect(hook.get_by_test_id("delivery")).to_have_text(
        [re.compile(r"message\.created · try 1 · delivered \(200, \d+ ms\)")])

    # A new secret (shown once more), pause, resume, delete.
    await hook.get_by_role("button", name="New secret").click()
    await expect(page.get_by_test_id("webhook-secret")).not_to_have_value(secret)
    assert await page.get_by_test_id("webhook-secret").input_value() == (await subscription(webhook_id))["secret"]
    await hook.get_by_role("button", name="Pause").click()
    await expect(hook).to_have_attribute("data-active", "false")
    assert (await subscription(webhook_id))["active"] is False
    await hook.get_by_role("button", name="Resume").click()
    await expect(hook).to_have_attribute("data-active", "true")
    page.once("dialog", lambda dialog: dialog.accept())
    await hook.get_by_role("button", name="Delete").click()
    await expect(hook).to_have_count(0)
    assert await subscription(webhook_id) == {}

    # Bob, a plain member, is not offered webhooks.
    await bob.page.click("#group-panel summary")
    await expect(bob.page.get_by_test_id("group-member")).to_have_count(2)
    await expect(bob.page.locator("#group-webhooks")).to_be_hidden()
    assert_no_errors(alice)
    assert_no_errors(bob)
