"""
The archive of one user's data: a zip written to a file object, in bounded
memory (every list is read in chunks and streamed into the zip), within the
limits it is given (DATA_EXPORT_MAX_MESSAGES, DATA_EXPORT_MAX_BYTES).

    summary = archive_write(user=user, out=temporary_file, limits=Limits(100_000, 2**30), export_id=..., now=...)

Layout (README.txt, written into every archive, says the same to its reader):

    README.txt           what is where, and whether anything was left out
    export.json          who, when, counts, limits, and ``truncated``
    profile.json         the account
    profile/avatar.*     the avatar, if any
    conversations.json   the conversations they are or were in, with members now
    messages.jsonl       the messages they sent, one JSON object a line, oldest first
    attachments.json     the files they sent: each one's id, message, name, type, size, path in the archive
    attachments/<id>/<name>   the files
"""

import json
import shutil
import tempfile
import zipfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import PurePath

from chat.exports import selectors
from chat.messages.serializers import timestamp
from useraccount.models import Block, User


@dataclass(frozen=True)
class Limits:
    messages: int
    bytes: int


@dataclass
class Summary:
    """What went into an archive."""

    messages: int = 0
    attachments: int = 0
    attachments_left_out: int = 0
    messages_left_out: bool = False
    bytes: int = 0
    conversations: int = 0
    left_out: list[str] = field(default_factory=list)

    @property
    def truncated(self) -> bool:
        return self.messages_left_out or self.attachments_left_out > 0


def _json(data) -> bytes:
    return json.dumps(data, ensure_ascii=False, indent=2).encode()


def _safe_name(name: str) -> str:
    """A file name that stays inside its folder of the archive."""
    name = PurePath(name.replace("\\", "/")).name.strip().lstrip(".")
    return name or "file"


def _display_name(user_id, name: str, deleted_at) -> str:
    return User(id=user_id, name=name or "", deleted_at=deleted_at).display_name


class _Writer:
    """The zip, with the bytes written so far counted against the limit."""

    def __init__(self, out, limit: int):
        self.zip = zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True)
        self.limit = limit
        self.written = 0

    def fits(self, size: int) -> bool:
        return self.written + size <= self.limit

    def small(self, name: str, data: bytes) -> None:
        """A file whose bytes are already in memory (small ones: profile, indexes, README)."""
        self.zip.writestr(name, data)
        self.written += len(data)


def archive_write(*, user: User, out, limits: Limits, export_id, now: datetime) -> Summary:
    """Write ``user``'s archive into ``out`` (a writable, seekable binary file); what went in."""
    writer, summary = _Writer(out, limits.bytes), Summary()
    try:
        avatar = _write_profile(writer, user)
        _write_conversations(writer, user, summary)
        _write_messages(writer, user, limits, summary)
        _write_attachments(writer, user, summary)
        facts = {
            "export_id": str(export_id), "user_id": str(user.id), "created_at": timestamp(now),
            "truncated": summary.truncated,
            "conversations": summary.conversations, "messages": summary.messages,
            "messages_left_out": summary.messages_left_out,
            "attachments": summary.attachments, "attachments_left_out": summary.attachments_left_out,
            "limits": {"messages": limits.messages, "bytes": limits.bytes},
        }
        writer.zip.writestr("export.json", _json(facts))
        writer.zip.writestr("README.txt", _readme(user, now, summary, limits, avatar).encode())
    finally:
        writer.zip.close()
    summary.bytes = writer.written
    return summary


def _write_profile(writer: _Writer, user: User) -> str | None:
    avatar = None
    if user.avatar:
        name = f"profile/avatar{PurePath(user.avatar.name).suffix.lower()}"
        try:
            with user.avatar.open("rb") as source, writer.zip.open(name, "w", force_zip64=True) as target:
                shutil.copyfileobj(source, target, 1024 * 1024)
            writer.written += user.avatar.size
            avatar = name
        except OSError:  # the file is gone: the profile says so by having none
            avatar = None
    blocks = Block.objects.filter(blocker=user).select_related("blocked").order_by("created_at")
    profile = {
        "id": str(user.id),
        "email": user.email,
        "name": user.name,
        "date_joined": timestamp(user.date_joined),
        "last_login": timestamp(user.last_login),
        "is_active": user.is_active,
        "read_receipts": user.read_receipts,
        "avatar": avatar,
        "blocked_users": [
            {"id": str(block.blocked_id), "name": block.blocked.display_name, "since": timestamp(block.created_at)}
            for block in blocks.iterator(chunk_size=selectors.CHUNK)
        ],
    }
    writer.small("profile.json", _json(profile))
    return avatar


def _write_conversations(writer: _Writer, user: User, summary: Summary) -> None:
    """A JSON array streamed one conversation at a time."""
    ids = selectors.export_conversation_ids(user=user)
    with writer.zip.open("conversations.json", "w", force_zip64=True) as target:
        target.write(b"[")
        for number, (conversation, members, is_member) in enumerate(
            selectors.export_conversations(user=user, ids=ids)
        ):
            item = {
                "id": str(conversation.id),
                "title": conversation.title,
                "kind": "direct" if conversation.direct_key else "group",
                "created_at": timestamp(conversation.created_at),
                "member": is_member,
                "members": [
                    {"id": str(member_id), "name": _display_name(member_id, name, deleted_at)}
                    for member_id, name, deleted_at in members
                ],
            }
            data = (b"," if number else b"") + b"\n" + json.dumps(item, ensure_ascii=False).encode()
            target.write(data)
            writer.written += len(data)
            summary.conversations += 1
        target.write(b"\n]\n")


def _write_messages(writer: _Writer, user: User, limits: Limits, summary: Summary) -> None:
    with writer.zip.open("messages.jsonl", "w", force_zip64=True) as target:
        for message in selectors.export_messages(user=user):
            if summary.messages >= limits.messages:
                summary.messages_left_out = True
                break
            line = json.dumps(_message(message), ensure_ascii=False).encode() + b"\n"
            if not writer.fits(len(line)):
                summary.messages_left_out = True
                break
            target.write(line)
            writer.written += len(line)
            summary.messages += 1


def _message(message) -> dict:
    return {
        "id": str(message.id),
        "conversation_id": str(message.conversation_id),
        "seq": message.seq,
        "created_at": timestamp(message.created_at),
        "edited_at": timestamp(message.edited_at),
        "deleted_at": timestamp(message.deleted_at),
        "hidden_by_moderator": message.moderated_at is not None,
        "body": message.body,
        "reply_to_id": str(message.reply_to_id) if message.reply_to_id else None,
        "thread_id": str(message.thread_root_id) if message.thread_root_id else None,
        "mentions": list(message.mention_ids or []),
        "attachments": [{"id": item["id"], "name": item["name"]} for item in message.attachment_summary or []],
    }


def _write_attachments(writer: _Writer, user: User, summary: Summary) -> None:
    """
    Each file that fits in what the limit leaves; the index lists every one,
    with ``file`` null for those left out. The index waits in a temporary
    file meanwhile (a zip takes one entry at a time).
    """
    with tempfile.TemporaryFile() as index:
        index.write(b"[")
        for number, attachment in enumerate(selectors.export_attachments(user=user)):
            path = f"attachments/{attachment.id}/{_safe_name(attachment.name)}"
            if writer.fits(attachment.size) and _copy(writer, attachment, path):
                summary.attachments += 1
            else:
                path = None
                summary.attachments_left_out += 1
            item = {
                "id": str(attachment.id), "message_id": str(attachment.message_id),
                "conversation_id": str(attachment.conversation_id), "name": attachment.name,
                "content_type": attachment.content_type, "size": attachment.size,
                "created_at": timestamp(attachment.created_at), "file": path,
            }
            index.write((b"," if number else b"") + b"\n" + json.dumps(item, ensure_ascii=False).encode())
        index.write(b"\n]\n")
        writer.written += index.tell()
        index.seek(0)
        with writer.zip.open("attachments.json", "w", force_zip64=True) as target:
            shutil.copyfileobj(index, target, 1024 * 1024)


def _copy(writer: _Writer, attachment, path: str) -> bool:
    """Stream one stored file into the zip; False when the storage no longer has it."""
    try:
        source = attachment.file.storage.open(attachment.file.name, "rb")
    except (OSError, FileNotFoundError):
        return False
    with source, writer.zip.open(path, "w", force_zip64=True) as target:
        shutil.copyfileobj(source, target, 1024 * 1024)
    writer.written += attachment.size
    return True


def _readme(user: User, now: datetime, summary: Summary, limits: Limits, avatar: str | None) -> str:
    lines = [
        f"Your data, exported {timestamp(now)} for account {user.id}.",
        "",
        "What is where:",
        "  README.txt          this file",
        "  export.json         when this archive was made, what it holds, and whether anything was left out",
        "  profile.json        your account: email, name, when you joined, your settings, the people you block",
    ]
    if avatar:
        lines.append(f"  {avatar:<19} your avatar")
    lines += [
        "  conversations.json  the conversations you are or were in (a member now, or you wrote in them):",
        "                      id, title, direct or group, and the members as they are now (id and name)",
        "  messages.jsonl      the messages you sent, one JSON object a line, oldest first",
        "                      (a deleted message has deleted_at and no body; attachments name their files)",
        "  attachments.json    the files you sent: message, name, type, size, and where the file is",
        "  attachments/<id>/   each file, under its attachment id, with the name it was sent with",
        "",
    ]
    if summary.truncated:
        lines.append("THIS ARCHIVE WAS CUT: it holds at most "
                     f"{limits.messages} messages and {limits.bytes} bytes of data.")
        if summary.messages_left_out:
            lines.append(f"  Only your {summary.messages} oldest messages are in messages.jsonl; later ones were left out.")
        if summary.attachments_left_out:
            lines.append(f"  {summary.attachments_left_out} file(s) were left out: attachments.json lists them "
                         "with \"file\": null.")
    else:
        lines.append(f"Nothing was left out: {summary.messages} messages and {summary.attachments} files.")
    return "\n".join(lines) + "\n"
