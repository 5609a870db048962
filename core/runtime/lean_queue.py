"""
``LeanQueue``: the part of ``asyncio.Queue`` a socket's queues use, without
its cost per socket. ``asyncio.Queue`` makes three deques up front (about
1.8 KB) and keeps them for the queue's life; every socket keeps two queues
for its whole life (its inbox in the server, its channel in the channel
layer), empty nearly all the time. Here the items' deque exists only while
something waits in it.

    queue = LeanQueue()
    queue.put_nowait(item)
    item = await queue.get()     # one reader at a time
"""

import asyncio
from collections import deque


class LeanQueue:
    """An unbounded FIFO with one reader: ``get``, ``get_nowait``, ``put_nowait``, ``qsize``, ``empty``."""

    __slots__ = ("_items", "_waiter")

    def __init__(self):
        self._items: deque | None = None
        self._waiter: asyncio.Future | None = None

    def qsize(self) -> int:
        return len(self._items) if self._items else 0

    def empty(self) -> bool:
        return not self._items

    def put_nowait(self, item) -> None:
        if self._items is None:
            self._items = deque()
        self._items.append(item)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def get_nowait(self):
        if not self._items:
            raise asyncio.QueueEmpty
        item = self._items.popleft()
        if not self._items:
            self._items = None
        return item

    async def get(self):
        # Cancelled while waiting, nothing is taken: an item put meanwhile stays for the next get.
        while not self._items:
            if self._waiter is not None:
                raise RuntimeError("LeanQueue has one reader at a time")
            waiter = self._waiter = asyncio.get_running_loop().create_future()
            try:
                await waiter
            finally:
                self._waiter = None
        return self.get_nowait()
