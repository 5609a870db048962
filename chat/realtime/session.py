"""
Per-socket sessions, in plain Python: what a socket has delivered, what it
has told its client about presence, and so what each event makes it send.
Each consumer owns one session and hands it every event; the session sends
through the ``send`` it was given and reads history through ``fetch``, so
tests drive it with plain functions and no Channels.

    cursor = DeliveryCursor(delivered=5)
    cursor.missing_before(9)    # range(6, 9): fetch 6..8 from the database first
    cursor.missing_before(4)    # None: already delivered, skip

    session = RoomSession(profile=RICH, viewer_id=me, member_ids=ids, delivered=5, send=send, fetch=fetch)
    await session.message(event)   # fills 6..8 through fetch, then sends event 9
"""

import time
from collections.abc import Awaitable, Callable, Iterable
from sys import intern

from . import events
from .profiles import ClientProfile, read_position_shown
from .quiet import QuietList, is_mentioned


class DeliveryCursor:
    """
    The last seq a room socket sent. Messages reach its client in seq order
    with none missing and none twice: a repeat is skipped, a jump (an event
    the channel layer dropped, or two processes' events crossing) is filled
    from the database before the new message goes out.
    """

    __slots__ = ("delivered",)

    def __init__(self, delivered: int = 0):
        self.delivered = delivered

    def missing_before(self, seq: int) -> range | None:
        """None when ``seq`` was delivered already; else the seqs to fill before it (often none)."""
        if seq <= self.delivered:
            return None
        return range(self.delivered + 1, seq)

    def advance(self, seq: int) -> None:
        """``seq`` (and everything below it) has been sent."""
        self.delivered = max(self.delivered, seq)


class RoomPresence:
    """
    Who a room socket has told its client is online, reconciled with the
    presence store's snapshot at every heartbeat so that changes nobody
    announced (the users of a crashed process) still reach the client.
    An announcement newer than a snapshot wins over it. Members in
    ``hidden`` (the other member of a direct conversation a block closes)
    are not watched: the client is told nothing of them.

    Who is online is kept as bits over the member tuple (bit i: member i),
    and announcement times only once there are some: a set of 20 online
    members was about 2 KB for the socket's life, the bits are one int.
    """

    __slots__ = ("member_ids", "hidden", "_online", "_announced_at", "_clock")

    def __init__(
        self, member_ids: Iterable[str], *, hidden: Iterable[str] = (), clock: Callable[[], float] = time.monotonic
    ):
        # A tuple: every socket keeps one for its whole life, and for 20 ids
        # a frozenset takes 2,264 bytes against a tuple's 200. The ids are
        # interned, as every id kept here: each socket's copy of an id (read
        # from the database, or from each event it is handed) would be 85
        # bytes more for the socket's life; interned, a process keeps one.
        self.member_ids = tuple(map(intern, member_ids))
        self.hidden = tuple(map(intern, hidden))
        self._online = 0
        self._announced_at: dict[str, float] | None = None
        self._clock = clock

    @property
    def online(self) -> set[str]:
        """The members the client was last told are online."""
        return {user_id for i, user_id in enumerate(self.member_ids) if self._online >> i & 1}

    def _set(self, user_id: str, online: bool) -> None:
        try:
            bit = 1 << self.member_ids.index(user_id)
        except ValueError:  # not a member (any more): nothing to show
            return
        self._online = self._online | bit if online else self._online & ~bit

    @property
    def watched(self) -> tuple[str, ...]:
        """The members whose presence the client is shown."""
        if not self.hidden:
            return self.member_ids
        return tuple(user_id for user_id in self.member_ids if user_id not in self.hidden)

    def start(self, online: Iterable[str]) -> list[str]:
        """The members online when the socket opened, sorted, for ``presence.state``."""
        online = set(online)
        hidden = self.hidden
        self._online = 0
        for i, user_id in enumerate(self.member_ids):
            if user_id in online and user_id not in hidden:
                self._online |= 1 << i
        return sorted(self.online)

    def members_changed(self, member_ids: Iterable[str]) -> None:
        online = self.online
        self.member_ids = tuple(map(intern, member_ids))
        self._online = 0
        for user_id in online:
            self._set(user_id, True)

    def hide(self, user_id: str) -> bool:
        """Stop showing ``user_id``; True when the client was last told they are online (so now: offline)."""
        if user_id not in self.hidden:
            self.hidden = (*self.hidden, intern(user_id))
        if self._announced_at:
            self._announced_at.pop(user_id, None)
        if user_id in self.online:
            self._set(user_id, False)
            return True
        return False

    def show(self, user_id: str) -> None:
        """Show ``user_id`` again: the next heartbeat reports them if they are online."""
        self.hidden = tuple(hidden for hidden in self.hidden if hidden != user_id)

    def announce(self, user_id: str, online: bool) -> None:
        """A presence event arrived for ``user_id``."""
        user_id = intern(user_id)
        if self._announced_at is None:
            self._announced_at = {}
        self._announced_at[user_id] = self._clock()
        self._set(user_id, online)

    def reconcile(self, snapshot: set[str], taken_at: float) -> list[tuple[str, bool]]:
        """
        The changes to report, given who was online at ``taken_at`` (a clock
        reading), as ``(user_id, online)``; the view is updated to match.
        """
        changes = []
        announced_at = self._announced_at or {}
        for user_id in sorted(snapshot.intersection(self.watched) ^ self.online):
            if announced_at.get(user_id, float("-inf")) > taken_at:
                continue
            now_online = user_id in snapshot
            changes.append((user_id, now_online))
            self._set(user_id, now_online)
        return changes


class ContactPresence:
    """What a notifications socket has told its client of contacts' presence: each change once."""

    __slots__ = ("_known",)

    def __init__(self):
        self._known: dict[str, bool] = {}

    def changed(self, user_id: str, online: bool) -> bool:
        """Record a presence event; True when the client has not been told this yet."""
        if self._known.get(user_id) == online:
            return False
        self._known[intern(user_id)] = online
        return True


# Events about what a member is doing, withheld while they are hidden.
_OF_A_MEMBER = frozenset({"chat.typing", "presence", "user.status"})

Send = Callable[[str], Awaitable[None]]
_nowhere = lambda *delivered: None  # noqa: E731 (no delivered positions noted: tests)
# fetch(after, before) -> the room frames of the next page of messages after
# ``after`` (and below ``before``), as (seq, frame text), in seq order.
Fetch = Callable[[int, int | None], Awaitable[list[tuple[int, str]]]]
# fetch_summaries(after, above) -> the next page of ``chat.thread.updated``
# frames a client resuming from ``after`` is owed: those of the roots above
# ``above`` and at or below ``after`` whose threads got replies after it, as
# (root seq, frame text), in seq order.
FetchSummaries = Callable[[int, int], Awaitable[list[tuple[int, str]]]]


class RoomSession:
    """
    One room socket's side of the conversation: it is handed every event of
    the room's groups and decides, with the client profile, what to send.
    ``send`` and ``fetch`` are the socket's; nothing here knows Channels.
    In a direct conversation a block closes, the other member is ``hidden``:
    their typing and presence are not sent (``block_changed`` keeps it current).
    """

    __slots__ = (
        "profile", "viewer_id", "cursor", "presence", "shares_reads", "_send", "_fetch", "_fetch_summaries", "_drained",
        "_delivered",
    )

    def __init__(
        self,
        *,
        profile: ClientProfile,
        viewer_id: str,
        member_ids: Iterable[str],
        delivered: int,
        send: Send,
        fetch: Fetch,
        drained: Callable[[], Awaitable[None]] | None = None,
        hidden: Iterable[str] = (),
        clock: Callable[[], float] = time.monotonic,
        delivered_to: Callable[[int], None] | None = None,
        shares_reads: bool = True,
        fetch_summaries: FetchSummaries | None = None,
    ):
        self.profile = profile
        self.viewer_id = viewer_id
        self.cursor = DeliveryCursor(delivered)
        self.presence = RoomPresence(member_ids, hidden=hidden, clock=clock)
        self.shares_reads = shares_reads  # the viewer's read_receipts: off, others' reads are not sent
        self._send = send
        self._fetch = fetch
        self._fetch_summaries = fetch_summaries
        self._drained = drained
        self._delivered = delivered_to or _nowhere  # told each seq sent (chat.realtime.delivery_flush)

    @property
    def watched_user_ids(self) -> tuple[str, ...]:
        """Whose presence the heartbeat should report to this socket."""
        return self.presence.watched if self.profile.sees_presence else ()

    def members_changed(self, member_ids: Iterable[str]) -> None:
        """Members were added or removed: watch the presence of those there now."""
        self.presence.members_changed(member_ids)

    async def block_changed(self, user_ids: Iterable[str], closed: bool) -> None:
        """
        A block between ``user_ids`` (this direct conversation's members) was
        made or lifted; ``closed``: one of them still blocks the other. While
        closed the other member's typing and presence are not sent, and a
        client told they were online is told they went offline; once open
        again, the next heartbeat reports their presence.
        """
        user_ids = list(user_ids)
        if self.viewer_id not in user_ids or len(user_ids) != 2:
            return
        other = next(user_id for user_id in user_ids if user_id != self.viewer_id)
        if not closed:
            self.presence.show(other)
        elif self.presence.hide(other) and self.profile.sees_presence:
            await self._send(events.presence(user_id=other, online=False)["text"])

    async def catch_up(self, after: int, before: int | None = None) -> None:
        """
        Send every message after ``after`` (and below ``before``) in seq
        order, a page at a time, each frame only once the client has taken
        enough of the earlier ones (``drained``): history never piles up
        unsent, however long it is.
        """
        while page := await self._fetch(after, before):
            for seq, text in page:
                if self._drained is not None:
                    await self._drained()
                await self._send(text)
                self.cursor.advance(seq)
            after = page[-1][0]
            self._delivered(after)

    async def resume(self, after: int) -> None:
        """
        A client resuming from ``after`` (``?after=``, ``sync``): every message
        since (``catch_up``), then the summaries of the threads rooted at or
        before ``after`` that those messages replied in, which the client
        holds stale (roots after it came with theirs). Summaries only to a
        profile that takes ``chat.thread.updated``, and only when the
        catch-up sent something.
        """
        await self.catch_up(after)
        wanted = self.profile.accepts({"type": "chat.thread.updated"}, viewer_id=self.viewer_id)
        if self._fetch_summaries is None or not wanted or self.cursor.delivered <= after:
            return
        above = 0
        while page := await self._fetch_summaries(after, above):
            for _, text in page:
                if self._drained is not None:
                    await self._drained()
                await self._send(text)
            above = page[-1][0]

    async def message(self, event: dict) -> None:
        """A message was saved: skip it if sent already, fill any gap before it, send it."""
        missing = self.cursor.missing_before(event["seq"])
        if missing is None:
            return
        if missing:
            await self.catch_up(missing.start - 1, before=missing.stop)
        await self._send(event["text"])
        self.cursor.advance(event["seq"])
        self._delivered(event["seq"])

    async def event(self, event: dict) -> None:
        """Any other event: sent if the client wants it (no typing or presence of a hidden member)."""
        if self.profile.accepts(event, viewer_id=self.viewer_id):
            if event["type"] == "presence.changes":
                changes = events.changes_of(event)
                shown = [change for change in changes if change[0] not in self.presence.hidden]
                for user_id, online in shown:
                    self.presence.announce(user_id, online)
                return await _send_changes(self._send, event, changes, shown)
            if event["type"] in _OF_A_MEMBER and event["user_id"] in self.presence.hidden:
                return
            if event["type"] == "chat.read" and not read_position_shown(
                reader_id=event["user_id"], viewer_id=self.viewer_id,
                reader_shares=event["shared"], viewer_shares=self.shares_reads,
            ):
                return
            if event["type"] == "presence":
                self.presence.announce(event["user_id"], event["online"])
            await self._send(event["text"])

    async def presence_state(self, online: set[str]) -> None:
        """Right after connecting: who of the members is online."""
        if self.profile.sees_presence:
            state = {"type": "presence.state", "online": self.presence.start(online)}
            await self._send(events.dumps(state))

    async def presence_snapshot(self, online: set[str], taken_at: float) -> None:
        """Every heartbeat: report the changes nobody announced."""
        if self.profile.sees_presence:
            for user_id, now_online in self.presence.reconcile(online, taken_at):
                await self._send(events.presence(user_id=user_id, online=now_online)["text"])


class NotificationsSession:
    """
    One notifications socket's side: messages as ``notification`` frames
    to whom chat.audience says (through QuietList: none from blocked users,
    in muted conversations or below the member's level unless they are
    mentioned; a thread's replies to its followers only), presence once per
    change.
    """

    __slots__ = ("profile", "viewer_id", "contacts", "quiet", "_send", "_delivered", "_statuses")
    watched_user_ids: tuple[str, ...] = ()  # contacts' presence comes by events only

    def __init__(self, *, profile: ClientProfile, viewer_id: str, send: Send, quiet: QuietList | None = None,
                 delivered_to: Callable[[str, int], None] | None = None):
        self.profile = profile
        self.viewer_id = viewer_id
        self.contacts = ContactPresence()
        self.quiet = quiet if quiet is not None else QuietList()
        self._send = send
        self._delivered = delivered_to or _nowhere  # told (conversation id, seq) of each notification sent
        # The last user.status frame sent per user: a contact in several shared conversations comes once each.
        self._statuses: dict[str, str] = {}

    async def event(self, event: dict) -> None:
        if not self.profile.accepts(event, viewer_id=self.viewer_id):
            return
        kind = event["type"]
        if kind in ("chat.message", "chat.mention"):
            if self.quiet.silences(event, viewer_id=self.viewer_id):
                return
            mentioned = is_mentioned(event, self.viewer_id)
            await self._send(event["mention_notification" if mentioned else "notification"])
            if kind == "chat.message":  # a chat.mention repeats a message already counted
                self._delivered(event["conversation_id"], event["seq"])
            return
        if kind == "presence" and not self.contacts.changed(event["user_id"], event["online"]):
            return
        if kind == "user.status":
            if self._statuses.get(event["user_id"]) == event["text"]:
                return
            self._statuses[intern(event["user_id"])] = event["text"]
        if kind == "presence.changes":
            changes = events.changes_of(event)
            shown = [change for change in changes if change[0] != self.viewer_id and self.contacts.changed(*change)]
            return await _send_changes(self._send, event, changes, shown)
        if kind == "block.updated":
            self.quiet.block_changed(event["user_id"], event["blocked"])
        elif kind == "conversation.muted":
            self.quiet.mute_changed(event["conversation_id"], event["muted"], event["until"])
        elif kind == "conversation.notifications":
            self.quiet.level_changed(event["conversation_id"], event["level"])
        await self._send(event["text"])


async def _send_changes(send: Send, event: dict, changes: list, shown: list) -> None:
    """A ``presence.changes`` event as it came, or only the changes ``shown`` (none: nothing)."""
    if len(shown) == len(changes):
        await send(event["text"])
    elif shown:
        await send(events.presence_changes(shown)["text"])
