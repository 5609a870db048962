"""
Files in the demo client (/demo/), in headless Chromium against a real
server process: a message carries an image and a text file; the other person
sees the image as a thumbnail (fetched with the token and drawn as a data:
URL, as the page's Content-Security-Policy allows) and downloads the text
file under its name. A file the server refuses, too large or of a type it does
not take, is named with the server's error and the text typed stays. Skipped
as tests/test_demo_browser.py is without playwright or Chromium.
"""

import asyncio
import io
import re
from pathlib import Path

import pytest
from asgiref.sync import sync_to_async
from django.db import connection
from PIL import Image

from tests.test_demo_browser import (
    NETWORK_DOWN_ERRORS,
    SERVER_ENV,
    assert_no_errors,
    expect,
    expect_messages,
    sign_up,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.live]

MAX_BYTES = 100_000
# The refusals the test causes, as Chromium logs them; and what it logs when a
# refusal comes before the upload's body has been read.
REFUSED = re.compile(
    rf"{NETWORK_DOWN_ERRORS.pattern}|Failed to load resource: the server responded with a status of 41[35]"
)


@sync_to_async
def thread_reply_with_a_file(
    conversation_id: str, sender_id: str, root_seq: int, name: str, data: bytes
):
    """A reply in the thread of the message with ``root_seq``, carrying one file, sent from elsewhere."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from chat.attachments.services import attachment_upload
    from chat.messages.send import message_send
    from chat.models import ConversationMessage
    from useraccount.models import User

    try:
        sender = User.objects.get(id=sender_id)
        root = ConversationMessage.objects.get(
            conversation_id=conversation_id, seq=root_seq
        )
        upload = attachment_upload(
            conversation_id=conversation_id,
            user=sender,
            file=SimpleUploadedFile(name, data),
        )
        message_send(
            conversation_id=conversation_id,
            sender=sender,
            body="",
            thread_id=root.id,
            attachment_ids=[upload.id],
        )
    finally:
        connection.close()


def png(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 40, 40)).save(buffer, format="PNG")
    return buffer.getvalue()


async def test_files_in_a_message_and_refused_files_in_the_demo_page(
    start_server, browser
):
    server = start_server(**SERVER_ENV, CHAT_ATTACHMENT_MAX_BYTES=str(MAX_BYTES))
    alice = await sign_up(browser, server, "Alice")
    bob = await sign_up(browser, server, "Bob")
    await alice.page.fill("#start-user", bob.id)
    await alice.page.click("#start-form button")
    await expect(alice.room_state).to_have_attribute("data-state", "open")
    direct = await alice.active_conversation()
    await expect(bob.conversation(direct)).to_have_count(1)
    await bob.open(direct)

    # Alice attaches an image and a text file, then sends them with a line of text.
    await alice.page.get_by_test_id("attach-file").set_input_files(
        [
            {"name": "beach.png", "mimeType": "image/png", "buffer": png(600, 400)},
            {
                "name": "notes.txt",
                "mimeType": "text/plain",
                "buffer": b"Bring snacks\n",
            },
        ]
    )
    await expect(alice.page.get_by_test_id("attachment-pending")).to_have_count(2)
    await alice.send("Photos from Sunday")
    await expect(alice.page.get_by_test_id("attachment-pending")).to_have_count(0)
    for person in (alice, bob):
        await expect_messages(person, ["Photos from Sunday"])
        files = person.page.locator(
            '#messages [data-seq="1"] [data-testid=attachment-download]'
        )
        await expect(files).to_have_text(
            [re.compile(r"^beach\.png · \d+ KB$"), "notes.txt · 13 B"]
        )
        # The thumbnail: a small data: URL drawn from the fetched bytes, shown (not a broken image).
        image = person.page.locator(
            '#messages [data-seq="1"] [data-testid=attachment-image]'
        )
        await expect(image).to_have_attribute(
            "src", re.compile(r"^data:image/png;base64,")
        )
        assert await image.evaluate("(img) => img.complete && img.naturalWidth") == 240
        await expect(image).to_have_attribute("alt", "beach.png")

    # Bob downloads the text file: its own name, its bytes.
    async with bob.page.expect_download() as download_info:
        await (
            bob.page.locator("#messages [data-testid=attachment-download]")
            .filter(has_text="notes.txt")
            .click()
        )
    download = await download_info.value
    assert download.suggested_filename == "notes.txt"
    saved = Path(await download.path())
    assert await asyncio.to_thread(saved.read_bytes) == b"Bring snacks\n"

    # A file with nothing but files: the text may be empty.
    await bob.page.get_by_test_id("attach-file").set_input_files(
        [{"name": "reply.txt", "mimeType": "text/plain", "buffer": b"ok"}]
    )
    await expect(bob.page.get_by_test_id("attachment-pending")).to_have_text(
        [re.compile(r"^reply\.txt \(2 B\)")]
    )
    await bob.page.press("#message-input", "Enter")
    await expect(
        alice.page.locator('#messages [data-seq="2"] [data-testid=attachment-download]')
    ).to_have_text("reply.txt · 2 B")

    # A reply in a thread with a file: the thread pane lists the file too.
    await thread_reply_with_a_file(direct, alice.id, 1, "plan.txt", b"Day 1: beach\n")
    await bob.page.locator('#messages [data-seq="1"] [data-testid=thread-line]').click()
    await expect(
        bob.page.locator("#thread-replies [data-testid=attachment-download]")
    ).to_have_text("plan.txt · 13 B")

    # A file dropped on the composer is attached as one chosen.
    await alice.page.locator("#composer").evaluate(
        """(composer) => {
            const files = new DataTransfer();
            files.items.add(new File(["dropped"], "dropped.txt", {type: "text/plain"}));
            composer.dispatchEvent(new DragEvent("drop", {dataTransfer: files, bubbles: true, cancelable: true}));
        }"""
    )
    await expect(alice.page.get_by_test_id("attachment-pending")).to_have_text(
        [re.compile(r"^dropped\.txt \(7 B\)")]
    )
    await alice.page.get_by_role("button", name="Remove dropped.txt").click()
    await expect(alice.page.get_by_test_id("attachment-pending")).to_have_count(0)

    # Refused files: the server's own words under the composer, and what was typed is still there.
    await alice.page.fill("#message-input", "Here is the page")
    refusals = [
        (
            {
                "name": "page.html",
                "mimeType": "text/html",
                "buffer": b"<!doctype html><html><script>alert(1)</script></html>",
            },
            re.compile(
                r"^page\.html: Files of type [\w/.+-]+ are not accepted; accepted: "
            ),
        ),
        (
            {
                "name": "big.txt",
                "mimeType": "text/plain",
                "buffer": b"a" * (MAX_BYTES + 1),
            },  # read, then refused
            f"big.txt: The file is larger than {MAX_BYTES} bytes.",
        ),
        (
            {
                "name": "huge.txt",
                "mimeType": "text/plain",
                "buffer": b"a" * (MAX_BYTES * 4),
            },  # refused from its length
            f"huge.txt: The file is larger than {MAX_BYTES} bytes.",
        ),
    ]
    for file, said in refusals:
        await alice.page.get_by_test_id("attach-file").set_input_files([file])
        await expect(alice.page.get_by_test_id("attach-error")).to_contain_text(said)
        await expect(alice.page.locator("#message-input")).to_have_value(
            "Here is the page"
        )
        await expect(alice.page.get_by_test_id("attachment-pending")).to_have_count(0)
    await alice.page.press("#message-input", "Enter")
    await expect_messages(bob, ["Photos from Sunday", "", "Here is the page"])
    await expect(alice.page.get_by_test_id("attach-error")).to_be_empty()
    assert_no_errors(alice, REFUSED)
    assert_no_errors(bob)
