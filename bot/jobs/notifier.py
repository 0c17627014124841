"""The `Notifier` protocol: how the engine reports to a front (a chat, a terminal) without
knowing what the front is. The engine never formats a message; the front renders these events.

Progress is cosmetic. A job's end is not: `deliver`, `deliver_link`, `failed` and
`waiting_for_token` return only once the owner has the word (the runner then stops owing it), raise
`DeliveryFailed` when the owner can never get it, and raise anything else to have it asked again at
the next start."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from bot.jobs.errors import ErrorCode
from bot.jobs.model import Job, Phase


class DeliveryFailed(Exception):
    """Raised by a notifier when the result cannot be handed over (e.g. the chat is gone)."""

    code = ErrorCode.DELIVERY_FAILED


class Notifier(Protocol):
    async def progress(self, job: Job, phase: Phase) -> None:
        """The job moved on (or, while rendering, time passed). Must be cheap: throttle inside."""

    async def deliver(self, job: Job, path: Path) -> None:
        """Hand the finished image or video over; raise DeliveryFailed if that is impossible.
        `job.delivery_attempts` above 1: an earlier attempt may have reached the owner."""

    async def deliver_link(self, job: Job, url: str) -> None:
        """The result is too large to upload: hand over its link instead."""

    async def failed(self, job: Job) -> None:
        """The job ended in FAILED; `job.error_code` and `job.error_detail` say why."""

    async def waiting_for_token(self, job: Job) -> None:
        """The job is paused (state WAITING_FOR_TOKEN) on an expired token, or on a
        disconnected account (`job.error_code` says which)."""

    async def failed_over(self, job: Job, reason: ErrorCode) -> None:
        """`job.first_provider` refused the job (for `reason`) before any charge; it now runs on
        `job.provider`. Cosmetic, like progress: one line on the progress message."""

    async def account_back(self, job: Job) -> None:
        """The account `job` waited on is healthy again and its jobs resume: a later outage
        is news again."""
