"""
The web client's layout and keyboard (/demo/), in headless Chromium against a
real server process, at a desktop size and at a phone's (390 x 844): one pane
at a time on a phone with a way back to the list, nothing wider than the
screen, the composer on screen; Enter sends and Shift+Enter starts a new line;
Escape closes what is open; Enter on the sign-in form registers once a name is
filled in; a reload reopens the open conversation; the tab's title counts the
unread messages; the page has a favicon of its own. Skipped as
tests/test_demo_browser.py is without playwright or Chromium.
"""

import re
import uuid

import pytest

from tests.test_demo_browser import (
    DEMO_PATH,
    DESKTOP_SCREEN,
    PASSWORD,
    PHONE_SCREEN,
    SERVER_ENV,
    assert_no_errors,
    expect,
    expect_messages,
    sign_up,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.live]

DESKTOP, PHONE = DESKTOP_SCREEN, PHONE_SCREEN
SIZES = pytest.mark.parametrize("size", [DESKTOP, PHONE], ids=["desktop", "phone"])


async def assert_fits(page, size: dict):
    """Nothing makes the page wider than the screen (no sideways scrolling)."""
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= size["width"], f"the page is {width} px wide on a {size['width']} px screen"


async def assert_on_screen(locator, size: dict):
    box = await locator.bounding_box()
    assert box is not None, locator
    assert box["x"] >= 0 and box["x"] + box["width"] <= size["width"], box
    assert box["y"] >= 0 and box["y"] + box["height"] <= size["height"], box


async def start_direct(alice, bob) -> str:
    await alice.page.fill("#start-user", bob.id)
    await alice.page.click("#start-form button")
    await expect(alice.room_state).to_have_attribute("data-state", "open")
    return await alice.active_conversation()


@pytest.mark.slow
@SIZES
async def test_one_pane_at_a_time_on_a_phone_and_two_on_a_desktop(start_server, browser, size):
    server = start_server(**SERVER_ENV)
    alice = await sign_up(browser, server, "Alice")
    bob = await sign_up(browser, server, "Bob")
    phone = size is PHONE
    page = alice.page
    await page.set_viewport_size(size)
    await assert_fits(page, size)
    await expect(page.locator(".sidebar")).to_be_visible()

    direct = await start_direct(alice, bob)
    # A long word and a long message must wrap, not widen the page.
    await alice.send("x" * 300)
    await alice.send("A long message " * 30)
    await expect_messages(alice, ["x" * 300, ("A long message " * 30).strip()])
    await assert_fits(page, size)
    await expect(page.locator("#room")).to_be_visible()
    for control in ("#message-input", "#composer button[type=submit]"):
        await assert_on_screen(page.locator(control), size)
    back = page.get_by_test_id("back-to-list")
    if phone:
        # The conversation has the screen to itself, and a visible way back.
        await expect(page.locator(".sidebar")).to_be_hidden()
        history = await page.locator("#history").bounding_box()
        assert history["width"] >= size["width"] - 2, history
        await expect(back).to_be_visible()
        await back.click()
        await expect(page.locator(".sidebar")).to_be_visible()
        await expect(page.locator("#room")).to_be_hidden()
        await assert_fits(page, size)
        await alice.open(direct)
        await expect(page.locator(".sidebar")).to_be_hidden()
    else:
        await expect(page.locator(".sidebar")).to_be_visible()
        await expect(back).to_be_hidden()

    # The thread pane fits too (on a phone it covers the conversation).
    await page.locator('#messages [data-seq="1"] [data-testid=thread-line]').click()
    await expect(page.locator("#thread")).to_be_visible()
    await assert_on_screen(page.locator("#thread-composer button[type=submit]"), size)
    await assert_fits(page, size)
    assert_no_errors(alice)


@pytest.mark.slow
@SIZES
async def test_the_keyboard_writes_lines_sends_and_closes(start_server, browser, size):
    server = start_server(**SERVER_ENV)
    alice = await sign_up(browser, server, "Alice")
    bob = await sign_up(browser, server, "Bob")
    for person in (alice, bob):
        await person.page.set_viewport_size(size)
    page = alice.page
    direct = await start_direct(alice, bob)
    await bob.open(direct)

    # Shift+Enter starts a new line, Enter sends: one message of two lines, shown as two.
    await page.focus("#message-input")
    await page.keyboard.type("First line")
    await page.keyboard.press("Shift+Enter")
    await page.keyboard.type("second line")
    await page.keyboard.press("Enter")
    await expect_messages(bob, ["First line\nsecond line"])
    body = bob.page.locator('#messages [data-seq="1"] .body')
    await expect(body).to_have_js_property("innerText", "First line\nsecond line")
    line_height = await body.evaluate("element => parseFloat(getComputedStyle(element).lineHeight)")
    assert (await body.bounding_box())["height"] >= 1.9 * line_height
    await expect(page.locator("#message-input")).to_have_value("")

    # The Edit button is in the tab order (not only shown on hover), and visibly focused.
    await page.focus("#message-input")
    await page.keyboard.press("Shift+Tab")  # from the composer back into the timeline
    edit = page.locator('#messages [data-seq="1"]').get_by_role("button", name="Edit")
    for _ in range(10):
        if await edit.evaluate("element => element === document.activeElement"):
            break
        await page.keyboard.press("Shift+Tab")
    await expect(edit).to_be_focused()
    assert await edit.evaluate("element => getComputedStyle(element).outlineStyle") != "none"
    assert await edit.evaluate("element => getComputedStyle(element.parentElement).opacity") == "1"
    await page.keyboard.press("Enter")
    await expect(page.locator("#editing")).to_be_visible()
    await expect(page.locator("#message-input")).to_be_focused()
    await page.keyboard.press("Escape")  # ends the edit, and nothing else
    await expect(page.locator("#editing")).to_be_hidden()
    await expect(page.locator("#room")).to_be_visible()

    # A thread opened from the keyboard closes with Escape; a dialog too.
    await page.locator('#messages [data-seq="1"] [data-testid=thread-line]').focus()
    await page.keyboard.press("Enter")
    await expect(page.locator("#thread")).to_be_visible()
    await expect(page.locator("#thread-input")).to_be_focused()
    await page.keyboard.press("Escape")
    await expect(page.locator("#thread")).to_be_hidden()
    if size is PHONE:
        # With nothing else open, Escape leads back to the list.
        await page.locator("#message-input").focus()
        await page.keyboard.press("Escape")
        await expect(page.locator(".sidebar")).to_be_visible()
        await expect(page.locator("#room")).to_be_hidden()
    await page.locator("#set-status").focus()
    await page.keyboard.press("Enter")
    await expect(page.locator("#status-dialog")).to_be_visible()
    await page.keyboard.press("Escape")
    await expect(page.locator("#status-dialog")).to_be_hidden()
    assert_no_errors(alice)
    assert_no_errors(bob)


@pytest.mark.slow
@SIZES
async def test_enter_on_the_sign_in_form_registers_when_a_name_is_filled_in(start_server, browser, size):
    server = start_server(**SERVER_ENV)
    context = await browser.new_context(viewport=size)
    page = await context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    await page.goto(f"{server.http}{DEMO_PATH}")
    await assert_fits(page, size)
    email = f"dana.{uuid.uuid4().hex[:8]}@example.com"
    hint = page.get_by_test_id("auth-hint")
    await expect(hint).to_have_text(re.compile("^Enter logs in"))

    # With a name filled in, the page says Enter creates the account, and it does.
    await page.fill("#auth-form [name=email]", email)
    await page.fill("#auth-form [name=name]", "Dana")
    await page.fill("#auth-form [name=password]", PASSWORD)
    await expect(hint).to_have_text("Enter creates your account (a name is filled in).")
    await page.press("#auth-form [name=password]", "Enter")
    await expect(page.locator("#my-name")).to_have_text("Dana")

    # Without a name, Enter logs in.
    await page.click("#logout")
    await expect(hint).to_have_text(re.compile("^Enter logs in"))
    await page.fill("#auth-form [name=email]", email)
    await page.fill("#auth-form [name=password]", PASSWORD)
    await page.press("#auth-form [name=password]", "Enter")
    await expect(page.locator("#my-name")).to_have_text("Dana")
    await expect(page.locator("#auth-error")).to_have_text("")
    assert errors == []
    await context.close()


@pytest.mark.slow
@SIZES
async def test_a_reload_reopens_the_conversation_that_was_open(start_server, browser, size):
    server = start_server(**SERVER_ENV)
    alice = await sign_up(browser, server, "Alice")
    bob = await sign_up(browser, server, "Bob")
    await alice.page.set_viewport_size(size)
    direct = await start_direct(alice, bob)
    await alice.send("Before the reload")
    await expect_messages(alice, ["Before the reload"])
    await alice.page.reload()
    await expect(alice.page.locator("#room-title")).to_have_text("Bob")
    await expect(alice.room_state).to_have_attribute("data-state", "open")
    await expect_messages(alice, ["Before the reload"])
    assert await alice.active_conversation() == direct
    # Back to the list: a reload then shows the list.
    if size is PHONE:
        await alice.page.get_by_test_id("back-to-list").click()
        await alice.page.reload()
        await expect(alice.page.locator(".sidebar")).to_be_visible()
        await expect(alice.page.locator("#room")).to_be_hidden()
    assert_no_errors(alice)


@pytest.mark.slow
async def test_the_tab_title_counts_unread_messages(start_server, browser):
    server = start_server(**SERVER_ENV)
    alice = await sign_up(browser, server, "Alice")
    bob = await sign_up(browser, server, "Bob")
    await expect(bob.page).to_have_title("Chat")
    direct = await start_direct(alice, bob)
    await alice.send("One")
    await alice.send("Two")
    await expect(bob.conversation(direct).get_by_test_id("unread")).to_have_text("2")
    await expect(bob.page).to_have_title("(2) Chat")
    await bob.open(direct)
    await expect(bob.page).to_have_title("Chat")
    assert_no_errors(bob)


@pytest.mark.slow
async def test_the_page_has_a_favicon_of_its_own(start_server, browser):
    server = start_server()
    context = await browser.new_context()
    page = await context.new_page()
    outside = []
    page.on("request", lambda request: request.url.startswith(server.http) or outside.append(request.url))
    await page.goto(f"{server.http}/demo/")
    href = await page.locator("link[rel=icon]").evaluate("link => link.href")
    assert href.startswith(f"{server.http}/"), href
    answer = await page.request.get(href)
    assert answer.status == 200
    assert answer.headers["content-type"].startswith("image/svg+xml")
    assert b"<svg" in await answer.body()
    assert outside == []
    await context.close()
