"""
Every frame a consumer sends during the tests is checked against the
AsyncAPI document (chat.realtime.asyncapi): its ``type`` must be one the
socket's channel documents, and it must match that frame's schema, made
strict (no undocumented keys, formats checked). tests/conftest.py installs
the check around ``Consumer.send`` for the whole run and fails the test in
which a frame does not match.
"""

import copy
import json
from collections import defaultdict

import jsonschema

from chat.consumers import Consumer, NotificationsConsumer, OriginalClientRoomConsumer, RoomConsumer
from chat.realtime.asyncapi import document, frame_types


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
        components = {"schemas": strict(self.spec["components"]["schemas"])}
        self._validators = {}
        for name, message in self.spec["components"]["messages"].items():
            root = {**strict(message["payload"]), "components": components}
            self._validators[message["name"]] = jsonschema.Draft7Validator(
                root, format_checker=jsonschema.FormatChecker()
            )
        self.seen: dict[str, set[str]] = defaultdict(set)
        self.failures: list[str] = []

    def errors(self, channel: str, side: str, frame: dict) -> list[str]:
        """What is wrong with ``frame`` as a ``side`` frame of ``channel`` (empty when it conforms)."""
        kind = frame.get("type", frame.get("event"))
        name = frame_types(channel, side).get(kind)
        if name is None:
            return [f"{channel} does not document {side} frames of type {kind!r}"]
        return [
            f"{'/'.join(map(str, error.absolute_path)) or '(frame)'}: {error.message}"
            for error in self._validators[name].iter_errors(frame)
        ]

    def check_sent(self, consumer: Consumer, text: str) -> None:
        channel = channel_of(consumer)
        if channel is None:
            return
        frame = json.loads(text)
        self.seen[channel].add(frame.get("type"))
        for error in self.errors(channel, "server", frame):
            self.failures.append(f"{channel} sent {text[:300]}: {error}")
