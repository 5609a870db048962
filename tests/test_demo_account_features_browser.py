"""
What a person does about their own account and about others in the demo
client (/demo/), in headless Chromium against a real server process: a new
name and avatar (shown on their messages, in the list and among the
members, loaded under the page's Content-Security-Policy); blocking (the
direct conversation closes both ways), muting (no `notification` frames
while muted) and reporting a message; changing the password (every other
device is signed out, this one carries on); deleting the account (the page
returns to sign-in). Skipped as tests/test_demo_browser.py is without
playwright or Chromium.
"""

import asyncio
import io
import json
import re

import pytest
from asgiref.sync import sync_to_async
from django.db import connection
from PIL import Image

from tests.plugins.servers import http_request
from tests.test_demo_browser import (
    PASSWORD,
    SERVER_ENV,
    Person,
    assert_no_errors,
    expect,
    expect_messages,
    sign_up,
)
from tests.test_demo_status_drafts_browser import second_device

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.live]

# The browser logs every answer that is not a 2xx: the Account panel asks for
# the data export, a 404 until one asks for it; a wrong password is a 400.
ACCOUNT_PANEL = re.compile(r"the server responded with a status of 404")
REFUSED = re.compile(r"the server responded with a status of (400|404)")


def png() -> bytes:
    image = io.BytesIO()
    Image.new("RGB", (32, 32), (200, 80, 40)).save(image, "PNG")
    return image.getvalue()


async def direct_conversation(alice: Person, bob: Person) -> str:
    await alice.page.fill("#start-user", bob.id)
    await alice.page.click("#start-form button")
    await expect(alice.room_state).to_have_attribute("data-state", "open")
    return await alice.active_conversation()


def notifications_of(person: Person, body: str) -> list[dict]:
    """The `notification` frames of a message with ``body`` that the person's notifications sockets got."""
    frames = [
        json.loads(text)
        for socket in person.sockets
        if "/ws/notifications/" in socket["url"]
        for _, text in socket["received"]
    ]
    return [frame for frame in frames if frame["type"] == "notification" and frame["message"]["body"] == body]


async def told(person: Person, body: str):
    """Waits until the person's notifications socket has had the `notification` of ``body``."""
    for _ in range(50):
        if notifications_of(person, body):
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{person.name} was not told of {body!r}")


@sync_to_async
def reports_of(reporter_id: str) -> list[tuple]:
    from chat.models import Report

    try:
        return list(Report.objects.filter(reporter_id=reporter_id).values_list("reason", "details", "message__body"))
    finally:
        connection.close()  # this worker thread's own; left open, the test database could not be dropped


def login_status(server, email: str, password: str) -> int:
    return http_request(f"{server.http}/api/auth/login/", data={"email": email, "password": password}).status


async def image_loaded(locator) -> bool:
    """The image is same-origin and loads: one the page's policy blocks fails to decode."""
    return await locator.evaluate(
        """(img) => img.decode().then(
            () => img.naturalWidth > 0 && new URL(img.src).origin === location.origin, () => false)"""
    )


async def test_a_new_name_and_avatar_show_on_messages_in_the_list_and_among_members(start_server, browser, tmp_path):
    server = start_server(**SERVER_ENV, DJANGO_MEDIA_ROOT=str(tmp_path / "media"))  # not the checkout's media/
    alice = await sign_up(browser, server, "Alice")
    bob = await sign_up(browser, server, "Bob")
    direct = await direct_conversation(alice, bob)
    page = alice.page

    # Without an avatar: the name's initial.
    await expect(page.locator("#my-avatar [data-testid=avatar-initial]")).to_have_text("A")
    await page.click("#show-account")
    await page.get_by_test_id("profile-name").fill("Alice Liddell")
    await page.click("#profile-form button[type=submit]")
    await expect(page.get_by_test_id("my-name")).to_have_text("Alice Liddell")
    await page.get_by_test_id("avatar-file").set_input_files(
        {"name": "me.png", "mimeType": "image/png", "buffer": png()}
    )
    mine = page.locator("#my-avatar [data-testid=avatar]")
    await expect(mine).to_be_visible()
    assert await image_loaded(mine)
    assert (await alice.session())["user"]["avatar_url"].startswith(f"{server.http}/media/")

    # What she sends from now on carries both.
    await alice.send("Hello in my new name")
    await bob.open(direct)
    await expect_messages(bob, ["Hello in my new name"])
    message = bob.page.locator("#messages [data-seq='1']")
    await expect(message.locator(".author")).to_have_text("Alice Liddell")
    assert await image_loaded(message.get_by_test_id("avatar"))

    # Lists and members: from the next load of them.
    await bob.page.reload()
    await expect(bob.conversation(direct).locator(".title")).to_have_text("Alice Liddell")
    assert await image_loaded(bob.conversation(direct).get_by_test_id("avatar"))
    await bob.open(direct)
    assert await image_loaded(bob.page.get_by_test_id("member").get_by_test_id("avatar"))

    # Removed: the initial again.
    await page.click("#avatar-remove")
    await expect(page.locator("#my-avatar [data-testid=avatar-initial]")).to_have_text("A")
    assert (await alice.session())["user"]["avatar_url"] == ""
    assert_no_errors(alice, ACCOUNT_PANEL)
    assert_no_errors(bob)


async def test_blocking_muting_and_reporting(start_server, browser):
    server = start_server(**SERVER_ENV)
    alice = await sign_up(browser, server, "Alice")
    bob = await sign_up(browser, server, "Bob")
    direct = await direct_conversation(alice, bob)
    await alice.send("Buy cheap watches")
    await bob.open(direct)
    await expect_messages(bob, ["Buy cheap watches"])

    # Report: a reason and what happened; reporting it again finds the open report.
    await bob.page.locator("#messages [data-seq='1']").get_by_test_id("report").click()
    await bob.page.get_by_test_id("report-reason").select_option("spam")
    await bob.page.get_by_test_id("report-details").fill("Sent to everyone")
    await bob.page.get_by_test_id("report-send").click()
    await expect(bob.page.locator("#notice")).to_have_text("Reported: the moderators will look at it.")
    assert await reports_of(bob.id) == [("spam", "Sent to everyone", "Buy cheap watches")]
    await bob.page.locator("#messages [data-seq='1']").get_by_test_id("report").click()
    await bob.page.get_by_test_id("report-send").click()
    await expect(bob.page.locator("#notice")).to_contain_text("You have reported this message already")
    assert len(await reports_of(bob.id)) == 1
    # Nobody reports their own messages.
    await expect(alice.page.locator("#messages [data-seq='1']").get_by_test_id("report")).to_have_count(0)

    # Block: the conversation closes both ways; the Account panel lists her.
    bob.page.once("dialog", lambda dialog: dialog.accept())
    await bob.page.get_by_test_id("block").click()
    await expect(bob.page.get_by_test_id("blocked-banner")).to_contain_text("You blocked Alice")
    await expect(bob.page.locator("#message-input")).to_be_disabled()
    folded = bob.page.locator("#messages [data-seq='1'] .blocked-note")
    await expect(folded).to_contain_text("A message from someone you blocked.")
    await expect(bob.page.locator("#messages [data-seq='1'] .body")).to_be_hidden()
    await bob.page.click("#show-account")
    await expect(bob.page.get_by_test_id("blocked-person")).to_contain_text("Alice")
    await alice.send("Why not?")
    await expect(alice.page.locator("#messages .failed")).to_have_count(1)
    await expect(alice.page.locator("#notice")).to_contain_text("block")
    await bob.page.get_by_test_id("blocked-banner").get_by_test_id("unblock").click()
    await expect(bob.page.get_by_test_id("blocked-banner")).to_be_hidden()
    await expect(bob.page.get_by_test_id("blocked-person")).to_have_count(0)
    await expect(bob.page.locator("#message-input")).to_be_enabled()
    await expect(folded).to_have_count(0)
    await alice.send("Sorry")
    await expect_messages(bob, ["Buy cheap watches", "Sorry"])

    # Mute: marked in the list; her messages still arrive, but no `notification` of them.
    await bob.page.get_by_test_id("mute").select_option("0")
    await expect(bob.conversation(direct)).to_have_attribute("data-muted", "true")
    await alice.send("While muted")
    await expect_messages(bob, ["Buy cheap watches", "Sorry", "While muted"])
    await alice.send("Still muted")
    await expect_messages(bob, ["Buy cheap watches", "Sorry", "While muted", "Still muted"])
    await told(bob, "Sorry")
    assert notifications_of(bob, "While muted") == notifications_of(bob, "Still muted") == []
    await bob.page.get_by_test_id("mute").select_option("")
    await expect(bob.conversation(direct)).not_to_have_attribute("data-muted", "true")
    await alice.send("Unmuted")
    await expect_messages(bob, ["Buy cheap watches", "Sorry", "While muted", "Still muted", "Unmuted"])
    await told(bob, "Unmuted")
    assert_no_errors(alice)
    assert_no_errors(bob, ACCOUNT_PANEL)


async def test_changing_the_password_signs_out_the_other_devices_only(start_server, browser):
    # The logins of a second device, the attempts and the checks are more than the 5 a minute one email is allowed.
    server = start_server(**SERVER_ENV, THROTTLE_LOGIN_EMAIL="50/min")
    alice = await sign_up(browser, server, "Alice")
    bob = await sign_up(browser, server, "Bob")
    phone = await second_device(browser, server, alice)
    email = (await alice.session())["user"]["email"]
    direct = await direct_conversation(alice, bob)
    page = alice.page
    await page.click("#show-account")

    # A wrong current password is refused, in words.
    await page.get_by_test_id("password-current").fill("not-the-password")
    await page.get_by_test_id("password-new").fill("another-long-passphrase")
    await page.get_by_test_id("password-again").fill("another-long-passphrase")
    await page.click("#password-form button[type=submit]")
    await expect(page.locator("#notice")).to_contain_text("password")
    assert login_status(server, email, PASSWORD) == 200

    await page.get_by_test_id("password-current").fill(PASSWORD)
    await page.click("#password-form button[type=submit]")
    await expect(page.locator("#notice")).to_have_text(
        "Your password is changed. Every other device is signed out; this one carries on."
    )

    # The phone is signed out at once; this page carries on, its sockets back with the new session.
    await expect(phone.page.locator("#auth")).to_be_visible(timeout=10_000)
    await expect(phone.page.locator("#auth-error")).to_have_text("Your session has ended; log in again.")
    await expect(page.get_by_test_id("session")).to_have_count(1)
    await expect(page.locator("#feed-status")).to_have_attribute("data-state", "open", timeout=10_000)
    await expect(alice.room_state).to_have_attribute("data-state", "open", timeout=10_000)
    await alice.send("Still here")
    await bob.open(direct)
    await expect_messages(bob, ["Still here"])
    assert await page.evaluate("window.neverReloaded") is True
    assert login_status(server, email, PASSWORD) == 400
    assert login_status(server, email, "another-long-passphrase") == 200
    assert_no_errors(alice, REFUSED)
    assert phone.page_errors == []


async def test_deleting_the_account_returns_the_page_to_sign_in(start_server, browser):
    server = start_server(**SERVER_ENV)
    alice = await sign_up(browser, server, "Alice")
    email = (await alice.session())["user"]["email"]
    page = alice.page
    await page.click("#show-account")

    # On a phone (360 px), the Account panel's forms fit on the screen: nothing to scroll sideways.
    await page.set_viewport_size({"width": 360, "height": 740})
    panel = page.locator("#account")
    assert await panel.evaluate("(panel) => panel.getBoundingClientRect().width <= innerWidth")
    assert await panel.evaluate("(panel) => panel.scrollWidth <= panel.clientWidth")
    await page.set_viewport_size({"width": 1100, "height": 700})

    await page.get_by_test_id("delete-password").fill(PASSWORD)

    # Dismissing the confirmation keeps the account.
    page.once("dialog", lambda dialog: dialog.dismiss())
    await page.get_by_test_id("delete-account").click()
    await expect(page.locator("#app")).to_be_visible()
    assert login_status(server, email, PASSWORD) == 200

    page.once("dialog", lambda dialog: dialog.accept())
    await page.get_by_test_id("delete-account").click()
    await expect(page.locator("#auth")).to_be_visible()
    await expect(page.locator("#auth-error")).to_have_text("Your account is deleted.")
    assert await page.evaluate("sessionStorage.getItem('chat-demo-session')") is None
    assert login_status(server, email, PASSWORD) == 400
    assert_no_errors(alice, ACCOUNT_PANEL)
