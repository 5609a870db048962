"""
docs/integrations.md's `/weather london` bot, end to end, as its reader would
build it: staff make a bot and its key, the group's owner adds it, staff
subscribe a webhook to the bot's conversations, and the guide's own receiver
(its Python, read from the page and run as it is) hears `/weather london` at
a real local HTTPS address, checks the signature and answers with the key;
the answer is in the group as the bot's, as a reply, once (the receiver
ignores bots, so its own answer starts no loop).
"""

import asyncio
import json
import re
import ssl
import threading
import time
from http.server import ThreadingHTTPServer

import pytest
from channels.db import database_sync_to_async

from tests import ROOT
from tests.plugins.servers import http_request
from tests.plugins.users import access_token

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.live]


def guide_receiver_code() -> str:
    """The receiver's Python block of the guide, as a reader would copy it."""
    guide = (ROOT / "docs" / "integrations.md").read_text()
    section = guide[guide.index("### 4. The receiver"):]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


@pytest.fixture
def guide_receiver(test_ca, monkeypatch):
    """
    ``start(chat_url=, key=)``: the guide's receiver for a server and a bot
    key, served over HTTPS on 127.0.0.1; returns its URL and its module's
    namespace (its ``SECRET`` is set once the subscription gives it).
    """
    _, cert_file, key_file = test_ca
    servers = []

    def start(*, chat_url: str, key: str) -> tuple[str, dict]:
        monkeypatch.setenv("WEATHER_KEY", key)
        monkeypatch.setenv("WEBHOOK_SECRET", "not known yet")
        namespace = {"__name__": "weather_bot"}
        exec(compile(guide_receiver_code(), "docs/integrations.md", "exec"), namespace)
        namespace["CHAT"] = chat_url  # the guide's https://chat.example.com
        namespace["forecast"] = lambda city: "sunny"  # "your weather lookup"
        server = ThreadingHTTPServer(("127.0.0.1", 0), namespace["Hook"])
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert_file, key_file)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"https://127.0.0.1:{server.server_address[1]}/chat-hook", namespace

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def bot_answers(server, group_id, token) -> list[dict]:
    history = http_request(f"{server.http}/api/chat/{group_id}/messages/", headers={"Authorization": f"Bearer {token}"})
    return [m for m in history.json() if m["created_by"].get("is_bot")]


async def test_the_weather_bot_of_the_integration_guide_answers_a_command(
    start_server, queue_worker, guide_receiver, test_ca, make_user, group, alice
):
    ca_file = str(test_ca[0])
    outbound = {"OUTBOUND_CA_BUNDLE": ca_file, "OUTBOUND_ALLOWED_HOSTS": "127.0.0.1"}
    server = start_server(**outbound)
    queue_worker(**outbound)  # with Redis the queue's worker delivers; the embedded server works its own queue
    staff = await database_sync_to_async(make_user)("Staff", is_staff=True)
    staff_auth = {"Authorization": f"Bearer {await database_sync_to_async(access_token)(staff)}"}
    alice_token = await database_sync_to_async(access_token)(alice)

    def call(path, data=None, headers=staff_auth):
        return http_request(f"{server.http}{path}", data=data, headers=headers)

    # 1-2. Staff make the bot and its key; the group's owner adds it.
    bot = (await asyncio.to_thread(call, "/api/bots/", {"name": "Weather"})).json()
    key = (await asyncio.to_thread(call, f"/api/bots/{bot['id']}/keys/", {"scopes": ["read", "write"]})).json()["key"]
    added = await asyncio.to_thread(call, f"/api/chat/{group.id}/members/", {"user_ids": [bot["id"]]},
                                    {"Authorization": f"Bearer {alice_token}"})
    assert added.status == 200, added.body
    # 3. The webhook on the bot's conversations, to the guide's receiver (4).
    hook_url, receiver = guide_receiver(chat_url=server.http, key=key)
    subscribed = await asyncio.to_thread(
        call, "/api/webhooks/", {"url": hook_url, "events": ["message.created"], "member_of_id": bot["id"]}
    )
    assert subscribed.status == 201, subscribed.body
    receiver["SECRET"] = subscribed.json()["secret"].encode()  # what the guide reads from WEBHOOK_SECRET

    # 5. Try it.
    command = await asyncio.to_thread(call, f"/api/chat/{group.id}/messages/", {"body": "/weather london"},
                                      {"Authorization": f"Bearer {alice_token}"})
    assert command.status == 201, command.body
    deadline = time.monotonic() + 30
    while not (answers := await asyncio.to_thread(bot_answers, server, group.id, alice_token)):
        assert time.monotonic() < deadline, "the bot never answered"
        await asyncio.sleep(0.25)
    [answer] = answers
    assert (answer["body"], answer["reply_to"]["id"]) == ("Weather in London: sunny", command.json()["id"])
    assert answer["created_by"]["id"] == bot["id"]
    await asyncio.sleep(2)  # its own answer was delivered too, and ignored: no second answer
    assert len(await asyncio.to_thread(bot_answers, server, group.id, alice_token)) == 1
    deliveries = await asyncio.to_thread(call, f"/api/webhooks/{subscribed.json()['id']}/deliveries/")
    assert {row["status_code"] for row in deliveries.json()} == {204}, json.dumps(deliveries.json())
