"""One retry rule for every upstream call: bounded attempts and time, jitter, Retry-After."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

from bot.jobs.errors import TransientError, UpstreamError, UpstreamUnavailable, is_retryable

logger = logging.getLogger(__name__)
T = TypeVar("T")


def backoff_ceiling(attempt: int, *, base: float, cap: float) -> float:
    """The exponential ceiling a full-jitter delay is drawn under (attempt 1 → `base`)."""
    return min(cap, base * 2.0 ** (attempt - 1))


@dataclass(frozen=True)
class RetryPolicy:
    """`attempts` and `max_seconds` both bound the tries; `sleep` is injectable for tests."""

    attempts: int = 5
    max_seconds: float = 60.0
    base_delay: float = 1.0
    max_delay: float = 20.0
    sleep: Callable[[float], Awaitable[None]] = field(default=asyncio.sleep, compare=False)

    def delay(self, attempt: int, exc: UpstreamError) -> float:
        """Full jitter on an exponential ceiling; never shorter than the server's Retry-After."""
        ceiling = backoff_ceiling(attempt, base=self.base_delay, cap=self.max_delay)
        delay = random.uniform(0, ceiling)
        if isinstance(exc, TransientError) and exc.retry_after is not None:
            delay = max(delay, exc.retry_after)
        return delay


async def with_retries(
    call: Callable[[], Awaitable[T]], *, policy: RetryPolicy, what: str, idempotent: bool = True
) -> T:
    """Run `call` until it succeeds, raises a permanent error, or the policy is spent.

    A non-idempotent call (a submission that costs credits) is not retried after an error that
    means the request may already have been processed (a read timeout): better one clear failure
    than two charges.
    """
    started = time.monotonic()
    attempt = 0
    while True:
        attempt += 1
        try:
            return await call()
        except UpstreamError as exc:
            if not _should_retry(exc, idempotent=idempotent):
                raise
            delay = policy.delay(attempt, exc)
            spent = time.monotonic() - started
            if attempt >= policy.attempts or spent + delay > policy.max_seconds:
                logger.warning("%s: giving up after %d attempts: %s", what, attempt, exc)
                raise
            logger.info("%s: attempt %d failed (%s); retrying in %.2fs", what, attempt, exc, delay)
            await policy.sleep(delay)


def _should_retry(exc: UpstreamError, *, idempotent: bool) -> bool:
    if not is_retryable(exc):
        return False
    return idempotent or not (isinstance(exc, UpstreamUnavailable) and exc.maybe_processed)
