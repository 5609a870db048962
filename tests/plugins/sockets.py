"""
WebSocket communicators on the real ASGI application (always disconnected),
the helpers that read their frames, and the original path's refusal grace
shortened for every test.
"""

import json
from contextlib import asynccontextmanager

import pytest
from channels.testing import WebsocketCommunicator

from backend.asgi import application
from tests.plugins.users import access_token


@pytest.fixture(autouse=True)
def short_refusal_grace(settings):
    """
    The original path (ws/<id>/) closes a refused socket after 0.3 s, not the
    default 3 s: long enough to answer what a client sends at once, short
    enough that the tests of its refusals do not wait out the real one.
    """
    settings.ORIGINAL_CLIENT_REFUSAL_GRACE = 0.3


PRESENCE_FRAMES = {"presence", "presence.state", "presence.changes"}


@asynccontextmanager
async def open_socket(path: str, *, token: str | None = None, headers=None, connect=True):
    """A WebsocketCommunicator on the real application, always disconnected."""
    if token is not None:
        path = f"{path}{'&' if '?' in path else '?'}token={token}"
    communicator = WebsocketCommunicator(application, path, headers=headers or [])
    try:
        if connect:
            connected, code = await communicator.connect(timeout=5)
            communicator.connected_ok = connected
            communicator.close_code = code
        yield communicator
    finally:
        await communicator.disconnect()


async def expect_close(communicator, code: int):
    """The socket was accepted and then closed with ``code``."""
    assert communicator.connected_ok, "the socket should be accepted before it is closed"
    message = await communicator.receive_output(timeout=5)
    assert message == {"type": "websocket.close", "code": code}


def room(conversation, user=None, *, token=None, after=None, original=False):
    """A room socket: ``ws/chat/<id>/``, or the original client's ``ws/<id>/``."""
    path = f"/ws/{conversation.id}/" if original else f"/ws/chat/{conversation.id}/"
    if after is not None:
        path += f"?after={after}"
    return open_socket(path, token=token or access_token(user))


def notifications(user=None, *, token=None):
    return open_socket("/ws/notifications/", token=token or access_token(user))


async def receive(ws, *, skip=PRESENCE_FRAMES) -> dict:
    """The next frame, passing over those whose type is in ``skip``."""
    while True:
        frame = json.loads(await ws.receive_from(timeout=5))
        if frame["type"] not in skip:
            return frame


async def receive_many(ws, count: int) -> list[dict]:
    return [await receive(ws) for _ in range(count)]


async def assert_silent(ws, *, skip=PRESENCE_FRAMES, timeout=0.2) -> None:
    """No frame (other than skipped ones) arrives within ``timeout`` seconds."""
    while not await ws.receive_nothing(timeout=timeout):
        frame = json.loads(await ws.receive_from())
        assert frame["type"] in skip, f"unexpected frame {frame}"


async def drain(ws) -> list[dict]:
    """The frames waiting now (those sent on connect), so later checks see only new ones."""
    frames = []
    while not await ws.receive_nothing(timeout=0.1):
        frames.append(json.loads(await ws.receive_from()))
    return frames


async def close_code(ws) -> int:
    """The code of the close the server sends next, passing over text frames before it."""
    while True:
        message = await ws.receive_output(timeout=5)
        if message["type"] == "websocket.close":
            return message["code"]


def seqs(frames) -> list[int]:
    return [frame["seq"] for frame in frames]


def presence_frame(user, online: bool) -> dict:
    return {"type": "presence", "user_id": str(user.id), "online": online}
