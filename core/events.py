"""
Serialising events' frames once (``dumps``: compact JSON, the form every
frame is sent in), shared by every app that builds events.
"""

import json


def dumps(data: dict) -> str:
    return json.dumps(data, separators=(",", ":"))
