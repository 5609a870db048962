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

    CHANNEL_LAYERS = {"default": {"BACKEND": "core.runtime.channel_layer.ProcessLocalChannelsLayer", ...}}
"""

import asyncio
import uuid

from channels_redis.pubsub import RedisPubSubChannelLayer, RedisPubSubLoopLayer
from channels_redis.utils import _wrap_close

from core.runtime.lean_queue import LeanQueue


class _LoopLayer(RedisPubSubLoopLayer):
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
