"""
The admin as support staff use it, in real headless Chromium against a real
server process: log in, find a conversation in the list, read it page by page
with its markers, and narrow the message list with the autocomplete filter.

Needs the playwright package and a Chromium, as tests/test_demo_browser.py
does (skipped without them, failing under CI=true). With
``DEMO_SCREENSHOTS=<folder>`` it saves the screenshots docs/admin.md shows:

    DEMO_SCREENSHOTS=docs .venv/bin/python -m pytest tests/chat/test_admin_browser.py
"""

import os
import re
from pathlib import Path

import pytest

from tests.factories import DirectConversationFactory, GroupConversationFactory, UserFactory, bulk_messages
from tests.chat.test_admin import conversation_of_every_kind
from tests.test_demo_browser import CHROMIUM, CHROMIUM_ARGS, require

try:
    from playwright.sync_api import expect, sync_playwright
except ImportError:  # checked in the test, which says what is missing
    sync_playwright = expect = None

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.live]

STAFF_PASSWORD = "support-desk-passphrase"
CHATTER = [
    "Morning all", "Did anyone see the release notes?", "Yes, looks good to me", "Coffee first",
    "The build is green again", "Can someone review my change?", "On it", "Thanks!",
]


@pytest.fixture
def support_data(settings, make_user):
    """
    A staff user the server can log in (a hasher it knows), and a group of
    300 messages whose newest page ends with one of every kind.
    """
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]
    staff = UserFactory(email="support@example.com", password=STAFF_PASSWORD, name="Sam Support", is_superuser=True)
    alice, bob, carol = make_user("Alice"), make_user("Bob"), make_user("Carol")
    DirectConversationFactory(user=alice, other=bob)
    DirectConversationFactory(user=carol, other=make_user("Dave"))
    group = GroupConversationFactory(creator=alice, members=[bob, carol], title="Team")
    bulk_messages(group, [alice, bob, carol], 293, bodies=CHATTER)
    # A heart, which the fonts of a bare server's Chromium have (few have colour emoji).
    sent = conversation_of_every_kind(group, alice, bob, carol, staff, emoji="❤")
    assert group.last_seq == 300
    return {"staff": staff, "group": group, "sent": sent}


def test_support_staff_read_a_conversation_in_the_admin(start_server, support_data):
    require(sync_playwright is not None, "the playwright package is not installed (requirements-dev.txt)")
    require(os.path.exists(CHROMIUM), f"no Chromium at {CHROMIUM} (set CHROMIUM to its path)")
    folder = os.environ.get("DEMO_SCREENSHOTS")
    shots = Path(folder) if folder else None
    if shots:
        shots.mkdir(parents=True, exist_ok=True)
    server = start_server()
    group = support_data["group"]

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            errors = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto(f"{server.http}/admin/login/?next=/admin/chat/conversation/")
            page.fill("#id_username", "support@example.com")
            page.fill("#id_password", STAFF_PASSWORD)
            page.click("input[type=submit]")

            # The list: direct conversations by their members' names, the group by title, kinds and counts.
            rows = page.locator("#result_list tbody tr")
            expect(rows).to_have_count(3)
            expect(page.locator("#result_list")).to_contain_text("Alice & Bob")
            expect(page.locator("#result_list")).to_contain_text("Carol & Dave")
            team = rows.filter(has_text="Lunch club")
            expect(team.locator("td.field-kind")).to_have_text("group")
            expect(team.locator("td.field-member_count")).to_have_text("3")
            expect(team.locator("td.field-message_count")).to_have_text("300")
            expect(rows.filter(has_text="Alice & Bob").locator("td.field-kind")).to_have_text("direct")
            assert not re.search(r"[0-9a-f]{8}-[0-9a-f]{4}-", page.locator("#result_list").inner_text()), \
                "no conversation goes by its UUID"
            if shots:
                page.screenshot(path=shots / "admin-conversations.png")

            # A conversation's page: the newest hundred, oldest first, with page links.
            team.locator("th a").click()
            expect(page.get_by_test_id("transcript-summary")).to_contain_text("Messages 201–300 of 300, oldest first")
            messages = page.get_by_test_id("message")
            expect(messages).to_have_count(100)
            seqs = [int(seq) for seq in messages.evaluate_all("rows => rows.map(row => row.dataset.seq)")]
            assert seqs == list(range(201, 301))
            pager = page.locator(".transcript-pager").first
            expect(pager.locator(".this-page")).to_have_text("3")
            expect(pager.get_by_role("link", name="‹ older")).to_be_visible()
            expect(pager.get_by_role("link", name="newer ›")).to_have_count(0)

            sent = support_data["sent"]

            def row(message):
                return page.locator(f"#seq-{message.seq}")

            expect(row(sent["reply"]).get_by_test_id("reply")).to_contain_text("by Alice: Lunch at noon?")
            expect(row(sent["reply"]).get_by_test_id("reaction")).to_have_text("❤️ 1")
            expect(row(sent["with_file"]).get_by_test_id("attachment")).to_contain_text("menu.pdf")
            expect(row(sent["edited"]).get_by_test_id("marker-edited")).to_be_visible()
            expect(row(sent["edited"]).get_by_test_id("body")).to_have_text("See you at 12:30")
            expect(row(sent["deleted"]).get_by_test_id("marker-deleted")).to_be_visible()
            expect(row(sent["deleted"]).get_by_test_id("body")).to_have_text("Deleted by its author; the text is gone.")
            expect(row(sent["moderated"]).get_by_test_id("marker-moderated")).to_contain_text("by Sam Support")
            expect(row(sent["moderated"]).get_by_test_id("body")).to_have_text("Something rude")
            expect(row(sent["system"]).get_by_test_id("marker-system")).to_be_visible()
            expect(row(sent["system"]).get_by_test_id("body")).to_have_text("Alice renamed the group to “Lunch club”")
            expect(row(sent["question"]).locator("time")).to_have_text(re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$"))
            # Read-only: nothing to save or delete.
            expect(page.locator("input[name=_save]")).to_have_count(0)
            expect(page.locator("a.deletelink")).to_have_count(0)
            if shots:
                page.locator("#toggle-nav-sidebar").click()
                page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
                page.screenshot(path=shots / "admin-conversation.png")

            # The file downloads from its link.
            with page.expect_download() as download:
                row(sent["with_file"]).get_by_test_id("attachment").get_by_role("link").click()
            assert download.value.suggested_filename == "menu.pdf"

            # Older pages, oldest first.
            pager.get_by_role("link", name="1", exact=True).click()
            expect(page.get_by_test_id("transcript-summary")).to_contain_text("Messages 1–100 of 300")
            expect(messages.first).to_have_attribute("data-seq", "1")
            expect(messages.last).to_have_attribute("data-seq", "100")

            # The message list, narrowed to one conversation with the autocomplete filter.
            page.goto(f"{server.http}/admin/chat/conversationmessage/")
            filter_box = page.locator("select.django-admin-list-filter-ajax[data-field-name=conversation]")
            filter_box.locator("xpath=following-sibling::span[contains(@class, 'select2')]").first.click()
            page.locator(".select2-search__field").fill("lunch")
            page.locator(".select2-results__option", has_text="Lunch club").click()
            page.wait_for_url(re.compile(rf"conversation__id__exact={group.id}"))
            expect(page.locator("#result_list tbody tr")).to_have_count(100)
            expect(page.locator("#result_list tbody tr").first).to_contain_text("Lunch club")
            assert errors == []
        finally:
            browser.close()
