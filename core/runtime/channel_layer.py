"""
channels-redis' pub/sub layer with the sockets' own channels kept in-process.

Channels gives every consumer a channel of its own (``new_channel``) that
anything could send to; the pub/sub layer subscribes each one on Redis: a
SUBSCRIBE when a socket opens, an UNSUBSCRIBE when it closes, and a name in
Redis's and redis-py's subscription tables meanwhile. Nothing in this project
sends to a consumer's own channel: every event goes to a group
(docs/architecture.md), and groups are subscribed once per process, however
many of its sockets follow them. So a socket's channel here is only its queue
in this process (a ``LeanQueue``): a send to it from this process arrives as
before, without Redis; a send to a channel of another process would reach
nobody.

A group's first follower in the process subscribes it: channels-redis sends
one SUBSCRIBE per group, each behind the shard's lock, and every connect
brings a new group (its user's). Here the groups that sockets join while the
event loop runs one pass go out in one SUBSCRIBE (and the groups left, one
UNSUBSCRIBE); each ``group_add`` returns once the command carrying its group
is written, as channels-redis' does (docs/benchmarks.md, "Connects").

    CHANNEL_LAYERS = {"default": {"BACKEND": "core.runtime.channel_layer.ProcessLocalChannelsLayer", ...}}
"""

import asyncio
import uuid
from dataclasses import dataclass, field

from channels_redis.pubsub import RedisPubSubChannelLayer, RedisPubSubLoopLayer
from channels_redis.utils import _wrap_close

from core.runtime.lean_queue import LeanQueue


@dataclass(eq=False)
class _Changes:
    """A shard's subscriptions to change in its next write, and the future its callers wait on."""

    add: set = field(default_factory=set)
    drop: set = field(default_factory=set)
    written: asyncio.Future | None = None


class _LoopLayer(RedisPubSubLoopLayer):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._changes: dict = {}  # shard -> _Changes not yet written
        self._in_flight: dict = {}  # group channel -> the future of the write subscribing it
        self._writes: set = set()

    async def group_add(self, group, channel):
        if channel not in self.channels:
            return await super().group_add(group, channel)  # channels-redis' error
        group_channel = self._get_group_channel_name(group)
        self.groups.setdefault(group_channel, set()).add(channel)
        try:
            await self._subscribed(group_channel)
        except BaseException:
            # Not joined: the channel must not hold the group (it would never be left, nor unsubscribed).
            followers = self.groups.get(group_channel)
            if followers is not None:
                followers.discard(channel)
                if not followers:
                    del self.groups[group_channel]
            raise

    async def _subscribed(self, group_channel):
        """Return once the group's SUBSCRIBE is written (now, earlier, or by a write on its way)."""
        shard = self._get_shard(group_channel)
        pending = self._changes.get(shard)
        if pending is not None:
            pending.drop.discard(group_channel)  # left and joined again before the write: not dropped
        if group_channel in shard._subscribed_to:
            written = self._in_flight.get(group_channel)
            if written is not None:
                await asyncio.shield(written)
            return
        await self._change(shard, add=group_channel)

    async def group_discard(self, group, channel):
        group_channel = self._get_group_channel_name(group)
        followers = self.groups.get(group_channel)
        if not followers or channel not in followers:
            return
        followers.discard(channel)
        if followers:
            return
        del self.groups[group_channel]
        shard = self._get_shard(group_channel)
        pending = self._changes.get(shard)
        if pending is not None and group_channel in pending.add:
            pending.add.discard(group_channel)
            return
        if group_channel in shard._subscribed_to:
            await self._change(shard, drop=group_channel)

    async def _change(self, shard, *, add=None, drop=None):
        """Put a subscription change into the shard's next write (made once this loop pass ends); wait for it."""
        pending = self._changes.get(shard)
        if pending is None:
            loop = asyncio.get_running_loop()
            pending = self._changes[shard] = _Changes(written=loop.create_future())
            loop.call_soon(self._start_write, shard)
        if add is not None:
            pending.add.add(add)
        if drop is not None:
            pending.drop.add(drop)
        await asyncio.shield(pending.written)

    def _start_write(self, shard):
        task = asyncio.ensure_future(self._write(shard))
        self._writes.add(task)  # kept until done: an unreferenced task may be collected
        task.add_done_callback(self._writes.discard)

    async def _write(self, shard):
        """One SUBSCRIBE and one UNSUBSCRIBE for what the loop pass asked of ``shard``."""
        # Taken now: changes asked from here on make the next write, which
        # waits for this one on the shard's lock (first come, first served).
        changes = self._changes.pop(shard)
        add, drop = changes.add, changes.drop
        try:
            async with shard._lock:
                # Marked before the write, so that a group joined while it is on
                # its way waits for it (``_in_flight``) instead of subscribing twice.
                shard._subscribed_to.update(add)
                shard._subscribed_to.difference_update(drop)
                for group_channel in add:
                    self._in_flight[group_channel] = changes.written
                shard._ensure_redis()
                shard._ensure_receiver()
                if add:
                    await shard._pubsub.subscribe(*add)
                if drop:
                    await shard._pubsub.unsubscribe(*drop)
        except BaseException as error:
            shard._subscribed_to.difference_update(add)
            if isinstance(error, Exception):  # Redis failed: every caller waiting on this write gets the error
                changes.written.set_exception(error)
                changes.written.exception()  # marked retrieved: if no caller waits any longer, nothing is logged
            else:
                changes.written.cancel()
                raise
        else:
            changes.written.set_result(None)
        finally:
            for group_channel in add:
                if self._in_flight.get(group_channel) is changes.written:
                    del self._in_flight[group_channel]

    async def new_channel(self, prefix="specific."):
        return self.attach(LeanQueue(), prefix)

    def attach(self, queue, prefix="specific."):
        channel = f"{self.prefix}{prefix}{uuid.uuid4().hex}"
        self.channels[channel] = queue
        return channel

    async def group_send(self, group, message):
        """
        Publish on the group's shard without waiting for the shard's other
        publishes: channels-redis holds one lock per shard around each
        PUBLISH's round trip, so a process published one event at a time
        however many sockets sent at once (docs/benchmarks.md). Each publish
        takes a connection of the shard's pool instead. Events of one group
        were never ordered by that lock either: room sockets order messages
        by seq (chat.realtime.session).
        """
        channel = self._get_group_channel_name(group)
        shard = self._get_shard(channel)
        shard._ensure_redis()
        await shard._redis.publish(channel, self.channel_layer.serialize(message))

    async def send(self, channel, message):
        queue = self.channels.get(channel)
        if queue is None:
            return await super().send(channel, message)
        queue.put_nowait(self.channel_layer.serialize(message))


class ProcessLocalChannelsLayer(RedisPubSubChannelLayer):
    """
    ``RedisPubSubChannelLayer`` whose ``new_channel`` subscribes nothing on
    Redis. ``attach(queue)`` makes a channel of a queue the caller already
    reads (a socket's inbox: chat.sockets.base), ``detach`` forgets it; what
    the layer puts there is the serialized message (``deserialize`` it).
    """

    def attach(self, queue) -> str:
        return self._get_layer().attach(queue)

    def detach(self, channel: str) -> None:
        self._get_layer().channels.pop(channel, None)

    def _get_layer(self):
        loop = asyncio.get_running_loop()
        try:
            return self._layers[loop]
        except KeyError:
            layer = self._layers[loop] = _LoopLayer(*self._args, **self._kwargs, channel_layer=self)
            _wrap_close(self, loop)
            return layer
