"""Group commit on the event loop (core.runtime.batching)."""

import asyncio

import pytest

from core.runtime.batching import Batched


class Recorder:
    """A run_batch that records each batch and waits until released."""

    def __init__(self, fail_on=None):
        self.batches, self.release, self.fail_on = [], asyncio.Event(), fail_on

    async def __call__(self, requests):
        self.batches.append(list(requests))
        await self.release.wait()
        if self.fail_on in requests:
            raise RuntimeError("the round trip failed")
        return [request * 10 for request in requests]


async def settle():
    for _ in range(5):
        await asyncio.sleep(0)


async def test_calls_of_one_pass_go_together_and_later_ones_wait_for_the_next_batch():
    run = Recorder()
    batched = Batched(run, max_size=3, concurrency=1)
    first = [asyncio.ensure_future(batched(n)) for n in (1, 2, 3, 4)]
    await settle()
    assert run.batches == [[1, 2, 3]]  # max_size, one out at a time
    later = [asyncio.ensure_future(batched(n)) for n in (5, 6)]
    await settle()
    assert run.batches == [[1, 2, 3]]
    run.release.set()
    assert await asyncio.gather(*first, *later) == [10, 20, 30, 40, 50, 60]
    assert run.batches == [[1, 2, 3], [4, 5, 6]]


async def test_a_lone_call_goes_at_once_and_several_batches_may_be_out():
    run = Recorder()
    batched = Batched(run, max_size=2, concurrency=2)
    calls = [asyncio.ensure_future(batched(n)) for n in (1, 2, 3, 4, 5)]
    await settle()
    assert run.batches == [[1, 2], [3, 4]]
    run.release.set()
    assert await asyncio.gather(*calls) == [10, 20, 30, 40, 50]


async def test_a_failed_batch_fails_its_own_callers_only_and_a_cancelled_caller_is_left_out():
    run = Recorder(fail_on=2)
    batched = Batched(run, max_size=2, concurrency=1)
    calls = [asyncio.ensure_future(batched(n)) for n in (1, 2, 3, 4)]
    await settle()
    calls[2].cancel()  # waiting for the next batch: never sent
    run.release.set()
    results = await asyncio.gather(*calls, return_exceptions=True)
    assert [type(result) for result in results[:3]] == [RuntimeError, RuntimeError, asyncio.CancelledError]
    assert results[3] == 40
    assert run.batches == [[1, 2], [4]]


def test_sizes_must_be_positive():
    with pytest.raises(ValueError):
        Batched(Recorder(), max_size=0)


async def test_a_batch_answering_the_wrong_number_of_results_fails_every_caller():
    async def short(requests):
        return requests[:-1]

    batched = Batched(short, max_size=3)
    results = await asyncio.wait_for(asyncio.gather(*(batched(n) for n in (1, 2, 3)), return_exceptions=True), 5)
    assert [type(result) for result in results] == [RuntimeError] * 3
