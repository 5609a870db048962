"""
What the web client (/demo/) used to get wrong, each in headless Chromium
against a real server process: system messages looked like anyone's bubble
and offered Edit and Delete, and receipts named members who had left;
logging out while a typing notice showed threw; editing told the others
"is typing…"; a new direct conversation showed the other person offline;
an untitled group of two read like the direct conversation; a fast burst
lost what was typed (and edits) to "Too many frames". Skipped as
tests/test_demo_browser.py is without playwright or Chromium.
"""

import asyncio
import json
import re

import pytest

from tests.test_demo_browser import (
    SERVER_ENV,
    Person,
    assert_no_errors,
    expect,
    expect_messages,
    sign_up,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.live]


async def call_api(person: Person, method: str, path: str, body: dict | None = None) -> int:
    """A REST call from the person's page, with the page's own token; the answer's status."""
    return await person.page.evaluate(
        """async ([method, path, body]) => {
            const {access} = JSON.parse(sessionStorage.getItem("chat-demo-session"));
            const response = await fetch(path, {
                method,
                headers: {"Content-Type": "application/json", Authorization: `Bearer ${access}`},
                body: body === null ? undefined : JSON.stringify(body),
            });
            return response.status;
        }""",
        [method, path, body],
    )


async def start_direct(alice: Person, bob: Person) -> str:
    await alice.page.fill("#start-user", bob.id)
    await alice.page.click("#start-form button")
    await expect(alice.room_state).to_have_attribute("data-state", "open")
    return await alice.active_conversation()


async def make_group(alice: Person, members: list[Person], title: str = "") -> str:
    active = alice.page.locator("[data-testid=conversation].active")
    before = await active.get_attribute("data-id") if await active.count() else None
    await alice.page.fill("#group-title", title)
    await alice.page.fill("#group-users", ",".join(member.id for member in members))
    await alice.page.click("#group-form button")
    if before:  # until the group opens, the conversation open before is "open"
        await expect(active).not_to_have_attribute("data-id", before)
    await expect(alice.room_state).to_have_attribute("data-state", "open")
    return await alice.active_conversation()


def frames_of_type(person: Person, frame_type: str) -> list[dict]:
    frames = [json.loads(text) for socket in person.sockets for _, text in socket["received"]]
    return [frame for frame in frames if frame["type"] == frame_type]


@pytest.mark.slow
async def test_system_messages_are_notices_and_receipts_forget_who_left(start_server, browser):
    server = start_server(**SERVER_ENV)
    alice = await sign_up(browser, server, "Alice")
    bob = await sign_up(browser, server, "Bob")
    group = await make_group(alice, [bob], "Team")
    await alice.send("Hello team")
    await bob.open(group)
    await expect_messages(bob, ["Hello team"])
    await expect(alice.page.get_by_test_id("receipt")).to_have_text("Seen by Bob")

    # Alice renames the group: her own system message is a notice, nothing to edit or delete.
    assert await call_api(alice, "PATCH", f"/api/chat/{group}/", {"title": "Crew"}) == 200
    renamed = alice.page.locator("#messages [data-seq]").last
    await expect(renamed.locator(".body")).to_contain_text("Crew")
    await expect(renamed).to_have_class(re.compile(r"\bsystem\b"))
    await expect(renamed).not_to_have_class(re.compile(r"\bmine\b"))
    await expect(renamed.get_by_role("button")).to_have_count(0)
    await expect(renamed.locator(".author")).to_have_count(0)

    # Bob leaves: a notice for Alice, and nobody who left is among those who saw.
    assert await call_api(bob, "DELETE", f"/api/chat/{group}/members/{bob.id}/") == 204
    left = alice.page.locator("#messages [data-seq]").last
    await expect(left.locator(".body")).to_have_text("Bob left")
    await expect(left).to_have_class(re.compile(r"\bsystem\b"))
    await expect(left.get_by_role("button")).to_have_count(0)
    await expect(alice.page.get_by_test_id("receipt")).to_have_count(0)
    await expect(alice.page.locator("#messages")).not_to_contain_text("Seen by")
    assert_no_errors(alice)


@pytest.mark.slow
async def test_logging_out_while_someone_is_typing_throws_nothing(start_server, browser):
    server = start_server(**SERVER_ENV)
    alice = await sign_up(browser, server, "Alice")
    bob = await sign_up(browser, server, "Bob")
    direct = await start_direct(alice, bob)
    await bob.open(direct)
    await bob.page.locator("#message-input").press_sequentially("Wait", delay=20)
    await expect(alice.page.get_by_test_id("typing")).to_have_text("Bob is typing…")
    await alice.page.click("#logout")
    await expect(alice.page.locator("#auth-form")).to_be_visible()
    await asyncio.sleep(5)  # the notice's own timer (4 s in the page) has run out
    assert_no_errors(alice, expected=re.compile(r"status of 401"))


@pytest.mark.slow
async def test_editing_a_message_does_not_say_is_typing(start_server, browser):
    server = start_server(**SERVER_ENV)
    alice = await sign_up(browser, server, "Alice")
    bob = await sign_up(browser, server, "Bob")
    direct = await start_direct(alice, bob)
    await bob.open(direct)
    await alice.send("Hi")
    await expect_messages(bob, ["Hi"])

    typed_before = len(frames_of_type(bob, "chat.typing"))  # fill() typed "Hi": that one counts
    first = alice.page.locator('#messages [data-seq="1"]')
    await first.hover()
    await first.get_by_role("button", name="Edit").click()
    # Slowly, past the 2 s between two typing notices.
    await alice.page.locator("#message-input").press_sequentially(" there, Bob", delay=250)
    await alice.page.press("#message-input", "Enter")
    await expect_messages(bob, ["Hi there, Bob"])
    assert len(frames_of_type(bob, "chat.typing")) == typed_before

    # Writing a new message still tells him.
    await alice.page.locator("#message-input").press_sequentially("More", delay=20)
    await expect(bob.page.get_by_test_id("typing")).to_have_text("Alice is typing…")
    assert_no_errors(alice)
    assert_no_errors(bob)


@pytest.mark.slow
async def test_a_new_direct_conversation_shows_the_other_person_online(start_server, browser):
    server = start_server(**SERVER_ENV)
    alice = await sign_up(browser, server, "Alice")
    bob = await sign_up(browser, server, "Bob")
    direct = await start_direct(alice, bob)
    # Bob has not opened it: his list still knows Alice is online.
    await expect(bob.conversation(direct).locator(".title")).to_have_text("Alice")
    await expect(bob.conversation(direct).locator(".dot")).to_have_attribute("data-online", "true")
    await expect(alice.conversation(direct).locator(".dot")).to_have_attribute("data-online", "true")
    assert_no_errors(bob)


@pytest.mark.slow
async def test_an_untitled_group_of_two_is_not_titled_like_the_direct_conversation(start_server, browser):
    server = start_server(**SERVER_ENV)
    alice = await sign_up(browser, server, "Alice")
    bob = await sign_up(browser, server, "Bob")
    direct = await start_direct(alice, bob)
    group = await make_group(alice, [bob])
    await expect(alice.page.locator("#room-title")).to_have_text("Group with Bob")
    await expect(alice.conversation(direct).locator(".title")).to_have_text("Bob")
    await expect(alice.conversation(group).locator(".title")).to_have_text("Group with Bob")
    await expect(bob.conversation(group).locator(".title")).to_have_text("Group with Alice")
    await expect(bob.conversation(direct).locator(".title")).to_have_text("Alice")
    assert_no_errors(alice)


@pytest.mark.slow
async def test_a_fast_burst_is_paced_not_lost(start_server, browser):
    # Three messages per 4 s: the eight below are over the limit at once.
    server = start_server(**SERVER_ENV, SOCKET_RATE_MESSAGES="3/4s")
    alice = await sign_up(browser, server, "Alice")
    bob = await sign_up(browser, server, "Bob")
    direct = await start_direct(alice, bob)
    await bob.open(direct)
    await alice.page.evaluate(
        """() => {
            window.noticesShown = [];
            const box = document.querySelector("#notice");
            new MutationObserver(() => window.noticesShown.push(box.textContent))
                .observe(box, {childList: true, characterData: true, subtree: true});
        }"""
    )
    burst = [f"Burst {n}" for n in range(1, 9)]
    for body in burst:
        await alice.send(body)
    # All of them, once each and in order, without the person sending any again.
    await expect_messages(alice, burst, timeout=30_000)
    await expect_messages(bob, burst, timeout=10_000)
    await expect(alice.page.locator("#messages .failed")).to_have_count(0)

    # Five edits at once: at most three fit the limit, the rest wait and go too.
    await alice.page.evaluate(
        """() => {
            for (const seq of [1, 2, 3, 4, 5]) {
                document.querySelector(`#messages [data-seq="${seq}"] [data-action=edit]`).click();
                document.querySelector("#message-input").value = `Edited ${seq}`;
                document.querySelector("#composer").requestSubmit();
            }
        }"""
    )
    everything = [f"Edited {n}" for n in range(1, 6)] + burst[5:]
    await expect_messages(bob, everything, timeout=20_000)
    await expect_messages(alice, everything, timeout=10_000)
    shown = await alice.page.evaluate("window.noticesShown")
    assert shown and all("frames" not in text for text in shown), shown
    assert any("sending quickly" in text for text in shown), shown
    assert any("changing messages quickly" in text for text in shown), shown
    assert_no_errors(alice)
    assert_no_errors(bob)
