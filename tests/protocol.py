"""
Every frame a consumer sends during the in-process tests is checked against
the AsyncAPI document (chat.realtime.asyncapi): its ``type`` must be one the
socket's channel documents, and it must match that frame's schema, made
strict (no undocumented keys, formats checked). Every frame a consumer
receives and carries out without an error frame must match the document's
client schema for it (not strict: servers ignore keys they do not know).
tests/plugins/frames.py installs both checks around ``Consumer.send`` and
``Consumer.receive`` and fails the test in which a frame does not match.
(Frames of server processes the live tests start are not checked here.)
"""

import copy
import json
from collections import defaultdict

import jsonschema

from chat.sockets.base import Consumer
from chat.sockets.notifications import NotificationsConsumer
from chat.sockets.rooms import OriginalClientRoomConsumer, RoomConsumer
from chat.realtime.asyncapi import CHANNELS, document, frame_types


def channel_of(consumer: Consumer) -> str | None:
    if isinstance(consumer, OriginalClientRoomConsumer):
        return "originalRoom"
    if isinstance(consumer, RoomConsumer):
        return "room"
    if isinstance(consumer, NotificationsConsumer):
        return "notifications"
    return None


def strict(schema):
    """``schema`` with every object that lists its properties closed to others."""
    schema = copy.deepcopy(schema)
    nodes = [schema]
    while nodes:
        node = nodes.pop()
        if isinstance(node, dict):
            if "properties" in node and "additionalProperties" not in node:
                node["additionalProperties"] = False
            nodes.extend(node.values())
        elif isinstance(node, list):
            nodes.extend(node)
    return schema


class FrameChecker:
    """Validates frames per channel and side; remembers what it saw and what failed."""

    def __init__(self, spec: dict | None = None):
        self.spec = spec or document()
        schemas = self.spec["components"]["schemas"]
        self._validators = {}
        for side, components in (("server", {"schemas": strict(schemas)}), ("client", {"schemas": schemas})):
            for message in self.spec["components"]["messages"].values():
                root = {**message["payload"], "components": components}
                self._validators[side, message["name"]] = jsonschema.Draft7Validator(
                    root, format_checker=jsonschema.FormatChecker()
                )
        self._types = {
            (channel, side): frame_types(channel, side) for channel in CHANNELS for side in ("client", "server")
        }
        self.seen: dict[str, set[str]] = defaultdict(set)
        self.failures: list[str] = []

    def errors(self, channel: str, side: str, frame: dict) -> list[str]:
        """What is wrong with ``frame`` as a ``side`` frame of ``channel`` (empty when it conforms)."""
        kind = frame.get("type", frame.get("event"))
        name = self._types[channel, side].get(kind)
        if name is None:
            return [f"{channel} does not document {side} frames of type {kind!r}"]
        return [
            f"{'/'.join(map(str, error.absolute_path)) or '(frame)'}: {error.message}"
            for error in self._validators[side, name].iter_errors(frame)
        ]

    def check_sent(self, consumer: Consumer, text: str) -> None:
        channel = channel_of(consumer)
        if channel is None:
            return
        frame = json.loads(text)
        self.seen[channel].add(frame.get("type"))
        for error in self.errors(channel, "server", frame):
            self.failures.append(f"{channel} sent {text[:300]}: {error}")
        if frame.get("type") == "error":
            consumer._protocol_errors_sent = getattr(consumer, "_protocol_errors_sent", 0) + 1

    async def check_received(self, consumer: Consumer, text: str | None, handle) -> None:
        """Let the consumer handle ``text``; if it answered no error frame, the frame must be a documented one."""
        errors_before = getattr(consumer, "_protocol_errors_sent", 0)
        await handle()
        channel = channel_of(consumer)
        if channel is None or text is None or getattr(consumer, "_protocol_errors_sent", 0) != errors_before:
            return
        try:
            frame = json.loads(text)
        except ValueError:
            return
        if isinstance(frame, dict):
            for error in self.errors(channel, "client", frame):
                self.failures.append(f"{channel} accepted {text[:300]}: {error}")
