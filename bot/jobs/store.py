"""The job-store protocol: what the engine needs from storage (`storage.jobs.JobStore` is it)."""

from __future__ import annotations

from typing import Any, Protocol

from bot.jobs.model import Job, NewJob


class JobStore(Protocol):
    """Jobs as records; every `update` is one committed write."""

    async def add(self, new: NewJob) -> Job:
        """Store a new job in state QUEUED, before any upstream call; if a job is stored for
        `new.update_id` already, return it instead."""

    async def get(self, job_id: int) -> Job:
        """The job with this id (it must exist)."""

    async def update(self, job: Job, **changes: Any) -> Job:
        """Commit `changes` to the job; return the updated record."""

    async def unfinished(self) -> list[Job]:
        """Every job not in a terminal state, oldest first."""

    async def owing(self) -> list[Job]:
        """Every job in a terminal state whose `word_owed` is set, oldest first."""
