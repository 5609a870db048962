"""
Push notifications in the demo client (/demo/) in headless Chromium against a
real server process, end to end: Alice turns notifications on in the page
(it subscribes with the server's VAPID key and registers the subscription),
leaves, Bob writes to her, and the push service receives a push encrypted for
her subscription; that push, handed to the page's service worker, shows a
notification, and clicking it opens the conversation in her demo page.

What Chromium cannot do here, and how the test stands in for it:

- Its ``pushManager.subscribe`` refuses in the browser contexts playwright
  makes (incognito ones), and would need Google's push service anyway. An
  init script replaces ``subscribe`` and ``getSubscription`` with a
  subscription whose keys the test holds; the page's code around them (the
  VAPID key, registering, unregistering) is the real one. The endpoint it
  registers is a real push service's; the test then points the device at the
  push service on 127.0.0.1 (tests/chat/push/test_push.py's), as the API
  takes only https endpoints of known push services.
- The push reaches the service worker through the DevTools protocol
  (``ServiceWorker.deliverPushMessage``), with the payload the local push
  service received, decrypted with the subscription's keys: a real push
  event, and a real notification (``getNotifications``).
- Nobody can click a notification of headless Chromium: the test dispatches
  a ``notificationclick`` event carrying that notification in the service
  worker, which runs its handler (an untrusted event has no permission to
  focus or open a window: with a demo page open, the handler needs neither).
  The other branch, a new window on ``/demo/?conversation=<id>``, is checked
  by opening that address.
"""

import asyncio
import base64
import json
import os
import uuid
from urllib.parse import urlsplit

import http_ece
import pytest
from asgiref.sync import sync_to_async
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.db import connection

from chat.push.devices import vapid_public_key
from tests.chat.push.test_push import VAPID_PRIVATE_KEY, push_service  # noqa: F401 (the fixture)
from tests.plugins.servers import http_request
from tests.test_demo_browser import (
    DEMO_PATH,
    SERVER_ENV,
    assert_no_errors,
    expect,
    expect_messages,
    sign_up,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.live]

PUSH_ENV = {**SERVER_ENV, "PUSH_VAPID_PRIVATE_KEY": VAPID_PRIVATE_KEY, "PUSH_VAPID_SUBJECT": "mailto:ops@example.com"}


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class BrowserKeys:
    """What a browser keeps of a subscription: its P-256 key and auth secret, to decrypt what is pushed to it."""

    def __init__(self):
        self.private_key = ec.generate_private_key(ec.SECP256R1())
        self.auth = os.urandom(16)
        self.endpoint = f"https://fcm.googleapis.com/fcm/send/demo-{uuid.uuid4().hex}"
        point = self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        self.keys = {"p256dh": b64url(point), "auth": b64url(self.auth)}

    def decrypt(self, body: bytes) -> bytes:
        return http_ece.decrypt(body, private_key=self.private_key, auth_secret=self.auth, version="aes128gcm")

    def init_script(self) -> str:
        """Stands in for Chromium's push subscription (see the module's docstring); records what it was asked."""
        subscription = json.dumps({"endpoint": self.endpoint, "expirationTime": None, "keys": self.keys})
        return f"""(() => {{
            const data = {subscription};
            // A browser keeps its subscription across page loads: kept in the tab here.
            const subscription = {{
                endpoint: data.endpoint,
                toJSON: () => data,
                unsubscribe: async () => {{ sessionStorage.removeItem("test-subscribed"); return true; }},
            }};
            PushManager.prototype.subscribe = async function (options) {{
                window.subscribedWith = options;
                sessionStorage.setItem("test-subscribed", "1");
                return subscription;
            }};
            PushManager.prototype.getSubscription = async function () {{
                return sessionStorage.getItem("test-subscribed") ? subscription : null;
            }};
        }})();"""


@sync_to_async
def devices_of(user_id: str) -> list[str]:
    from chat.models import PushDevice

    try:
        return list(PushDevice.objects.filter(user_id=user_id).values_list("address", flat=True))
    finally:
        connection.close()  # this worker thread's own; left open, the test database could not be dropped


@sync_to_async
def point_device_at(address: str, new_address: str):
    from chat.models import PushDevice

    try:
        assert PushDevice.objects.filter(address=address).update(address=new_address) == 1
    finally:
        connection.close()


async def until_offline(server, token: str, user_id: str):
    """Waits until the server counts the user as offline (GET /api/auth/<id>/'s ``online``): no push before."""
    for _ in range(100):
        answer = await sync_to_async(http_request)(
            f"{server.http}/api/auth/{user_id}/", headers={"Authorization": f"Bearer {token}"}
        )
        if answer.json().get("online") is False:
            return
        await asyncio.sleep(0.1)
    raise AssertionError("still online")


async def notifications(page) -> list[dict]:
    return await page.evaluate(
        """navigator.serviceWorker.getRegistration("/demo/").then((registration) => registration.getNotifications())
            .then((shown) => shown.map((n) => ({title: n.title, body: n.body, tag: n.tag, data: n.data})))"""
    )


async def test_the_service_worker_is_served_for_the_demos_scope(start_server):
    server = start_server()
    answer = await sync_to_async(http_request)(f"{server.http}/demo/sw.js")
    assert answer.status == 200
    assert answer.headers["Content-Type"].startswith("text/javascript")
    assert "notificationclick" in answer.body.decode()


async def test_a_push_shows_a_notification_that_opens_its_conversation(
    start_server, queue_worker, browser, push_service  # noqa: F811 (the fixture imported above)
):
    server = start_server(**PUSH_ENV)
    queue_worker(**PUSH_ENV)  # with Redis; the embedded server works its queue itself
    alice = await sign_up(browser, server, "Alice")
    bob = await sign_up(browser, server, "Bob")
    keys = BrowserKeys()
    page = alice.page
    await alice.context.grant_permissions(["notifications"], origin=server.http)
    await alice.context.add_init_script(keys.init_script())
    await page.reload()  # the session is kept in the tab: still signed in, now with the stand-in

    # On: subscribed with the server's key, registered as Alice's device.
    toggle = page.get_by_test_id("push-toggle")
    await expect(toggle).to_have_text("Notifications off")
    await toggle.click()
    await expect(toggle).to_have_text("Notifications on")
    assert await page.evaluate("window.subscribedWith.applicationServerKey") == vapid_public_key(VAPID_PRIVATE_KEY)
    assert await page.evaluate("window.subscribedWith.userVisibleOnly") is True
    assert await devices_of(alice.id) == [keys.endpoint]
    await point_device_at(keys.endpoint, f"{push_service.url}/push/alice")

    # Bob opens a conversation with her; Alice leaves the demo (her sockets close: she is offline); Bob writes.
    await bob.page.fill("#start-user", alice.id)
    await bob.page.click("#start-form button")
    await expect(bob.room_state).to_have_attribute("data-state", "open")
    conversation_id = await bob.active_conversation()
    await page.goto("about:blank")  # the tab keeps its session for when she comes back
    await until_offline(server, (await bob.session())["access"], alice.id)
    await bob.send("Lunch at noon?")
    await expect_messages(bob, ["Lunch at noon?"])

    # The push service got a push that only Alice's keys decrypt.
    [request] = push_service.wait_for(1, timeout=30)
    assert request["path"] == "/push/alice" and request["headers"]["content-encoding"] == "aes128gcm"
    payload = keys.decrypt(request["body"])
    pushed = json.loads(payload)
    assert (pushed["conversation_id"], pushed["sender_name"], pushed["body"]) == (conversation_id, "Bob", "Lunch at noon?")
    await point_device_at(f"{push_service.url}/push/alice", keys.endpoint)  # as the page registered it

    # Handed to the service worker: a notification of that conversation (seen from a signed-out demo tab).
    viewer = await alice.context.new_page()
    await viewer.goto(f"{server.http}/demo/")
    devtools = await alice.context.new_cdp_session(viewer)
    registrations = []
    devtools.on("ServiceWorker.workerRegistrationUpdated", lambda event: registrations.extend(event["registrations"]))
    await devtools.send("ServiceWorker.enable")
    for _ in range(50):
        if registrations:
            break
        await asyncio.sleep(0.1)
    [registration] = {r["registrationId"]: r for r in registrations if r["scopeURL"].endswith("/demo/")}.values()
    await devtools.send("ServiceWorker.deliverPushMessage", {
        "origin": server.http, "registrationId": registration["registrationId"], "data": payload.decode(),
    })
    for _ in range(50):
        shown = await notifications(viewer)
        if shown:
            break
        await asyncio.sleep(0.1)
    assert shown == [{
        "title": "Bob", "body": "Lunch at noon?", "tag": f"conversation-{conversation_id}",
        "data": {"conversation_id": conversation_id, "seq": pushed["seq"]},
    }]

    # Back in the demo with no conversation open, she clicks it: the page opens that conversation.
    await viewer.close()
    await page.goto(f"{server.http}{DEMO_PATH}")
    await expect(page.locator("#feed-status")).to_have_attribute("data-state", "open")
    await expect(page.locator("#room")).to_be_hidden()
    [worker] = [w for w in alice.context.service_workers if w.url.endswith("/demo/sw.js")]
    await worker.evaluate("""self.registration.getNotifications().then(([notification]) =>
        self.dispatchEvent(new NotificationEvent("notificationclick", {notification})))""")
    await expect(alice.room_state).to_have_attribute("data-state", "open")
    assert await alice.active_conversation() == conversation_id
    await expect_messages(alice, ["Lunch at noon?"])
    assert await notifications(page) == []  # clicked, so closed

    # With no demo page open the worker opens /demo/?conversation=<id>: that address opens it too.
    await page.goto(f"{server.http}/demo/?conversation={conversation_id}&ping=2")
    await expect(alice.room_state).to_have_attribute("data-state", "open")
    assert await alice.active_conversation() == conversation_id
    # The query no longer names it; the fragment does, as for any open conversation (layout.js).
    address = urlsplit(page.url)
    assert (address.path, address.query, address.fragment) == ("/demo/", "ping=2", f"conversation={conversation_id}")

    # Off: the device is removed.
    await expect(toggle).to_have_text("Notifications on")
    await toggle.click()
    await expect(toggle).to_have_text("Notifications off")
    assert await devices_of(alice.id) == []
    assert_no_errors(alice)
    assert_no_errors(bob)
