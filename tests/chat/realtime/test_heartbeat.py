"""The process heartbeat: one refresh and one snapshot per beat for all sockets."""

from chat.realtime.heartbeat import Heartbeat
from chat.realtime.presence import MemoryPresence
from tests.plugins.clocks import FakeClock


class Socket:
    def __init__(self, user_id, channel_name, watched=(), fail=False):
        self.user_id, self.channel_name = user_id, channel_name
        self.watched_user_ids = frozenset(watched)
        self.snapshots, self.fail = [], fail

    async def presence_refresh(self, online, taken_at):
        if self.fail:
            raise ConnectionError("gone")
        self.snapshots.append((online, taken_at))


async def test_a_beat_refreshes_every_socket_and_hands_each_the_snapshot():
    wall, monotonic = FakeClock(), FakeClock(50.0)
    store = MemoryPresence(ttl=10, clock=wall)
    heartbeat = Heartbeat(store=store, interval=60, clock=monotonic)
    ann, ben = Socket("ann", "c1", watched={"ann", "ben", "cid"}), Socket("ben", "c2")
    heartbeat.sockets.update({ann, ben})
    await store.touch("cid", "crashed")  # a user of a crashed process: never refreshed
    await store.touch("ann", "c1")
    await store.touch("ben", "c2")
    wall.advance(9)
    await heartbeat.beat()
    assert ann.snapshots == [({"ann", "ben", "cid"}, 50.0)]
    wall.advance(9)
    await heartbeat.beat()
    assert ann.snapshots[-1] == ({"ann", "ben"}, 50.0), "the refreshed stay, the crashed one expired"
    assert ben.snapshots[-1] == ann.snapshots[-1], "one snapshot per beat, shared by every socket"


async def test_one_failing_socket_does_not_stop_the_others():
    heartbeat = Heartbeat(store=MemoryPresence(ttl=10), interval=60)
    broken, fine = Socket("a", "c1", fail=True), Socket("b", "c2", watched={"b"})
    heartbeat.sockets.update({broken, fine})
    await heartbeat.beat()
    assert fine.snapshots and fine.snapshots[0][0] == {"b"}


async def test_a_store_failure_skips_the_beat_without_raising():
    class DownStore(MemoryPresence):
        async def refresh(self, connections):
            raise ConnectionError("redis down")

    socket = Socket("a", "c1", watched={"a"})
    heartbeat = Heartbeat(store=DownStore(), interval=60)
    heartbeat.sockets.add(socket)
    await heartbeat.beat()
    assert socket.snapshots == []


async def test_the_task_runs_while_sockets_are_open_and_stops_with_the_last():
    heartbeat = Heartbeat(store=MemoryPresence(ttl=10), interval=60)
    first, second = Socket("a", "c1"), Socket("b", "c2")
    heartbeat.add(first)
    heartbeat.add(second)
    task = heartbeat._task
    assert task is not None and not task.done()
    heartbeat.discard(first)
    assert heartbeat._task is task
    heartbeat.discard(second)
    assert heartbeat._task is None
