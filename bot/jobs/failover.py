"""Failover: when a job may move to the fallback provider, and what moves with it.

A job moves once, and only before anything could have been charged: its own provider refused it
(sign-in, captcha, model, access or credits), could not be reached at all, or the health canary
finds it failing its checks when the job is about to be sent. A saved task id, an unclear
failure, or a job made from an earlier result of its provider (an extend, an upscale: that
result exists only there) keeps it where it is.

Pictures move as bytes: a user's photo and a picture a provider made are both kept as files
(`source_path`); their handles mean something only to the provider that gave them, so they are
dropped and the files uploaded again to the fallback.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.jobs.errors import (
    AccessDenied,
    AuthExpired,
    CaptchaExhausted,
    CaptchaRejected,
    ModelRetired,
    QuotaExhausted,
    UpstreamError,
    UpstreamUnavailable,
)
from bot.jobs.model import COMMON_ASPECTS, ExtraImage, Job, JobState, ProviderName

#: Whether the health canary last found a provider passing its checks (no canary: always).
Healthy = Callable[[ProviderName], bool]

#: refusals that come before anything could have been charged (besides an upstream not reached)
REFUSALS = (AuthExpired, CaptchaRejected, CaptchaExhausted, ModelRetired, AccessDenied,
            QuotaExhausted)


def always_healthy(_: ProviderName) -> bool:
    return True


@dataclass(frozen=True)
class Failover:
    """The fallback provider (None: failover is off) and the canary's word on health."""

    fallback: ProviderName | None = None
    healthy: Healthy = always_healthy

    def may_move(self, job: Job, exc: UpstreamError) -> bool:
        """Whether `exc` moves the job: a refusal before any possible charge."""
        if isinstance(exc, UpstreamUnavailable):
            if exc.maybe_processed:
                return False
        elif not isinstance(exc, REFUSALS):
            return False
        return self._movable(job)

    def should_move_unsent(self, job: Job) -> bool:
        """Whether a job about to be sent should go to the fallback at once: the canary finds
        its provider failing and the fallback passing."""
        if not self._movable(job) or job.state is not JobState.QUEUED:
            return False
        assert self.fallback is not None
        return not self.healthy(job.provider) and self.healthy(self.fallback)

    def _movable(self, job: Job) -> bool:
        fallback = self.fallback
        if fallback is None or job.provider == fallback or job.first_provider is not None:
            return False
        if job.state not in (JobState.QUEUED, JobState.SUBMITTING) or job.task_id is not None:
            return False
        if job.kind.from_result or job.aspect not in COMMON_ASPECTS:
            return False  # a result, or an aspect, the fallback may not have
        # A picture only the first provider holds (no file of it, or its file swept) cannot go.
        if job.reference_media_id and not _kept(job.source_path):
            return False
        return all(_kept(extra.source_path) or not extra.media_id for extra in job.extra_images)

    def changes(self, job: Job) -> dict[str, Any]:
        """The one write that moves the job: back to QUEUED on the fallback, its pictures as
        files to upload again, its model the fallback's own."""
        assert self.fallback is not None
        extras = tuple(ExtraImage(None, extra.source_path) if extra.source_path else extra
                       for extra in job.extra_images)
        return {"state": JobState.QUEUED, "provider": self.fallback,
                "first_provider": job.provider,
                "reference_media_id": None if job.source_path else job.reference_media_id,
                "extra_images": extras, "model": None, "error_code": None,
                "error_detail": None}


def _kept(path: str | None) -> bool:
    return path is not None and Path(path).is_file()
