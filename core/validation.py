"""
Input rules used by more than one transport, written once.

    whole_number(frame.get("after"), name="after")     # JSON value from a socket frame
    whole_number("42", name="after", from_text=True)    # text from a query string
    uuid_or_none("not-a-uuid")                          # -> None
    storable_text("a\x00b")                             # -> False: NUL cannot be stored
"""

from uuid import UUID

from .errors import InvalidInput


def whole_number(value, *, name: str, from_text: bool = False) -> int:
    """
    ``value`` as an int >= 0, else InvalidInput with code ``invalid_<name>``.

    JSON values must be integers (not booleans, floats or strings); with
    ``from_text`` a string of ASCII digits is read too, as query strings are.
    """
    if from_text and isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    raise InvalidInput(f"{name} must be a whole number, 0 or more.", code=f"invalid_{name}", field=name)


def uuid_or_none(value) -> UUID | None:
    """``value`` as a UUID, or None when it is not one (ids come from URLs and frames)."""
    if isinstance(value, UUID):
        return value
    if not isinstance(value, str):
        return None
    try:
        return UUID(value)
    except ValueError:
        return None


def storable_text(value: str) -> bool:
    """
    Whether ``value`` can be stored as text: no NUL (PostgreSQL refuses it)
    and no lone surrogate halves (not encodable as UTF-8; JSON can carry them
    as ``\ud800`` escapes).
    """
    if "\x00" in value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
