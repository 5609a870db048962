"""
Finding people and managing groups in the demo client (/demo/), in headless
Chromium against a real server process: a person is found by typing the
start of their name (GET /api/auth/users/?q=) and messaged, or picked for a
new group; a group's owner renames it, adds someone found by name and
removes a member, and a member leaves, each shown live on the others' pages
(`conversation.updated`); a member sees none of the owner's controls.
Skipped as tests/test_demo_browser.py is without playwright or Chromium.
"""

import pytest

from tests.test_demo_browser import (
    SERVER_ENV,
    assert_no_errors,
    expect,
    sign_up,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.live]


async def test_finding_people_by_name_to_message_them_or_put_them_in_a_group(start_server, browser):
    server = start_server(**SERVER_ENV)
    alice = await sign_up(browser, server, "Alice")
    bob = await sign_up(browser, server, "Bob")
    carol = await sign_up(browser, server, "Carol")
    page = alice.page

    # The start of a name is enough; the one searching is never among the results.
    await page.get_by_test_id("people-search").press_sequentially("bo", delay=50)
    found = page.get_by_test_id("person")
    await expect(found).to_have_count(1)
    await expect(found).to_contain_text("Bob")
    await expect(found).to_have_attribute("data-user-id", bob.id)
    await page.get_by_test_id("people-search").fill("al")
    await expect(page.locator("#people-results")).to_have_text("Nobody by that name or email.")

    # Message: a direct conversation, which appears on his page live.
    await page.get_by_test_id("people-search").fill("bob")
    await found.get_by_test_id("message-person").click()
    await expect(page.locator("#room-title")).to_have_text("Bob")
    await expect(page.locator("#room-status")).to_have_attribute("data-state", "open")
    await expect(page.get_by_test_id("people-search")).to_have_value("")
    direct = await alice.active_conversation()
    await expect(bob.conversation(direct).locator(".title")).to_have_text("Alice")

    # Picked for a new group: names as chips, both in the group made.
    for query, name in (("car", "Carol"), ("bob", "Bob")):
        await page.get_by_test_id("people-search").fill(query)
        await expect(found.locator(".person-name")).to_have_text(name)
        await found.get_by_test_id("pick-person").click()
    await expect(page.get_by_test_id("picked")).to_have_text(["Carol×", "Bob×"])
    await page.fill("#group-title", "Trip")
    await page.click("#group-form button[type=submit]")
    await expect(page.locator("#room-title")).to_have_text("Trip")
    await expect(page.get_by_test_id("picked")).to_have_count(0)
    group = await alice.active_conversation()
    await expect(carol.conversation(group).locator(".title")).to_have_text("Trip")
    await expect(bob.conversation(group).locator(".title")).to_have_text("Trip")
    for person in (alice, bob, carol):
        assert_no_errors(person)


async def test_an_owner_renames_adds_and_removes_and_a_member_leaves_live(start_server, browser):
    server = start_server(**SERVER_ENV)
    alice = await sign_up(browser, server, "Alice")
    bob = await sign_up(browser, server, "Bob")
    carol = await sign_up(browser, server, "Carol")
    page = alice.page
    await page.fill("#group-title", "Trip")
    await page.fill("#group-users", bob.id)
    await page.click("#group-form button[type=submit]")
    await expect(page.locator("#room-title")).to_have_text("Trip")
    group = await alice.active_conversation()
    await page.click("#group-panel summary")

    # A member sees Leave, but no rename, no adding, no Remove.
    await bob.open(group)
    await bob.page.click("#group-panel summary")
    await expect(bob.page.get_by_test_id("group-member")).to_have_count(2)
    await expect(bob.page.get_by_test_id("leave-group")).to_be_visible()
    await expect(bob.page.get_by_test_id("group-rename")).to_be_hidden()
    await expect(bob.page.get_by_test_id("remove-member")).to_have_count(0)

    # The owner renames it: the member's title and list change live.
    await page.get_by_test_id("group-rename").fill("Trip to Lisbon")
    await page.get_by_test_id("group-rename").press("Enter")
    await expect(page.locator("#room-title")).to_have_text("Trip to Lisbon")
    await expect(bob.page.locator("#room-title")).to_have_text("Trip to Lisbon")
    await expect(bob.conversation(group).locator(".title")).to_have_text("Trip to Lisbon")

    # Adds someone found by name: the group appears in her list, and she among his members.
    await page.get_by_test_id("group-add-search").press_sequentially("car", delay=50)
    await page.get_by_test_id("add-member").click()
    await expect(carol.conversation(group).locator(".title")).to_have_text("Trip to Lisbon")
    await expect(bob.page.get_by_test_id("member")).to_have_count(2)
    await expect(page.get_by_test_id("group-member")).to_have_count(3)

    # Removes her while she has it open: her room closes and the group leaves her list.
    await carol.open(group)
    carol_row = page.get_by_test_id("group-member").filter(has_text="Carol")
    page.once("dialog", lambda dialog: dialog.accept())
    await carol_row.get_by_test_id("remove-member").click()
    await expect(carol.conversation(group)).to_have_count(0)
    await expect(carol.page.locator("#room")).to_be_hidden()
    await expect(bob.page.get_by_test_id("member")).to_have_count(1)

    # The member leaves: gone from his page, and from the owner's members, live.
    bob.page.once("dialog", lambda dialog: dialog.accept())
    await bob.page.get_by_test_id("leave-group").click()
    await expect(bob.conversation(group)).to_have_count(0)
    await expect(bob.page.locator("#room")).to_be_hidden()
    await expect(page.get_by_test_id("group-member")).to_have_count(1)
    await expect(page.get_by_test_id("member")).to_have_count(0)
    for person in (alice, bob, carol):
        assert_no_errors(person)
