import asyncio

import pytest

from tracker.http.deadlines import SWEEP_S, BodyDeadlines


async def read(deadlines: BodyDeadlines, timeout_s: float, arrives: asyncio.Event) -> str:
    """Shaped like the ingest body read: wait for the body, report our timeout as 'timed out'."""
    task = deadlines.start(timeout_s)
    try:
        await arrives.wait()
        return "read"
    except asyncio.CancelledError:
        if deadlines.expired(task):
            return "timed out"
        raise
    finally:
        deadlines.finish(task)


async def with_sweeper(coro):
    deadlines = BodyDeadlines()
    sweeper = asyncio.create_task(deadlines.sweep_forever())
    try:
        return await coro(deadlines)
    finally:
        sweeper.cancel()


def test_a_body_that_never_arrives_times_out_soon_after_its_deadline():
    async def scenario(deadlines):
        loop = asyncio.get_running_loop()
        started = loop.time()
        outcome = await read(deadlines, 0.2, asyncio.Event())
        return outcome, loop.time() - started

    outcome, waited = asyncio.run(with_sweeper(scenario))
    assert outcome == "timed out"
    assert 0.2 <= waited < 0.2 + SWEEP_S + 1.0


def test_a_body_that_arrives_in_time_is_read_and_its_task_is_never_cancelled_later():
    async def scenario(deadlines):
        arrives = asyncio.Event()
        asyncio.get_running_loop().call_later(0.05, arrives.set)
        outcome = await read(deadlines, 0.3, arrives)
        await asyncio.sleep(0.3 + 2 * SWEEP_S)  # past the deadline: a stale entry would cancel us here
        return outcome

    assert asyncio.run(with_sweeper(scenario)) == "read"


def test_a_cancellation_that_is_not_a_timeout_still_cancels():
    async def scenario(deadlines):
        reader = asyncio.create_task(read(deadlines, 60, asyncio.Event()))
        await asyncio.sleep(0.01)
        reader.cancel()  # e.g. the server shutting down
        with pytest.raises(asyncio.CancelledError):
            await reader

    asyncio.run(with_sweeper(scenario))
