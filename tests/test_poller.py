"""`BatchPoller`: one status call per account per tick; transient errors back off, anything else
settles the whole batch at once."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.jobs.errors import (
    AuthExpired,
    RateLimited,
    TransientError,
    UpstreamUnavailable,
)
from bot.jobs.poller import BatchPoller, Watch
from bot.jobs.provider import RenderState, RenderStatus
from bot.jobs.retry import RetryPolicy
from tests.doubles import FakeProvider, until

TICK = 0.01


@pytest.fixture
async def poller() -> AsyncIterator[BatchPoller]:
    batch = BatchPoller(interval=TICK, backoff=RetryPolicy(base_delay=0.01, max_delay=0.02))
    yield batch
    await batch.close()


def render(n: int) -> list[dict[str, Any]]:
    return [{"op": f"op-{n}"}]


def watch_all(poller: BatchPoller, provider: FakeProvider, account: str,
              ids: range) -> list[Watch]:
    return [poller.watch(account, provider, n, render(n)) for n in ids]


async def results(watches: list[Watch]) -> list[RenderStatus | BaseException]:
    return await asyncio.wait_for(
        asyncio.gather(*(w.future for w in watches), return_exceptions=True), 2)


async def test_one_check_per_tick_covers_every_watch(poller: BatchPoller) -> None:
    provider = FakeProvider(checks_to_finish=2)
    watches = watch_all(poller, provider, "a", range(1, 6))
    done = await results(watches)
    assert provider.check_batches == [[f"op-{n}" for n in range(1, 6)]] * 2
    assert poller.ticks == 2
    assert all(isinstance(s, RenderStatus) and s.url == f"https://fake/op-{n}.mp4"
               for n, s in zip(range(1, 6), done, strict=True))


async def test_a_render_of_several_operations_is_done_when_one_is(poller: BatchPoller) -> None:
    provider = FakeProvider()
    watch = poller.watch("a", provider, 1, [{"op": "op-1"}, {"op": "op-2"}])
    status = await asyncio.wait_for(watch.future, 2)
    assert status.state is RenderState.DONE and provider.check_batches == [["op-1", "op-2"]]


async def test_each_account_has_its_own_batch(poller: BatchPoller) -> None:
    first, second = FakeProvider(), FakeProvider()
    watches = watch_all(poller, first, "flow:a", range(1, 3))
    watches += watch_all(poller, second, "flow:b", range(3, 5))
    await results(watches)
    assert first.check_batches == [["op-1", "op-2"]]
    assert second.check_batches == [["op-3", "op-4"]]


async def test_a_transient_failure_backs_off_then_succeeds(poller: BatchPoller) -> None:
    provider = FakeProvider()
    provider.fail_next("check", UpstreamUnavailable("503 from upstream", status=503))
    watch = poller.watch("a", provider, 1, render(1))
    await until(lambda: provider.calls["check"] == 1, what="the failed check")
    assert isinstance(watch.last_error, TransientError)
    status = await asyncio.wait_for(watch.future, 2)
    assert status.state is RenderState.DONE
    assert watch.last_error is None and provider.calls["check"] == 2


async def test_retry_after_is_honoured(poller: BatchPoller) -> None:
    provider = FakeProvider()
    provider.fail_next("check", RateLimited("slow down", retry_after=0.15))
    await asyncio.wait_for(poller.watch("a", provider, 1, render(1)).future, 2)
    first, second = provider.check_times
    assert second - first >= 0.14


async def test_a_permanent_failure_settles_the_batch_only(poller: BatchPoller) -> None:
    broken, healthy = FakeProvider(), FakeProvider(checks_to_finish=2)
    broken.fail_next("check", AuthExpired("401", credential="fp-1"))
    failing = watch_all(poller, broken, "a", range(1, 4))
    fine = poller.watch("b", healthy, 9, render(9))
    outcomes = await results(failing)
    assert all(isinstance(o, AuthExpired) for o in outcomes)
    assert broken.calls["check"] == 1
    assert (await asyncio.wait_for(fine.future, 2)).state is RenderState.DONE


async def test_a_bug_settles_the_batch_at_once_with_its_traceback(
        poller: BatchPoller, caplog: pytest.LogCaptureFixture) -> None:
    provider = FakeProvider()
    provider.fail_next("check", KeyError("operations"))
    with caplog.at_level(logging.ERROR, logger="bot.jobs.poller"):
        outcomes = await results(watch_all(poller, provider, "a", range(1, 4)))
    assert all(isinstance(o, KeyError) for o in outcomes)
    assert provider.calls["check"] == 1
    [record] = caplog.records
    assert record.exc_info is not None and "1,2,3" in record.getMessage()
    # the loop is not broken: a later render is polled as usual
    later = poller.watch("a", provider, 4, render(4))
    assert (await asyncio.wait_for(later.future, 2)).state is RenderState.DONE


async def test_a_short_answer_is_a_bug_not_a_pending_render(poller: BatchPoller) -> None:
    provider = FakeProvider()

    async def short(renders: Any) -> list[RenderStatus]:
        return [RenderStatus(RenderState.ACTIVE)]

    provider.check = short  # type: ignore[method-assign]
    outcomes = await results(watch_all(poller, provider, "a", range(1, 3)))
    assert all(isinstance(o, ValueError) for o in outcomes)


async def test_unwatched_jobs_are_not_polled_and_the_loop_ends(poller: BatchPoller) -> None:
    provider = FakeProvider(hold_renders=True)
    watch_all(poller, provider, "a", range(1, 3))
    await until(lambda: provider.calls["check"] >= 1, what="a first check")
    poller.unwatch("a", 1)
    await until(lambda: provider.check_batches[-1] == ["op-2"], what="a check without job 1")
    poller.unwatch("a", 2)
    calls = provider.calls["check"]
    await asyncio.sleep(5 * TICK)
    assert provider.calls["check"] == calls


async def test_close_stops_every_loop() -> None:
    poller = BatchPoller(interval=TICK, backoff=RetryPolicy())
    provider = FakeProvider(hold_renders=True)
    watch = poller.watch("a", provider, 1, render(1))
    await until(lambda: provider.calls["check"] >= 1, what="a first check")
    await poller.close()
    calls = provider.calls["check"]
    await asyncio.sleep(3 * TICK)
    assert provider.calls["check"] == calls and not watch.future.done()
