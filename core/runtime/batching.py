"""
Group commit for the event loop: calls made while earlier ones are on their
way to the database or Redis go together in the next round trip.

A connect burst makes a hundred sockets ask the same statement (and the same
Redis script) at once; each round trip costs the client more CPU than the
row it brings back (docs/benchmarks.md, "Connects"). ``Batched`` runs the
first call at once (in the event loop's next pass, with whatever else that
pass asked), and while ``concurrency`` batches are out, gathers the calls
that follow into the next batch, up to ``max_size``: a single caller waits
no longer than before, a burst shares its round trips.

    openings = Batched(run_openings, max_size=50, concurrency=2)
    opening = await openings(request)     # run_openings(list of requests) -> list of results, in order

``run_batch`` gets the requests in the order they came and returns one
result each, in that order; if it raises, every caller of that batch gets
the exception. State is kept per event loop (tests run several).
"""

import asyncio
import weakref
from collections.abc import Awaitable, Callable, Sequence


class _LoopState:
    __slots__ = ("waiting", "out", "scheduled")

    def __init__(self):
        self.waiting: list[tuple[object, asyncio.Future]] = []
        self.out = 0  # batches on their way
        self.scheduled = False  # a start is due in the loop's next pass


class Batched:
    def __init__(
        self, run_batch: Callable[[list], Awaitable[Sequence]], *, max_size: int, concurrency: int = 1
    ):
        if max_size < 1 or concurrency < 1:
            raise ValueError("max_size and concurrency must be at least 1")
        self.run_batch, self.max_size, self.concurrency = run_batch, max_size, concurrency
        self._states: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopState]" = (
            weakref.WeakKeyDictionary()
        )
        self._tasks: set[asyncio.Task] = set()

    async def __call__(self, request):
        loop = asyncio.get_running_loop()
        state = self._states.get(loop)
        if state is None:
            state = self._states[loop] = _LoopState()
        result = loop.create_future()
        state.waiting.append((request, result))
        self._schedule(loop, state)
        return await result

    def _schedule(self, loop, state: _LoopState) -> None:
        if not state.scheduled and state.waiting and state.out < self.concurrency:
            state.scheduled = True
            loop.call_soon(self._start, loop, state)

    def _start(self, loop, state: _LoopState) -> None:
        state.scheduled = False
        while state.waiting and state.out < self.concurrency:
            batch = [(request, result) for request, result in state.waiting[: self.max_size] if not result.done()]
            del state.waiting[: self.max_size]
            if batch:
                state.out += 1
                task = loop.create_task(self._run(loop, state, batch))
                self._tasks.add(task)  # kept until done: an unreferenced task may be collected
                task.add_done_callback(self._tasks.discard)

    async def _run(self, loop, state: _LoopState, batch: list) -> None:
        try:
            results = await self.run_batch([request for request, _ in batch])
            if len(results) != len(batch):
                raise RuntimeError(f"{self.run_batch!r} answered {len(results)} of {len(batch)} requests")
        except BaseException as error:
            for _, result in batch:
                if not result.done():
                    if isinstance(error, asyncio.CancelledError):
                        result.cancel()
                    else:
                        result.set_exception(error)
            if not isinstance(error, Exception):
                raise
        else:
            for (_, result), value in zip(batch, results):
                if not result.done():
                    result.set_result(value)
        finally:
            state.out -= 1
            self._schedule(loop, state)
