"""
Every panel of the web client on a phone-sized screen (390 x 844), in
headless Chromium against a real server process: a person can open each one
and use it without the page growing wider than the screen or its controls
falling off it. Skipped as tests/test_demo_browser.py is without playwright
or Chromium.
"""

import re

import pytest

from tests.test_demo_browser import (
    PHONE_SCREEN,
    SERVER_ENV,
    assert_no_errors,
    expect,
    expect_messages,
    sign_up,
)
from tests.test_demo_layout_browser import assert_fits, assert_on_screen, start_direct

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.live]


@pytest.mark.slow
async def test_every_panel_fits_a_phone(start_server, browser):
    server = start_server(**SERVER_ENV)
    alice = await sign_up(browser, server, "Alice")
    bob = await sign_up(browser, server, "Bob")
    page, size = alice.page, PHONE_SCREEN
    await page.set_viewport_size(size)
    missing = []
    page.on("response", lambda response: missing.append(response.url) if response.status == 404 else None)

    async def fits(*controls):
        await assert_fits(page, size)
        for control in controls:
            await assert_on_screen(page.locator(control).first, size)

    # The list: finding people by name, and searching messages.
    await page.get_by_test_id("people-search").fill("Bob")
    await expect(page.locator("#people-results li").first).to_be_visible()
    await fits("[data-testid=people-search]")
    await page.get_by_test_id("people-search").fill("")

    # A conversation: messages, a reaction, a reply, a thread, the composer and its attach button.
    await start_direct(alice, bob)
    await alice.send("hello from the phone")
    await expect_messages(alice, ["hello from the phone"])
    message = page.locator("#messages [data-testid=message]").last
    await message.get_by_test_id("react").click()
    await message.get_by_test_id("reaction-choice").first.click()
    await fits("#message-input", "#composer button[type=submit]", "#composer .attach")
    await message.get_by_test_id("thread-line").click()
    await expect(page.locator("#thread")).to_be_visible()
    await fits("#thread")
    await page.keyboard.press("Escape")
    await expect(page.locator("#thread")).to_be_hidden()

    # The status dialog, the account panel, the scheduled and pins panels, the message search.
    await page.get_by_test_id("back-to-list").click()
    await page.get_by_test_id("set-status").click()
    await fits("[data-testid=status-text]")
    await page.keyboard.press("Escape")
    await page.get_by_test_id("show-account").click()
    await fits("[data-testid=profile-name]", "[data-testid=password-current]")
    await page.locator("#close-account").click()
    await page.get_by_test_id("search-q").fill("hello")
    await page.get_by_test_id("search-q").press("Enter")
    await expect(page.locator("#search-results li").first).to_be_visible()
    await fits("#search-results li")
    # The account panel asks for the data export, which is 404 until one is asked for (docs/exports.md).
    assert [url for url in missing if not url.endswith("/api/auth/export/")] == []
    assert_no_errors(alice, re.compile(r"the server responded with a status of 404"))
