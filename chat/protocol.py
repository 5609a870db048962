"""
Parsing of client WebSocket frames (the full protocol is in docs/protocol.md).

``parse_client_frame`` turns the text of a frame into a dict with a ``type``,
or raises InvalidInput with the code the client gets in its error frame. The
original tutorial client's ``{"event": "chat_message", "data": {...}}`` is
read as a ``message.send``; only its ``body`` (and ``client_id``) are used,
since sender, name and recipient come from the token and the conversation.
"""

import json

from .errors import InvalidInput

LEGACY_EVENT = "chat_message"


def parse_client_frame(text_data: str | None) -> dict:
    if text_data is None:
        raise InvalidInput("Frames must be JSON text, not binary.", code="invalid_json")
    try:
        frame = json.loads(text_data)
    except ValueError:
        raise InvalidInput("The frame is not valid JSON.", code="invalid_json")
    if not isinstance(frame, dict):
        raise InvalidInput("The frame must be a JSON object.", code="invalid_frame")
    if "type" not in frame and frame.get("event") == LEGACY_EVENT:
        data = frame.get("data")
        if not isinstance(data, dict):
            raise InvalidInput('"data" must be an object.', code="invalid_frame")
        return {"type": "message.send", "body": data.get("body"), "client_id": data.get("client_id")}
    if not isinstance(frame.get("type"), str):
        raise InvalidInput('The frame needs a "type".', code="unknown_type")
    return frame
