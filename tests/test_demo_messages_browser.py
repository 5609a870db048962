"""
The demo client's message features (/demo/) in headless Chromium against a
real server process, two people where it is live: reactions with their
counts, replies that quote what they answer and lead to it (loading the
history back to it), and message search that opens a conversation at a
result. Files are in tests/test_demo_attachments_browser.py. Skipped as
tests/test_demo_browser.py is without playwright or Chromium.
"""

import re
import uuid

import pytest
from asgiref.sync import sync_to_async
from django.db import connection

from tests.test_demo_browser import (
    SERVER_ENV,
    assert_no_errors,
    expect,
    expect_messages,
    send_through_service,
    sign_up,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.live]

# More than the page's first page of a conversation (30), so the oldest are not loaded when it opens.
FILLER = [f"Filler {n}" for n in range(1, 41)]


@sync_to_async
def reply_through_service(
    conversation_id: str, sender_id: str, body: str, seq: int, in_thread: bool = False
):
    """A reply written elsewhere (another device) to the message with that seq, or in its thread."""
    from chat.messages.send import message_send
    from chat.models import ConversationMessage
    from useraccount.models import User

    try:
        answered = ConversationMessage.objects.get(
            conversation_id=conversation_id, seq=seq
        )
        message_send(
            conversation_id=conversation_id,
            sender=User.objects.get(id=sender_id),
            body=body,
            **{"thread_id" if in_thread else "reply_to": answered.id},
        )
    finally:
        connection.close()


async def direct_conversation(alice, bob) -> str:
    """Alice starts a direct conversation with Bob; both have it open."""
    await alice.page.fill("#start-user", bob.id)
    await alice.page.click("#start-form button")
    await expect(alice.room_state).to_have_attribute("data-state", "open")
    direct = await alice.active_conversation()
    await expect(bob.conversation(direct)).to_have_count(1)
    await bob.open(direct)
    return direct


def message(person, seq: int):
    return person.page.locator(f'#messages [data-seq="{seq}"]')


async def test_reactions_with_their_counts_live_in_the_demo_page(start_server, browser):
    server = start_server(**SERVER_ENV)
    alice = await sign_up(browser, server, "Alice")
    bob = await sign_up(browser, server, "Bob")
    await direct_conversation(alice, bob)
    await alice.send("Lunch at noon?")
    await expect_messages(bob, ["Lunch at noon?"])

    # Bob reacts with 👍 from the choices: both pages show it with its count, his as pressed.
    await message(bob, 1).get_by_test_id("react").click()
    await (
        message(bob, 1).get_by_test_id("reaction-choice").filter(has_text="👍").click()
    )
    for person in (alice, bob):
        await expect(message(person, 1).get_by_test_id("reaction")).to_have_text(
            ["👍 1"]
        )
    await expect(message(bob, 1).get_by_test_id("reaction")).to_have_attribute(
        "aria-pressed", "true"
    )
    await expect(message(alice, 1).get_by_test_id("reaction")).to_have_attribute(
        "aria-pressed", "false"
    )

    # Alice presses the same one: two. A second emoji goes after it.
    await message(alice, 1).get_by_test_id("reaction").click()
    await message(alice, 1).get_by_test_id("react").click()
    await (
        message(alice, 1)
        .get_by_test_id("reaction-choice")
        .filter(has_text="🎉")
        .click()
    )
    for person in (alice, bob):
        await expect(message(person, 1).get_by_test_id("reaction")).to_have_text(
            ["👍 2", "🎉 1"]
        )

    # Bob takes his back; the count drops for both, and the pressed state follows.
    await message(bob, 1).get_by_test_id("reaction").filter(has_text="👍").click()
    for person in (alice, bob):
        await expect(message(person, 1).get_by_test_id("reaction")).to_have_text(
            ["👍 1", "🎉 1"]
        )
    await expect(message(bob, 1).get_by_test_id("reaction").first).to_have_attribute(
        "aria-pressed", "false"
    )
    await expect(message(alice, 1).get_by_test_id("reaction").first).to_have_attribute(
        "aria-pressed", "true"
    )

    # A page opened afterwards reads the reactions with the messages.
    await bob.page.reload()
    await expect(bob.page.get_by_test_id("my-id")).to_have_text(bob.id)
    await bob.open(await alice.active_conversation())
    await expect(message(bob, 1).get_by_test_id("reaction")).to_have_text(
        ["👍 1", "🎉 1"]
    )
    assert_no_errors(alice)
    assert_no_errors(bob)


async def test_a_reply_quotes_what_it_answers_and_leads_to_it_in_the_demo_page(
    start_server, browser
):
    server = start_server(**SERVER_ENV)
    alice = await sign_up(browser, server, "Alice")
    bob = await sign_up(browser, server, "Bob")
    direct = await direct_conversation(alice, bob)
    await alice.send("Where do we meet?")
    await expect_messages(bob, ["Where do we meet?"])

    # Bob answers with "Reply": the composer says what he answers, and the reply carries a quote of it, live.
    await message(bob, 1).hover()
    await message(bob, 1).get_by_test_id("reply").click()
    await expect(bob.page.get_by_test_id("replying")).to_contain_text(
        "Alice: Where do we meet?"
    )
    await bob.send("At the station")
    await expect(bob.page.get_by_test_id("replying")).to_be_hidden()
    for person in (alice, bob):
        await expect_messages(person, ["Where do we meet?", "At the station"])
        await expect(message(person, 2).get_by_test_id("reply-quote")).to_have_text(
            "↩ Alice: Where do we meet?"
        )
    await expect(message(alice, 1).get_by_test_id("reply-quote")).to_have_count(0)

    # Escape gives up a reply before it is sent: the next message answers nothing.
    await message(bob, 2).hover()
    await message(bob, 2).get_by_test_id("reply").click()
    await expect(bob.page.get_by_test_id("replying")).to_be_visible()
    await bob.page.press("#message-input", "Escape")
    await expect(bob.page.get_by_test_id("replying")).to_be_hidden()

    # A reply to a message far back in the history: the quote leads there, by keyboard too,
    # loading the messages in between (none missing, none twice).
    await send_through_service(direct, alice.id, FILLER)
    await reply_through_service(direct, alice.id, "Still at the station?", seq=2)
    last = 2 + len(FILLER) + 1
    await bob.open(direct)  # the latest 30 afresh: seq 2 is not among them
    await expect(message(bob, last).get_by_test_id("reply-quote")).to_have_text(
        "↩ Bob: At the station"
    )
    await expect(message(bob, 2)).to_have_count(0)
    await message(bob, last).get_by_test_id("reply-quote").focus()
    await bob.page.keyboard.press("Enter")
    await expect(message(bob, 2)).to_be_focused()
    await expect(message(bob, 2)).to_have_class(re.compile(r"\bjumped\b"))
    await expect(message(bob, 2)).to_be_in_viewport()
    seqs = await bob.page.locator("#messages [data-seq]").evaluate_all(
        "items => items.map((item) => Number(item.dataset.seq))"
    )
    assert seqs == list(range(seqs[0], last + 1)) and seqs[0] <= 2
    assert_no_errors(alice)
    assert_no_errors(bob)


@sync_to_async
def make_group(creator_id: str, member_id: str, title: str) -> str:
    from chat.conversations.services import conversation_create_group
    from useraccount.models import User

    try:
        group, _ = conversation_create_group(
            creator=User.objects.get(id=creator_id),
            user_ids=[uuid.UUID(member_id)],
            title=title,
        )
        return str(group.id)
    finally:
        connection.close()


async def direct_id(person, other_than: str) -> str:
    """The id of the person's one conversation that is not ``other_than``."""
    ids = await person.page.locator("[data-testid=conversation]").evaluate_all(
        "items => items.map((item) => item.dataset.id)"
    )
    return next(id for id in ids if id != other_than)


async def test_searching_messages_opens_the_conversation_at_a_result_in_the_demo_page(
    start_server, browser
):
    server = start_server(**SERVER_ENV)
    alice = await sign_up(browser, server, "Alice")
    bob = await sign_up(browser, server, "Bob")
    group = await make_group(alice.id, bob.id, "Trip")
    await send_through_service(group, alice.id, ["The code word is pineapple", *FILLER])
    await reply_through_service(
        group, alice.id, "Mango for the trip", seq=1, in_thread=True
    )
    await direct_conversation(alice, bob)
    await alice.send("Nothing about fruit here")
    await expect_messages(bob, ["Nothing about fruit here"])

    # Searching only the open (direct) conversation finds nothing.
    await bob.page.get_by_test_id("search-here").check()
    await bob.page.fill("#search-q", "pineapple")
    await bob.page.press("#search-q", "Enter")
    await expect(bob.page.get_by_test_id("search-empty")).to_be_visible()

    # Every conversation: the group's old message, with where and who.
    await bob.page.get_by_test_id("search-here").uncheck()
    await bob.page.press("#search-q", "Enter")
    result = bob.page.get_by_test_id("search-result")
    await expect(result).to_have_count(1)
    await expect(result).to_contain_text("Trip · Alice")
    await expect(result).to_contain_text("The code word is pineapple")
    await expect(result.locator("mark")).to_have_text(["pineapple"])

    # Choosing it opens the group at that message, its history loaded back to it.
    await result.locator("button").click()
    await expect(bob.room_state).to_have_attribute("data-state", "open")
    assert await bob.active_conversation() == group
    first = message(bob, 1)
    await expect(first).to_be_focused()
    await expect(first.locator(".body")).to_have_text("The code word is pineapple")
    await expect(first).to_be_in_viewport()
    await expect(bob.page.locator("#messages [data-seq]")).to_have_count(
        1 + len(FILLER)
    )

    # A reply in a thread: its root is shown, and its thread opens beside it.
    await bob.open(await direct_id(bob, group))
    await bob.page.fill("#search-q", "mango")
    await bob.page.press("#search-q", "Enter")
    await expect(result).to_have_text(
        [re.compile("Mango for the trip")]
    )  # not the last search's
    await result.locator("button").click()
    await expect(bob.page.locator("#thread-replies [data-seq] .body")).to_have_text(
        ["Mango for the trip"]
    )
    assert await bob.active_conversation() == group
    await expect(first).to_have_class(re.compile(r"\bjumped\b"))
    assert_no_errors(alice)
    assert_no_errors(bob)
