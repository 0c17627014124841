"""`BatchPoller`: ONE status call per account per tick, covering every rendering job of it.

Jobs `watch()` their render handle and await a future; one loop per account sends the handles of
all watchers in a single `Provider.check` call and resolves the futures of finished jobs.
Only a transient upstream error is retried (until the job's render timeout); any other error
settles the whole batch at once, so a bug (a status we cannot parse) fails jobs now, loudly.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from typing import Any

from bot.jobs.errors import TransientError, UpstreamError
from bot.jobs.provider import Provider, RenderState, RenderStatus
from bot.jobs.retry import RetryPolicy

logger = logging.getLogger(__name__)


@dataclass(eq=False)
class Watch:
    """One job's render being polled; `last_error` is the latest transient poll failure."""

    job_id: int
    render: list[dict[str, Any]]
    future: asyncio.Future[RenderStatus]
    last_error: UpstreamError | None = None


@dataclass(eq=False)
class _Account:
    provider: Provider
    watches: dict[int, Watch] = field(default_factory=dict)
    loop: asyncio.Task[None] | None = None
    failures: int = 0


class BatchPoller:
    """Polls in batches every `interval` seconds; backs off (jittered, Retry-After) on failures."""

    def __init__(self, *, interval: float, backoff: RetryPolicy) -> None:
        self._interval = interval
        self._backoff = backoff
        self._accounts: dict[str, _Account] = {}
        self.ticks = 0  #: batched calls attempted, for the benchmark and tests

    def watch(
        self, account: str, provider: Provider, job_id: int, render: list[dict[str, Any]]
    ) -> Watch:
        state = self._accounts.setdefault(account, _Account(provider))
        watch = Watch(job_id, render, asyncio.get_running_loop().create_future())
        state.watches[job_id] = watch
        if state.loop is None or state.loop.done():
            state.loop = asyncio.create_task(self._run(account, state), name=f"poll:{account}")
        return watch

    def unwatch(self, account: str, job_id: int) -> None:
        state = self._accounts.get(account)
        if state is not None:
            state.watches.pop(job_id, None)

    async def close(self) -> None:
        loops = [s.loop for s in self._accounts.values() if s.loop is not None]
        for loop in loops:
            loop.cancel()
        for loop in loops:
            with contextlib.suppress(asyncio.CancelledError):
                await loop
        self._accounts.clear()

    async def _run(self, account: str, state: _Account) -> None:
        delay = self._interval
        while state.watches:
            await asyncio.sleep(delay)
            batch = [w for w in state.watches.values() if not w.future.done()]
            if batch:
                delay = await self._tick(account, state, batch)

    async def _tick(self, account: str, state: _Account, batch: list[Watch]) -> float:
        """One batched call; returns the delay before the next tick."""
        self.ticks += 1
        entries = [entry for watch in batch for entry in watch.render]
        try:
            statuses = await state.provider.check(entries)
            if len(statuses) != len(entries):
                raise ValueError(f"{len(statuses)} statuses for {len(entries)} renders")
        except TransientError as exc:
            return self._back_off(account, state, batch, exc)
        except UpstreamError as exc:
            logger.warning("poll for account %s failed for jobs %s: %s", account, _ids(batch), exc)
            self._settle_all(state, batch, exc)
            return self._interval
        except Exception as exc:
            logger.exception("poll for account %s raised for jobs %s", account, _ids(batch))
            self._settle_all(state, batch, exc)
            return self._interval
        state.failures = 0
        self._dispatch(state, batch, statuses)
        return self._interval

    def _back_off(self, account: str, state: _Account, batch: list[Watch],
                  exc: TransientError) -> float:
        state.failures += 1
        for watch in batch:
            watch.last_error = exc
        delay = max(self._interval, self._backoff.delay(state.failures, exc))
        logger.info("poll for account %s failed (%s); next try in %.2fs", account, exc, delay)
        return delay

    def _dispatch(self, state: _Account, batch: list[Watch], statuses: list[RenderStatus]) -> None:
        index = 0
        for watch in batch:
            own = statuses[index:index + len(watch.render)]
            index += len(watch.render)
            watch.last_error = None
            combined = _combine(own)
            if combined.state in (RenderState.DONE, RenderState.FAILED):
                state.watches.pop(watch.job_id, None)
                if not watch.future.done():
                    watch.future.set_result(combined)

    def _settle_all(self, state: _Account, batch: list[Watch], exc: Exception) -> None:
        for watch in batch:
            state.watches.pop(watch.job_id, None)
            if not watch.future.done():
                watch.future.set_exception(exc)


def _ids(batch: list[Watch]) -> str:
    return ",".join(str(watch.job_id) for watch in batch)


def _combine(statuses: list[RenderStatus]) -> RenderStatus:
    """A job with several operations is done when one has a video, failed when all failed."""
    for status in statuses:
        if status.state is RenderState.DONE:
            return status
    if statuses and all(s.state is RenderState.FAILED for s in statuses):
        return statuses[0]
    active = any(s.state is RenderState.ACTIVE for s in statuses)
    return RenderStatus(RenderState.ACTIVE if active else RenderState.PENDING)
