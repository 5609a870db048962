"""
The demo client (/demo/) in real headless Chromium against real server
processes: two people sign up in the page and chat live, and the page
survives a dead connection and a server restart without losing, doubling or
reordering a message.

Needs the playwright package and a Chromium (``CHROMIUM``, by default
Debian's /usr/bin/chromium; playwright's own browser download is not used).
Without them the test is skipped, and fails under CI=true. With
``DEMO_SCREENSHOTS=<folder>`` it also saves the screenshots of docs/ there
(at a desktop size, and demo-phone.png at a phone's):

    DEMO_SCREENSHOTS=docs .venv/bin/python -m pytest tests/test_demo_browser.py
"""

import asyncio
import base64
import json
import os
import re
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from asgiref.sync import sync_to_async
from django.db import connection

from tests.plugins.servers import http_request
from useraccount.models import User

from tests.plugins.browsers import CHROMIUM, CHROMIUM_ARGS, async_playwright, expect, require  # noqa: F401 (for the others)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.live]

# Short enough that the page renews its token on open sockets several times
# during the test; the client renews a fifth of the lifetime before expiry.
TOKEN_LIFETIME = 8
SERVER_ENV = {
    "JWT_ACCESS_TOKEN_LIFETIME": str(TOKEN_LIFETIME),
    # With Redis, the sockets of the server the test kills stay "online" until
    # their heartbeat expires: seconds here rather than a minute.
    "PRESENCE_TTL": "4",
    "PRESENCE_HEARTBEAT": "1",
}
# A ping after 2 quiet seconds and a 2-second pong deadline, so a dead connection is noticed quickly.
DEMO_PATH = "/demo/?ping=2"
# What Chromium logs while the network or the server is down.
NETWORK_DOWN_ERRORS = re.compile(
    r"WebSocket connection to 'ws://127\.0\.0\.1:\d+/ws/[^']*' failed"
    r"|Failed to load resource: net::ERR_(CONNECTION_REFUSED|INTERNET_DISCONNECTED|CONNECTION_RESET)"
)
PASSWORD = "a-long-passphrase"
# The screen sizes of the screenshots and of the layout tests (tests/test_demo_layout_browser.py).
DESKTOP_SCREEN = {"width": 1100, "height": 700}
PHONE_SCREEN = {"width": 390, "height": 844}
RECONNECT = 20_000  # ms: a reconnect waits out back-off (up to 4-8 s by the fourth try)


@dataclass
class Person:
    """One person's browser context and page, and what the page did."""

    name: str
    context: object
    page: object
    id: str = ""
    sockets: list = field(default_factory=list)  # {"url", "received": [(time, frame text)]}
    page_errors: list = field(default_factory=list)
    console_errors: list = field(default_factory=list)

    def conversation(self, conversation_id):
        return self.page.locator(f'[data-testid=conversation][data-id="{conversation_id}"]')

    def receipt_under(self, seq: int):
        return self.page.locator(f'#messages [data-seq="{seq}"] [data-testid=receipt]')

    def ticks_under(self, seq: int):
        return self.page.locator(f'#messages [data-seq="{seq}"] [data-testid=ticks]')

    @property
    def room_state(self):
        return self.page.locator("#room-status")

    async def send(self, body: str):
        """Type a message and send it, without waiting for it to be saved."""
        await self.page.fill("#message-input", body)
        await self.page.press("#message-input", "Enter")

    async def open(self, conversation_id):
        await self.conversation(conversation_id).locator("button").click()
        await expect(self.room_state).to_have_attribute("data-state", "open")

    async def active_conversation(self) -> str:
        return await self.page.locator("[data-testid=conversation].active").get_attribute("data-id")

    async def session(self) -> dict:
        return json.loads(await self.page.evaluate("sessionStorage.getItem('chat-demo-session')"))


async def expect_messages(person: Person, bodies: list[str], timeout: float = 5_000):
    """The room shows exactly these saved messages, in this order, and nothing waits unsent."""
    await expect(person.page.locator("#messages [data-seq] .body")).to_have_text(bodies, timeout=timeout)
    await expect(person.page.locator("#messages .pending")).to_have_count(0, timeout=timeout)




async def sign_up(browser, server, name: str) -> Person:
    """A new browser context registers through the page's form."""
    context = await browser.new_context(viewport=DESKTOP_SCREEN)
    person = Person(name, context, await context.new_page())
    page = person.page
    page.on("pageerror", lambda error: person.page_errors.append(str(error)))
    page.on("console", lambda message: message.type == "error" and person.console_errors.append(message.text))

    def socket_opened(ws):
        record = {"url": ws.url, "received": []}
        person.sockets.append(record)
        ws.on("framereceived", lambda payload: record["received"].append((time.time(), payload)))

    page.on("websocket", socket_opened)
    await page.goto(f"{server.http}{DEMO_PATH}")
    # The page's own policy allows no inline script (and the page needs none:
    # any violation would be a console error, which fails the test).
    inline_ran = await page.evaluate(
        """() => {
            const script = Object.assign(document.createElement("script"), {textContent: "window.inlineRan = true"});
            document.head.append(script);
            return window.inlineRan === true;
        }"""
    )
    assert not inline_ran
    assert [error for error in person.console_errors if "Content Security Policy" not in error] == []
    person.console_errors.clear()
    await page.fill("#auth-form [name=email]", f"{name.lower()}.{uuid.uuid4().hex[:8]}@example.com")
    await page.fill("#auth-form [name=password]", PASSWORD)
    await page.fill("#auth-form [name=name]", name)
    await page.click("#auth-form button[value=register]")
    await expect(page.get_by_test_id("my-id")).to_have_text(re.compile(r"^[0-9a-f-]{36}$"))
    person.id = await page.get_by_test_id("my-id").inner_text()
    await expect(page.locator("#feed-status")).to_have_attribute("data-state", "open")
    # Set once; still there at the end means the page was never reloaded.
    await page.evaluate("window.neverReloaded = true")
    return person


@sync_to_async
def send_through_service(conversation_id: str, sender_id: str, bodies: list[str]):
    """Messages from the sender's other device, written while the pages may not be listening."""
    from chat.messages.send import message_send
    from useraccount.models import User

    try:
        sender = User.objects.get(id=sender_id)
        for body in bodies:
            message_send(conversation_id=conversation_id, sender=sender, body=body)
    finally:
        connection.close()  # this worker thread's own; left open, the test database could not be dropped


@sync_to_async
def make_groups(member_id: str, count: int):
    """``count`` groups of a stranger and the member, newer than every conversation so far."""
    from chat.conversations.services import conversation_create_group
    from useraccount.models import User

    try:
        stranger = User.objects.create_user(email=f"stranger.{uuid.uuid4().hex[:8]}@example.com", password=PASSWORD)
        for n in range(count):
            conversation_create_group(creator=stranger, user_ids=[uuid.UUID(member_id)], title=f"Group {n}")
    finally:
        connection.close()


def post_json(url: str, data: dict) -> int:
    return http_request(url, data=data).status


def url_token(socket_url: str) -> str:
    return parse_qs(urlsplit(socket_url).query)["token"][0]


def token_expiry(socket_url: str) -> int:
    payload = url_token(socket_url).split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["exp"]


async def frame_received(person: Person, path: str, frame_type: str):
    """Waits until the page's latest socket on ``path`` has received a frame of ``frame_type``."""
    deadline = time.time() + 5
    while time.time() < deadline:
        sockets = [socket for socket in person.sockets if urlsplit(socket["url"]).path == path]
        if sockets and any(json.loads(frame)["type"] == frame_type for _, frame in sockets[-1]["received"]):
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{person.name}'s page got no {frame_type} on {path}")


def assert_no_errors(person: Person, expected: re.Pattern = NETWORK_DOWN_ERRORS):
    """No uncaught error in the page, and nothing in its console but what ``expected`` matches."""
    assert person.page_errors == [], person.name
    assert [text for text in person.console_errors if not expected.search(text)] == [], person.name


async def sockets_outliving_their_token(person: Person) -> list[dict]:
    """
    Waits until some socket of the page receives a frame a second after the
    token in its URL expired, which the server allows only to a socket that
    was sent a fresh one (it closes the others with 4401 at the expiry).
    """
    deadline = time.time() + TOKEN_LIFETIME + 5
    while time.time() < deadline:
        outlived = [
            socket for socket in person.sockets
            if any(at > token_expiry(socket["url"]) + 1 for at, _ in socket["received"])
        ]
        if outlived:
            return outlived
        await asyncio.sleep(0.2)
    raise AssertionError(f"none of {person.name}'s sockets outlived the token it connected with")


@pytest.mark.slow
async def test_two_people_chat_live_through_the_demo_page(start_server, browser):
    folder = os.environ.get("DEMO_SCREENSHOTS")
    shots = Path(folder) if folder else None
    if shots:
        shots.mkdir(parents=True, exist_ok=True)
    server = start_server(**SERVER_ENV)

    alice = await sign_up(browser, server, "Alice")
    bob = await sign_up(browser, server, "Bob")

    # Alice starts a direct chat with the id Bob's page shows; it appears in his list live.
    await alice.page.fill("#start-user", bob.id)
    await alice.page.click("#start-form button")
    await expect(alice.page.locator("#room-title")).to_have_text("Bob")
    await expect(alice.room_state).to_have_attribute("data-state", "open")
    direct = await alice.active_conversation()
    await expect(bob.conversation(direct).locator(".title")).to_have_text("Alice")

    # Her messages raise his unread count live, until he opens the chat and reads them.
    await alice.send("Hi Bob")
    await expect(bob.conversation(direct).get_by_test_id("unread")).to_have_text("1")
    # His notifications socket had it: delivered (✓✓) once the server writes positions (1 s).
    await expect(alice.ticks_under(1)).to_have_attribute("data-state", "delivered")
    await expect(alice.ticks_under(1)).to_have_text("✓✓")
    await expect(bob.conversation(direct).locator(".preview")).to_have_text("Alice: Hi Bob")
    await alice.send("Are you there?")
    await expect(bob.conversation(direct).get_by_test_id("unread")).to_have_text("2")
    await bob.open(direct)
    await expect_messages(bob, ["Hi Bob", "Are you there?"])
    await expect(bob.conversation(direct).get_by_test_id("unread")).to_have_count(0)
    await expect(alice.receipt_under(2)).to_have_text("Seen by Bob")
    await expect(alice.ticks_under(2)).to_have_attribute("data-state", "read")

    # Presence: each sees the other online.
    await expect(alice.page.get_by_test_id("member")).to_have_attribute("data-online", "true")
    await expect(bob.page.get_by_test_id("member")).to_have_attribute("data-online", "true")
    await expect(bob.conversation(direct).locator(".dot")).to_have_attribute("data-online", "true")

    # Typing shows on the other side, and goes when the message comes.
    await bob.page.locator("#message-input").press_sequentially("Yes", delay=20)
    await expect(alice.page.get_by_test_id("typing")).to_have_text("Bob is typing…")
    await bob.page.press("#message-input", "Enter")
    await expect(alice.page.get_by_test_id("typing")).to_have_text("")

    # Both ways, a burst included: each message once, in the same order on both sides.
    await expect_messages(alice, ["Hi Bob", "Are you there?", "Yes"])
    for body in ("One", "Two", "Three"):
        await alice.send(body)
    await expect_messages(alice, ["Hi Bob", "Are you there?", "Yes", "One", "Two", "Three"])
    await bob.send("Got them all")
    chat = ["Hi Bob", "Are you there?", "Yes", "One", "Two", "Three", "Got them all"]
    await expect_messages(alice, chat)
    await expect_messages(bob, chat)
    await expect(alice.page.get_by_test_id("receipt")).to_have_count(1)
    await expect(alice.receipt_under(6)).to_have_text("Seen by Bob")

    # Alice edits one message and deletes another; Bob sees both change live.
    first = alice.page.locator('#messages [data-seq="1"]')
    await first.hover()
    await first.get_by_role("button", name="Edit").click()
    await alice.page.fill("#message-input", "Hi Bob!")
    await alice.page.press("#message-input", "Enter")
    two = alice.page.locator('#messages [data-seq="5"]')
    await two.hover()
    await two.get_by_role("button", name="Delete").click()
    chat[0], chat[4] = "Hi Bob!", "This message was deleted."
    await expect_messages(bob, chat)
    await expect(bob.page.locator('#messages [data-seq="1"] [data-testid=edited]')).to_be_visible()
    await expect(bob.page.locator('#messages [data-seq="5"]')).to_have_class(re.compile(r"\bdeleted\b"))
    await expect_messages(alice, chat)
    if shots:
        # Slowly: the server relays one typing notice per person and room every 2 s.
        await bob.page.locator("#message-input").press_sequentially("Let me think", delay=250)
        await expect(alice.page.get_by_test_id("typing")).to_have_text("Bob is typing…")
        await alice.page.screenshot(path=shots / "demo-chat.png")
        # The same conversation on a phone: the one pane, with "← Chats" back to the list.
        await alice.page.set_viewport_size(PHONE_SCREEN)
        await expect(alice.page.get_by_test_id("back-to-list")).to_be_visible()
        await alice.page.screenshot(path=shots / "demo-phone.png")
        await alice.page.set_viewport_size(DESKTOP_SCREEN)
        await bob.page.fill("#message-input", "")

    # A group of both: it appears in Bob's list and carries a message each way.
    await alice.page.fill("#group-title", "Team")
    await alice.page.fill("#group-users", bob.id)
    await alice.page.click("#group-form button")
    await expect(alice.page.locator("#room-title")).to_have_text("Team")
    await expect(alice.room_state).to_have_attribute("data-state", "open")
    group = await alice.active_conversation()
    await expect(bob.conversation(group).locator(".title")).to_have_text("Team")
    await alice.send("Welcome to the team")
    await expect(bob.conversation(group).get_by_test_id("unread")).to_have_text("1")
    if shots:
        await bob.page.screenshot(path=shots / "demo-group.png")
    await bob.open(group)
    await bob.send("Thanks!")
    await expect_messages(alice, ["Welcome to the team", "Thanks!"])
    await expect_messages(bob, ["Welcome to the team", "Thanks!"])
    # In a group, counts: of the one other member, delivered to and read by him.
    welcome = alice.page.locator(".message.mine [data-testid=ticks]").last
    await expect(welcome).to_have_text(re.compile(r"delivered 1/1 · read 1"))

    # Read receipts off and on again, from the switch in the top bar.
    switch = bob.page.get_by_test_id("read-receipts")
    await expect(switch).to_be_checked()
    await switch.uncheck()
    await expect(bob.page.locator("#notice")).to_contain_text("Read receipts off")
    assert not await sync_to_async(lambda: User.objects.get(id=bob.id).read_receipts)()
    await switch.check()
    await expect(bob.page.locator("#notice")).to_contain_text("Read receipts on")
    assert await sync_to_async(lambda: User.objects.get(id=bob.id).read_receipts)()

    # Scroll-back: more history than a page (30); scrolling up and "Load older" fetch the rest.
    history = [f"History {n}" for n in range(1, 65)]
    await send_through_service(group, alice.id, history)
    await bob.open(direct)
    await bob.open(group)
    everything = ["Welcome to the team", "Thanks!", *history]
    await expect_messages(bob, everything[-30:])
    await bob.page.locator("#history").evaluate("history => history.scrollTop = 0")
    await expect_messages(bob, everything[-60:])
    # Not .click(): scrolling the button into view would load the page by itself.
    await bob.page.locator("#load-older").dispatch_event("click")
    await expect_messages(bob, everything)
    await expect(bob.page.locator("#load-older")).to_be_hidden()

    # A dead connection: offline, Bob's page hears nothing, so its pong
    # deadline passes; it gives the sockets up and reconnects once
    # online, catching up on what was sent meanwhile.
    await bob.open(direct)
    await alice.open(direct)
    await bob.context.set_offline(True)
    await expect(bob.room_state).to_have_attribute("data-state", "reconnecting", timeout=10_000)
    await alice.send("Still there?")
    await alice.send("Hello?")
    chat += ["Still there?", "Hello?"]
    await expect_messages(alice, chat)
    await bob.context.set_offline(False)
    await expect_messages(bob, chat, timeout=RECONNECT)
    await expect(bob.room_state).to_have_attribute("data-state", "open")

    # Tokens: Alice's sockets are handed renewed tokens and outlive the
    # ones they connected with (her first one since she signed up).
    for socket in await sockets_outliving_their_token(alice):
        assert any('"auth.ok"' in frame for _, frame in socket["received"]), socket["url"]

    # The server goes away altogether. Meanwhile Alice sends from
    # another device, and types one in the page, which waits there.
    # A new server on the same port and database: both pages catch
    # up, the waiting message goes out once, all in one order.
    server.process.terminate()
    await asyncio.to_thread(server.process.wait, 10)
    for person in (alice, bob):
        await expect(person.room_state).to_have_attribute("data-state", "reconnecting")
    await send_through_service(direct, alice.id, ["From my phone 1", "From my phone 2"])
    await alice.send("Typed while the server was down")
    await expect(alice.page.locator("#messages .pending")).to_have_count(1)
    if shots:
        await alice.page.screenshot(path=shots / "demo-reconnect.png")
    await asyncio.to_thread(start_server, port=server.port, **SERVER_ENV)
    chat += ["From my phone 1", "From my phone 2", "Typed while the server was down"]
    await expect_messages(alice, chat, timeout=RECONNECT)
    await expect_messages(bob, chat, timeout=RECONNECT)
    for person in (alice, bob):
        await expect(person.room_state).to_have_attribute("data-state", "open")
        assert await person.page.evaluate("window.neverReloaded === true"), person.name

    # A reload with an expired access token: the list's request gets a
    # 401, the page renews the token and carries on. With more
    # conversations than a page, the rest come with "Load more"; the one
    # that was open (older than the first page) is open again, and listed.
    assert_no_errors(bob)
    await make_groups(bob.id, 20)
    stale = {**await bob.session(), "access": url_token(bob.sockets[0]["url"])}
    assert token_expiry(bob.sockets[0]["url"]) < time.time()
    await bob.page.evaluate("s => sessionStorage.setItem('chat-demo-session', JSON.stringify(s))", stale)
    bob.console_errors.clear()
    await bob.page.reload()
    await expect(bob.page.locator("#room-title")).to_have_text("Alice")
    assert await bob.active_conversation() == direct
    await expect(bob.page.get_by_test_id("conversation")).to_have_count(21)
    # The notifications socket's sync answer names the older group too
    # (it is not in its map); it waits for "Load more".
    await frame_received(bob, "/ws/notifications/", "sync.result")
    await expect(bob.page.get_by_test_id("conversation")).to_have_count(21)
    await bob.page.click("#more-conversations")
    await expect(bob.page.get_by_test_id("conversation")).to_have_count(22)
    await expect(bob.page.locator("#more-conversations")).to_be_hidden()
    assert (await bob.session())["access"] != stale["access"]
    assert len(bob.console_errors) == 1, bob.console_errors
    assert_no_errors(bob, expected=re.compile(r"status of 401"))

    # Logging out ends the session: the form is back, Alice sees Bob go, his refresh token is dead.
    await bob.open(direct)
    await expect(alice.page.get_by_test_id("member")).to_have_attribute("data-online", "true")
    refresh = (await bob.session())["refresh"]
    await bob.page.click("#logout")
    await expect(bob.page.locator("#auth-form")).to_be_visible()
    await expect(alice.page.get_by_test_id("member")).to_have_attribute("data-online", "false")
    assert await bob.page.evaluate("sessionStorage.getItem('chat-demo-session')") is None
    refresh_url = f"{server.http}/api/auth/token/refresh/"
    assert await asyncio.to_thread(post_json, refresh_url, {"refresh": refresh}) == 401
    assert_no_errors(alice)
    assert_no_errors(bob, expected=re.compile(r"status of 401"))


@pytest.mark.slow
async def test_a_group_is_joined_with_an_invite_link_and_its_owner_gives_roles_in_the_demo_page(start_server, browser):
    server = start_server()
    alice = await sign_up(browser, server, "Alice")
    bob = await sign_up(browser, server, "Bob")
    carol = await sign_up(browser, server, "Carol")
    await alice.page.fill("#group-title", "Trip")
    await alice.page.fill("#group-users", bob.id)
    await alice.page.click("#group-form button")
    await expect(alice.room_state).to_have_attribute("data-state", "open")
    group = await alice.active_conversation()

    # The owner opens the group's panel, makes Bob an admin, and makes a link.
    await alice.page.click("#group-panel summary")
    roles = alice.page.get_by_test_id("group-member")
    await expect(roles).to_have_text([re.compile("^Alice · owner"), re.compile("^Bob · member")])
    await roles.nth(1).get_by_role("button", name="Make admin").click()
    await expect(roles.nth(1)).to_have_attribute("data-role", "admin")
    # Bob's page hears of it live (conversation.updated) and shows him the invite controls.
    await expect(bob.conversation(group)).to_be_visible()
    await bob.open(group)
    await bob.page.click("#group-panel summary")
    await expect(bob.page.locator("#make-invite")).to_be_visible()
    await alice.page.click("#make-invite")
    invite_url = alice.page.get_by_test_id("invite-url")
    await expect(invite_url).to_have_value(re.compile(re.escape(f"{server.http}/api/chat/invites/")))
    link = await invite_url.input_value()

    # Carol pastes the link and is in, with the whole group shown.
    await carol.page.fill("#join-link", link)
    await carol.page.click("#join-form button")
    await expect(carol.page.locator("#room-title")).to_have_text("Trip")
    await expect(carol.room_state).to_have_attribute("data-state", "open")
    await expect(carol.page.locator("#messages [data-seq] .body").last).to_have_text(
        "Carol joined with an invite link"
    )
    await expect(roles).to_have_count(3)
    for person in (alice, bob, carol):
        assert person.page_errors == [], person.page_errors


@pytest.mark.slow
async def test_a_thread_through_the_demo_page(start_server, browser):
    """A reply count under a root, the thread pane listing replies, and replies sent in it, live on both sides."""
    server = start_server(**SERVER_ENV)
    alice = await sign_up(browser, server, "Alice")
    bob = await sign_up(browser, server, "Bob")
    await alice.page.fill("#start-user", bob.id)
    await alice.page.click("#start-form button")
    await expect(alice.room_state).to_have_attribute("data-state", "open")
    direct = await alice.active_conversation()
    await alice.send("Plans for Friday?")
    await expect_messages(alice, ["Plans for Friday?"])
    await bob.open(direct)
    await expect_messages(bob, ["Plans for Friday?"])

    # Bob opens the root's thread and replies in it: the reply stays out of the timeline.
    root_line = bob.page.locator('#messages [data-seq="1"] [data-testid=thread-line]')
    await expect(root_line).to_have_text("Reply in thread")
    await root_line.click()
    await expect(bob.page.locator("#thread")).to_be_visible()
    await bob.page.fill("#thread-input", "Hiking?")
    await bob.page.press("#thread-input", "Enter")
    await expect(bob.page.locator("#thread-replies [data-seq] .body")).to_have_text(["Hiking?"])
    await expect(bob.page.get_by_test_id("thread-count")).to_have_text("1 reply")
    await expect(bob.page.locator("#thread-follow")).to_have_text("Unfollow")

    # Alice sees the reply count under her message live, opens the thread and answers.
    alices_line = alice.page.locator('#messages [data-seq="1"] [data-testid=thread-line]')
    await expect(alices_line).to_contain_text("1 reply")
    await expect_messages(alice, ["Plans for Friday?"])
    await alices_line.click()
    await expect(alice.page.locator("#thread-replies [data-seq] .body")).to_have_text(["Hiking?"])
    await alice.page.fill("#thread-input", "Yes, hiking")
    await alice.page.press("#thread-input", "Enter")
    for person in (alice, bob):
        await expect(person.page.locator("#thread-replies [data-seq] .body")).to_have_text(["Hiking?", "Yes, hiking"])
        await expect(person.page.get_by_test_id("thread-count")).to_have_text("2 replies")
        await expect_messages(person, ["Plans for Friday?"])
    await expect(bob.page.locator('#messages [data-seq="1"] [data-testid=thread-line]')).to_contain_text("2 replies")

    # Unfollowing is a click; the thread closes with another.
    await bob.page.click("#thread-follow")
    await expect(bob.page.locator("#thread-follow")).to_have_text("Follow")
    await bob.page.click("#thread-close")
    await expect(bob.page.locator("#thread")).to_be_hidden()
    assert_no_errors(alice)
    assert_no_errors(bob)


@pytest.mark.slow
async def test_pins_and_forwarding_through_the_demo_page(start_server, browser):
    server = start_server(**SERVER_ENV)
    alice = await sign_up(browser, server, "Alice")
    bob = await sign_up(browser, server, "Bob")
    await alice.page.fill("#group-title", "Team")
    await alice.page.fill("#group-users", bob.id)
    await alice.page.click("#group-form button")
    await expect(alice.page.locator("#room-title")).to_have_text("Team")
    group = await alice.active_conversation()
    await alice.page.fill("#start-user", bob.id)
    await alice.page.click("#start-form button")
    await expect(alice.page.locator("#room-title")).to_have_text("Bob")
    await expect(alice.room_state).to_have_attribute("data-state", "open")
    direct = await alice.active_conversation()
    await expect(bob.conversation(direct).locator(".title")).to_have_text("Alice")
    await bob.open(direct)
    await bob.send("Look at this")
    await expect_messages(alice, ["Look at this"])

    # Alice pins Bob's message from its menu: both see it pinned, and Bob's pins list shows it.
    message = alice.page.locator('#messages [data-seq="1"]')
    await message.hover()
    await message.get_by_role("button", name="Pin").click()
    await expect(bob.page.locator('#messages [data-seq="1"] [data-testid=pinned]')).to_be_visible()
    await expect(message.get_by_test_id("pinned")).to_be_visible()
    await expect_messages(bob, ["Look at this", "Alice pinned a message"])
    await bob.page.click("#show-pins")
    await expect(bob.page.get_by_test_id("pin")).to_have_count(1)
    await expect(bob.page.get_by_test_id("pin")).to_contain_text("Look at this")
    await expect(bob.page.get_by_test_id("pin")).to_contain_text("pinned by Alice")

    # She forwards it to the group, where it says whose it was.
    await message.hover()
    await message.get_by_role("button", name="Forward").click()
    await alice.page.locator("#forward-to").select_option(label="Team")
    await alice.page.fill("#forward-comment", "from our chat")
    await alice.page.click("#forward-form button[type=submit]")
    await expect(alice.page.locator("#notice")).to_have_text("Forwarded to 1 conversation.")
    await alice.open(group)
    await expect_messages(alice, ["Look at this", "from our chat"])
    await expect(alice.page.locator('#messages [data-seq="1"] [data-testid=forwarded]')).to_have_text(
        "Forwarded from Bob"
    )

    # Unpinning (Bob, a member of the direct conversation) updates the list live.
    mine = bob.page.locator('#messages [data-seq="1"]')
    await mine.hover()
    await mine.get_by_role("button", name="Unpin").click()
    await expect(bob.page.get_by_test_id("pin")).to_have_count(0)
    await expect(mine.get_by_test_id("pinned")).to_have_count(0)
    assert_no_errors(alice)
    assert_no_errors(bob)
