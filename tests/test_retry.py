"""The retry rule: bounded attempts and time, full jitter, Retry-After, no double charge."""

from __future__ import annotations

import types
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from bot.jobs import retry
from bot.jobs.errors import (
    AuthExpired,
    CaptchaRejected,
    RateLimited,
    SafetyBlocked,
    UpstreamError,
    UpstreamUnavailable,
)
from bot.jobs.retry import RetryPolicy, with_retries


class Clock:
    """A monotonic clock that only moves when the fake sleep (or a call) moves it."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.delays: list[float] = []

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.delays.append(seconds)
        self.now += seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(retry, "time", types.SimpleNamespace(monotonic=fake.monotonic))
    return fake


def failing(*errors: BaseException, result: Any = "ok") -> tuple[Callable[[], Awaitable[Any]],
                                                                   list[int]]:
    """A call that raises `errors` in turn, then returns `result`; counts its calls."""
    calls: list[int] = []

    async def call() -> Any:
        calls.append(1)
        if len(calls) <= len(errors):
            raise errors[len(calls) - 1]
        return result

    return call, calls


def always(error_factory: Callable[[], UpstreamError]) -> tuple[Callable[[], Awaitable[Any]],
                                                                 list[UpstreamError]]:
    raised: list[UpstreamError] = []

    async def call() -> Any:
        raised.append(error_factory())
        raise raised[-1]

    return call, raised


def policy(clock: Clock, **kwargs: Any) -> RetryPolicy:
    values: dict[str, Any] = {"attempts": 5, "max_seconds": 1000.0, "base_delay": 1.0,
                              "max_delay": 20.0}
    values.update(kwargs)
    return RetryPolicy(sleep=clock.sleep, **values)


async def test_success_at_first_try_does_not_sleep(clock: Clock) -> None:
    call, calls = failing()
    assert await with_retries(call, policy=policy(clock), what="t") == "ok"
    assert len(calls) == 1 and clock.delays == []


async def test_transient_errors_are_retried_until_success(clock: Clock) -> None:
    call, calls = failing(UpstreamUnavailable("a"), RateLimited("b"), CaptchaRejected("c"),
                          result=42)
    assert await with_retries(call, policy=policy(clock), what="t") == 42
    assert len(calls) == 4 and len(clock.delays) == 3


async def test_permanent_error_is_raised_at_once(clock: Clock) -> None:
    error = SafetyBlocked("unsafe")
    call, calls = failing(error)
    with pytest.raises(SafetyBlocked) as caught:
        await with_retries(call, policy=policy(clock), what="t")
    assert caught.value is error
    assert len(calls) == 1 and clock.delays == []


async def test_auth_expired_is_not_retried(clock: Clock) -> None:
    call, calls = failing(AuthExpired("401"))
    with pytest.raises(AuthExpired):
        await with_retries(call, policy=policy(clock), what="t")
    assert len(calls) == 1


async def test_a_non_upstream_exception_propagates_untouched(clock: Clock) -> None:
    call, calls = failing(KeyError("bug"))
    with pytest.raises(KeyError):
        await with_retries(call, policy=policy(clock), what="t")
    assert len(calls) == 1 and clock.delays == []


@pytest.mark.parametrize("attempts", [1, 2, 5])
async def test_attempts_bound_the_calls(clock: Clock, attempts: int) -> None:
    call, raised = always(lambda: UpstreamUnavailable("down"))
    with pytest.raises(UpstreamUnavailable) as caught:
        await with_retries(call, policy=policy(clock, attempts=attempts), what="t")
    assert len(raised) == attempts
    assert len(clock.delays) == attempts - 1
    assert caught.value is raised[-1]


async def test_delays_stay_under_the_exponential_ceiling(clock: Clock) -> None:
    rule = policy(clock, attempts=8, base_delay=0.5, max_delay=3.0)
    for _ in range(30):
        call, _raised = always(lambda: UpstreamUnavailable("down"))
        with pytest.raises(UpstreamUnavailable):
            await with_retries(call, policy=rule, what="t")
    ceilings = [min(3.0, 0.5 * 2 ** n) for n in range(7)] * 30
    assert len(clock.delays) == len(ceilings)
    for delay, ceiling in zip(clock.delays, ceilings, strict=True):
        assert 0.0 <= delay <= ceiling


def test_delay_is_jittered_over_the_whole_range() -> None:
    rule = RetryPolicy(base_delay=1.0, max_delay=8.0)
    samples = [rule.delay(4, UpstreamUnavailable("x")) for _ in range(500)]
    assert all(0.0 <= s <= 8.0 for s in samples)
    assert min(samples) < 2.0 and max(samples) > 6.0
    assert len(set(samples)) > 400


def test_delay_ceiling_is_capped_by_max_delay() -> None:
    rule = RetryPolicy(base_delay=1.0, max_delay=2.0)
    assert max(rule.delay(30, UpstreamUnavailable("x")) for _ in range(200)) <= 2.0


async def test_retry_after_is_a_minimum(clock: Clock) -> None:
    call, _calls = failing(*(RateLimited("slow down", retry_after=7.0) for _ in range(3)))
    await with_retries(call, policy=policy(clock, base_delay=0.01), what="t")
    assert clock.delays == [7.0, 7.0, 7.0]


async def test_retry_after_is_honoured_above_max_delay(clock: Clock) -> None:
    call, _calls = failing(RateLimited("slow down", retry_after=45.0))
    await with_retries(call, policy=policy(clock, max_delay=2.0), what="t")
    assert clock.delays == [45.0]


def test_retry_after_does_not_shorten_a_longer_jitter() -> None:
    rule = RetryPolicy(base_delay=100.0, max_delay=100.0)
    samples = [rule.delay(1, RateLimited("x", retry_after=1.0)) for _ in range(200)]
    assert all(1.0 <= s <= 100.0 for s in samples)
    assert max(samples) > 50.0


async def test_max_seconds_bounds_the_total_wait(clock: Clock) -> None:
    call, raised = always(lambda: RateLimited("slow down", retry_after=3.0))
    with pytest.raises(RateLimited):
        await with_retries(call, policy=policy(clock, attempts=100, max_seconds=10.0,
                                                base_delay=0.001), what="t")
    assert clock.delays == [3.0, 3.0, 3.0]  # a fourth wait would end at 12s > 10s
    assert len(raised) == 4


async def test_max_seconds_counts_the_time_spent_in_calls(clock: Clock) -> None:
    calls: list[int] = []

    async def slow_call() -> None:
        calls.append(1)
        clock.now += 4.5
        raise RateLimited("slow down", retry_after=1.0)

    with pytest.raises(RateLimited):
        await with_retries(slow_call, policy=policy(clock, attempts=100, max_seconds=10.0,
                                                     base_delay=0.001), what="t")
    assert clock.delays == [1.0]  # 4.5s + 1s + 4.5s = 10s; another wait would pass 10s
    assert len(calls) == 2


async def test_a_wait_longer_than_max_seconds_gives_up_without_sleeping(clock: Clock) -> None:
    call, calls = failing(RateLimited("come back tomorrow", retry_after=3600.0))
    with pytest.raises(RateLimited):
        await with_retries(call, policy=policy(clock, max_seconds=60.0), what="t")
    assert len(calls) == 1 and clock.delays == []


async def test_non_idempotent_call_is_not_retried_after_a_maybe_processed_error(
        clock: Clock) -> None:
    call, calls = failing(UpstreamUnavailable("read timeout", maybe_processed=True))
    with pytest.raises(UpstreamUnavailable):
        await with_retries(call, policy=policy(clock), what="submit", idempotent=False)
    assert len(calls) == 1 and clock.delays == []


async def test_idempotent_call_is_retried_after_a_maybe_processed_error(clock: Clock) -> None:
    call, calls = failing(UpstreamUnavailable("read timeout", maybe_processed=True))
    assert await with_retries(call, policy=policy(clock), what="poll") == "ok"
    assert len(calls) == 2


@pytest.mark.parametrize("error", [
    UpstreamUnavailable("connect refused", maybe_processed=False),
    RateLimited("429", retry_after=None),
    CaptchaRejected("captcha refused"),
])
async def test_non_idempotent_call_is_retried_when_the_request_surely_was_not_taken(
        clock: Clock, error: UpstreamError) -> None:
    call, calls = failing(error)
    assert await with_retries(call, policy=policy(clock), what="submit", idempotent=False) == "ok"
    assert len(calls) == 2


async def test_giving_up_is_logged_as_a_warning(clock: Clock,
                                                caplog: pytest.LogCaptureFixture) -> None:
    call, _raised = always(lambda: UpstreamUnavailable("down"))
    with caplog.at_level("INFO", logger="bot.jobs.retry"), pytest.raises(UpstreamUnavailable):
        await with_retries(call, policy=policy(clock, attempts=2), what="poll xyz")
    warnings = [r for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1
    assert "poll xyz: giving up after 2 attempts" in warnings[0].getMessage()


def test_default_policy_is_bounded() -> None:
    rule = RetryPolicy()
    assert rule.attempts >= 1 and rule.max_seconds > 0
    assert 0 < rule.base_delay <= rule.max_delay
