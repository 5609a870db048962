"""
The demo client's Account panel (/demo/) in headless Chromium against a real
server process: a person signed in on two devices sees both sessions, signs
the other one out, and that page is signed out at once (its sockets close
with 4401); they ask for a copy of their data, see it pending, then a
download link once `export.updated` says it is ready; asking again the same
day is refused in plain words. Skipped as tests/test_demo_browser.py is
without playwright or Chromium.
"""

import re

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connection

from tests.plugins.servers import http_request
from tests.test_demo_browser import (
    SERVER_ENV,
    assert_no_errors,
    expect,
    sign_up,
)
from tests.test_demo_status_drafts_browser import second_device

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.live]

# The browser logs every answer that is not a 2xx: GET /api/auth/export/ is a
# 404 until one asks, and the second ask a 429 (which the page shows in words).
EXPORT_ANSWERS = re.compile(r"the server responded with a status of (404|429)")


@sync_to_async
def build_without_the_servers_worker(user_id: str):
    """
    With Redis the build waits for ``manage.py push_worker``, which this test
    does not run: build it here, as that worker would (the frame still goes
    through Redis to the page). The embedded server builds it on its own threads.
    """
    if not settings.REDIS_URL:
        return
    from chat.exports.services import export_build
    from chat.models import DataExport

    try:
        export_build(export_id=DataExport.objects.get(user_id=user_id).id)
    finally:
        connection.close()  # this worker thread's own; left open, the test database could not be dropped


async def test_sessions_and_the_data_export_in_the_account_panel(start_server, browser):
    server = start_server(**SERVER_ENV)
    alice = await sign_up(browser, server, "Alice")
    phone = await second_device(browser, server, alice)
    page = alice.page

    # Two sessions, this one marked; the other signed out from here.
    await page.click("#show-account")
    sessions = page.get_by_test_id("session")
    await expect(sessions).to_have_count(2)
    await expect(page.get_by_test_id("this-device")).to_have_count(1)
    await expect(sessions.first).to_contain_text("127.0.0.1")
    await expect(sessions.first).to_contain_text("last used")
    await page.get_by_test_id("end-session").click()
    await expect(sessions).to_have_count(1)
    await expect(sessions).to_contain_text("this device")

    # The phone's page finds itself signed out, without a reload.
    await expect(phone.page.locator("#auth")).to_be_visible(timeout=10_000)
    await expect(phone.page.locator("#auth-error")).to_have_text("Your session has ended; log in again.")
    assert await phone.page.evaluate("sessionStorage.getItem('chat-demo-session')") is None

    # Export: asked (after a confirmation), then a link once it is built.
    await expect(page.get_by_test_id("export-state")).to_have_text(re.compile("not asked"))
    page.once("dialog", lambda dialog: dialog.accept())
    await page.get_by_test_id("export-ask").click()
    await expect(page.get_by_test_id("export-state")).to_have_attribute(
        "data-state", re.compile("pending|building|ready"))
    await build_without_the_servers_worker(alice.id)
    download = page.get_by_test_id("export-download")
    await expect(download).to_be_visible(timeout=10_000)
    await expect(page.get_by_test_id("export-state")).to_have_text("Ready.")
    href = await download.get_attribute("href")
    assert "/api/auth/export/download/" in href
    archive = http_request(href)
    assert archive.status == 200 and archive.body[:2] == b"PK"  # a zip, through the signed link alone

    # Once a day: the second ask is refused, in words.
    page.once("dialog", lambda dialog: dialog.accept())
    await page.get_by_test_id("export-ask").click()
    await expect(page.get_by_test_id("export-state")).to_have_text(
        re.compile(r"^You can ask for one copy of your data a day; you can ask again from .+\.$"))
    assert_no_errors(alice, EXPORT_ANSWERS)
    assert phone.page_errors == []
