"""`AccountWatch`: while jobs wait on a gateway account that lost its Google session, ask every
interval whether each account is healthy again, and hand its jobs back to the runner when it is.
It stops by itself once nothing waits, and starts again at the next disconnected job.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from bot.jobs.errors import UpstreamError
from bot.jobs.model import Job
from bot.jobs.provider import Provider

logger = logging.getLogger(__name__)


class AccountWatch:
    def __init__(self, *, waiting: Callable[[], Awaitable[list[Job]]],
                 provider_for: Callable[[Job], Provider],
                 resume: Callable[[list[Job]], Awaitable[None]], interval: float) -> None:
        self._waiting = waiting
        self._provider_for = provider_for
        self._resume = resume
        self._interval = interval  #: seconds between two looks; 0: never look
        self._task: asyncio.Task[None] | None = None

    def look(self) -> None:
        """Start looking, unless already looking (or turned off)."""
        if self._interval <= 0:
            return
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="accounts")

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                waiting = await self._waiting()
                if not waiting:
                    return
                for provider, jobs in _by_provider(waiting, self._provider_for):
                    if await _healthy(provider, jobs[0]):
                        await self._resume(jobs)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("looking at disconnected accounts failed; trying again later")


def _by_provider(jobs: list[Job], provider_for: Callable[[Job], Provider]
                 ) -> list[tuple[Provider, list[Job]]]:
    """The jobs grouped by the provider (one upstream account) they run on."""
    groups: dict[int, tuple[Provider, list[Job]]] = {}
    for job in jobs:
        provider = provider_for(job)
        groups.setdefault(id(provider), (provider, []))[1].append(job)
    return list(groups.values())


async def _healthy(provider: Provider, job: Job) -> bool:
    """Whether the account is usable again; an upstream that cannot say is tried again."""
    try:
        status = await provider.account_status()
    except UpstreamError as exc:
        logger.info("job %d: its account is still unusable (%s)", job.id, exc)
        return False
    healthy = status is None or status.healthy is not False
    if not healthy:
        logger.info("job %d: its account is still unhealthy (%s)", job.id,
                    status.health if status else "?")
    return healthy
