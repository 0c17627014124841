"""A shutdown while a submission is in flight waits for its answer and saves the task id."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bot.jobs.errors import AuthExpired
from bot.jobs.model import Job, JobKind, JobState, NewJob, Phase
from bot.jobs.poller import BatchPoller
from bot.jobs.provider import Accepted, AccountStatus, GenerationRequest, RenderStatus
from bot.jobs.retry import RetryPolicy
from bot.jobs.runner import JobRunner, RunnerConfig
from storage.db import connect
from storage.jobs import JobStore


class SlowProvider:
    """Submits only when the test says so; nothing else is called in this test."""

    name = "slow"
    supported_options: frozenset[str] = frozenset()
    image_options: frozenset[str] = frozenset()
    shareable_links = True

    def __init__(self) -> None:
        self.started = asyncio.Event()
        self.answer = asyncio.Event()

    async def submit(self, request: GenerationRequest) -> str:
        self.started.set()
        await self.answer.wait()
        return "task-42"

    async def upload_image(self, data: bytes, *, mime: str) -> str:
        raise NotImplementedError

    async def accepted(self, task_id: str, kind: JobKind) -> Accepted | None:
        await asyncio.sleep(3600)
        return None

    async def check(self, renders: Sequence[dict[str, Any]]) -> list[RenderStatus]:
        raise NotImplementedError

    async def download(self, url: str, dest: Path, *, max_bytes: int) -> int:
        raise NotImplementedError

    async def renew_auth(self, failed: AuthExpired) -> bool:
        return False

    async def account_status(self) -> AccountStatus | None:
        return None


class QuietNotifier:
    async def progress(self, job: Job, phase: Phase) -> None:
        return None

    async def deliver(self, job: Job, path: Path) -> None:
        return None

    async def deliver_link(self, job: Job, url: str) -> None:
        return None

    async def failed(self, job: Job) -> None:
        return None

    async def waiting_for_token(self, job: Job) -> None:
        return None


async def test_stop_waits_for_the_submission_in_flight(tmp_path: Path) -> None:
    db = await connect(tmp_path / "jobs.sqlite3")
    store = JobStore(db)
    provider = SlowProvider()
    runner = JobRunner(store=store, provider_for=lambda job: provider,
                       poller=BatchPoller(interval=0.05, backoff=RetryPolicy()),
                       notifier=QuietNotifier(), config=RunnerConfig(files_dir=tmp_path))
    job = await runner.submit(NewJob(1, 1, JobKind.VIDEO, "a dog"))
    await asyncio.wait_for(provider.started.wait(), 5)
    stopping = asyncio.create_task(runner.stop(grace=5))
    await asyncio.sleep(0.05)
    assert not stopping.done()  # it waits for the answer
    provider.answer.set()
    await asyncio.wait_for(stopping, 5)
    saved = await store.get(job.id)
    assert saved.state is JobState.SUBMITTED and saved.task_id == "task-42"
    await db.close()
