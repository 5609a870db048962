"""
Browser origins compared as browsers send them, for every rule that lists
origins in a setting (chat.sockets.origins: who may call the API and open
sockets; core.rest: which pages are the original tutorial client's).

    normalized_origin("HTTP://LocalHost:80/")                        # "http://localhost"
    origin_listed("http://localhost:3000", ["http://localhost:3000"])  # True
"""

from urllib.parse import urlsplit

_DEFAULT_PORTS = {"http": 80, "https": 443}


def normalized_origin(origin: str) -> str:
    """``scheme://host[:port]`` in lower case without a default port, or "" if it is no origin."""
    try:
        parts = urlsplit(origin.strip().rstrip("/").lower())
        port = parts.port
    except ValueError:
        return ""
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
        return ""
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{parts.scheme}://{host}" + (f":{port}" if port and port != _DEFAULT_PORTS[parts.scheme] else "")


def origin_listed(origin: str | None, listed) -> bool:
    """Whether ``origin`` (a request's Origin header, or None) is one of ``listed`` (no wildcards)."""
    origin = normalized_origin(origin or "")
    return bool(origin) and origin in {normalized_origin(item) for item in listed}
