"""
What an uploaded file is, read from its bytes: never from the name or the
Content-Type the client sent.

    kind = sniff(uploaded_file)   # FileKind("image/png", width=640, height=480)

Images are opened with Pillow (which also gives their size and refuses
decompression bombs); other files are matched against puremagic's table of
file signatures; a file no signature matches is text/plain when it is UTF-8
without NUL bytes. Whether the type is accepted is the caller's business
(CHAT_ATTACHMENT_TYPES).
"""

from dataclasses import dataclass

import puremagic
from PIL import Image, UnidentifiedImageError

# Pillow's format names for the image types it opens.
_IMAGE_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "GIF": "image/gif", "WEBP": "image/webp"}
# Names puremagic gives that mean one of the types we list.
_ALIASES = {"application/ogg": "audio/ogg", "audio/mp3": "audio/mpeg", "audio/x-mpeg": "audio/mpeg"}
HEAD_BYTES = 64 * 1024


@dataclass(frozen=True)
class FileKind:
    content_type: str
    width: int | None = None
    height: int | None = None


def sniff(file) -> FileKind:
    """The type of ``file`` (a Django UploadedFile or any seekable binary file)."""
    file.seek(0)
    head = file.read(HEAD_BYTES)
    file.seek(0)
    image = _image(file)
    if image is not None:
        return image
    return FileKind(_signature(head) or _text(head) or "application/octet-stream")


def _image(file) -> FileKind | None:
    try:
        with Image.open(file) as image:
            content_type = _IMAGE_TYPES.get(image.format or "")
            if content_type is None:
                return None
            image.verify()
            return FileKind(content_type, *image.size)
    except Image.DecompressionBombError:
        return FileKind("image/x-too-large")
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        return None
    finally:
        file.seek(0)


def _signature(head: bytes) -> str | None:
    try:
        matches = puremagic.magic_string(head)
    except (puremagic.PureError, ValueError):
        return None
    for match in sorted(matches, key=lambda match: -match.confidence):
        if match.mime_type:
            return _ALIASES.get(match.mime_type, match.mime_type)
    return None


def _text(head: bytes) -> str | None:
    if b"\x00" in head:
        return None
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as error:
        # The head may end inside a character: only an error near the end is forgiven.
        if error.start < len(head) - 4:
            return None
    return "text/plain"
