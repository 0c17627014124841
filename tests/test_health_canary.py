"""The canary's rule, with a fake check function: a check that turns bad is news once, stays
quiet while it stays bad, and its recovery is news once; the loop starts, ticks and stops."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable

from bot.health_canary import MESSAGE_LIMIT, Canary, table
from bot.health_result import CheckResult, failed, passed
from tests.doubles import until


class FakeChecks:
    """Answers each run with the next scripted state: `{name: ok}`."""

    def __init__(self, *states: dict[str, bool]) -> None:
        self.states = list(states)
        self.runs = 0

    async def __call__(self) -> list[CheckResult]:
        state = self.states[min(self.runs, len(self.states) - 1)]
        self.runs += 1
        return [passed(name, "fine") if ok else failed(name, "broken", f"fix {name}")
                for name, ok in state.items()]


class Told:
    def __init__(self) -> None:
        self.messages: list[str] = []

    async def __call__(self, render: Callable[[str], str]) -> None:
        self.messages.append(render("en"))


def names(results: Iterable[CheckResult]) -> list[str]:
    return [result.name for result in results]


async def ticks(canary: Canary, count: int) -> list[tuple[list[str], list[str]]]:
    found = []
    for _ in range(count):
        changed = await canary.tick()
        found.append((names(changed.down), names(changed.recovered)))
    return found


async def test_a_check_that_turns_bad_is_news_once_and_its_recovery_once() -> None:
    checks = FakeChecks({"a": True, "b": True}, {"a": False, "b": True}, {"a": False, "b": True},
                        {"a": False, "b": True}, {"a": True, "b": True}, {"a": True, "b": True})
    canary = Canary(checks, tell=Told(), interval=0)
    assert await ticks(canary, 6) == [([], []), (["a"], []), ([], []), ([], []), ([], ["a"]),
                                      ([], [])]


async def test_failures_of_the_first_run_are_news() -> None:
    canary = Canary(FakeChecks({"a": False, "b": True, "c": False}), tell=Told(), interval=0)
    assert await ticks(canary, 2) == [(["a", "c"], []), ([], [])]


async def test_flapping_reports_each_change_once_never_twice_in_a_row() -> None:
    states = [{"a": n % 2 == 1} for n in range(6)]  # bad, good, bad, good, bad, good
    canary = Canary(FakeChecks(*states), tell=Told(), interval=0)
    assert await ticks(canary, 6) == [(["a"], []), ([], ["a"])] * 3


async def test_a_check_left_out_keeps_its_state() -> None:
    """While the key is refused the models are not checked: no news of them until they are."""
    checks = FakeChecks({"key": True, "model": False}, {"key": False},
                        {"key": True, "model": False}, {"key": True, "model": True})
    canary = Canary(checks, tell=Told(), interval=0)
    assert await ticks(canary, 4) == [(["model"], []), (["key"], []), ([], ["key"]),
                                      ([], ["model"])]


async def test_the_loop_tells_the_start_up_failures_then_only_the_changes() -> None:
    told = Told()
    checks = FakeChecks({"a": False, "b": True}, {"a": False, "b": True}, {"a": True, "b": True},
                        {"a": True, "b": False}, {"a": True, "b": False})
    canary = Canary(checks, tell=told, interval=0.01)
    canary.start()
    await until(lambda: checks.runs >= 8, what="eight runs")
    await canary.stop()
    assert len(told.messages) == 3
    assert "At start-up, 1 health check(s) failed" in told.messages[0]
    assert "✗ a: broken\n    → fix a" in told.messages[0]
    assert "recovered" in told.messages[1] and "✓ a: fine" in told.messages[1]
    assert "just failed" in told.messages[2] and "✗ b: broken" in told.messages[2]


async def test_an_interval_of_zero_runs_nothing() -> None:
    checks = FakeChecks({"a": False})
    canary = Canary(checks, tell=Told(), interval=0)
    canary.start()
    await asyncio.sleep(0.05)
    await canary.stop()
    assert checks.runs == 0


async def test_a_check_that_raises_does_not_end_the_loop() -> None:
    runs = 0

    async def flaky() -> list[CheckResult]:
        nonlocal runs
        runs += 1
        if runs == 1:
            raise RuntimeError("boom")
        return [failed("a", "broken", "fix a")]

    told = Told()
    canary = Canary(flaky, tell=told, interval=0.01)
    canary.start()
    await until(lambda: runs >= 4, what="four runs")
    await canary.stop()
    assert len(told.messages) == 1


async def test_the_report_is_a_fresh_table_and_leaves_the_state_alone() -> None:
    checks = FakeChecks({"a": False, "b": True})
    canary = Canary(checks, tell=Told(), interval=0)
    report = await canary.report("en")
    assert report.splitlines() == ["🩺 Health checks (the same as python -m bot doctor):",
                                   "✗ a: broken", "    → fix a", "✓ b: fine",
                                   "1 of 2 checks failed."]
    assert "Kiểm tra sức khoẻ" in await canary.report("vi")
    assert names((await canary.tick()).down) == ["a"]  # still news to the canary


async def test_a_long_notice_and_a_long_table_fit_one_message() -> None:
    many = {f"check {n:02d} " + "x" * 150: False for n in range(40)}
    told = Told()
    canary = Canary(FakeChecks(many), tell=told, interval=0.01)
    canary.start()
    await until(lambda: bool(told.messages), what="the start-up notice")
    await canary.stop()
    assert len(told.messages[0]) == MESSAGE_LIMIT and told.messages[0].endswith("…")
    assert len(await canary.report("en")) == MESSAGE_LIMIT
    assert len(table("en", await FakeChecks(many)())) > MESSAGE_LIMIT


async def test_a_provider_is_healthy_while_every_check_of_it_passed_last() -> None:
    checks = FakeChecks({"flow: proxy": True, "flow: Google token": False, "gemini: API key": True},
                        {"flow: proxy": True, "flow: Google token": True, "gemini: API key": True})
    canary = Canary(checks, tell=Told(), interval=0)
    assert canary.provider_healthy("flow") and canary.provider_healthy("useapi")  # not run yet
    await canary.tick()
    assert not canary.provider_healthy("flow")
    assert canary.provider_healthy("gemini") and canary.provider_healthy("useapi")
    await canary.tick()
    assert canary.provider_healthy("flow")


async def test_a_failing_check_is_run_again_sooner_than_the_interval() -> None:
    canary = Canary(FakeChecks({"a": True}, {"a": False}, {"a": True}), tell=Told(),
                    interval=600)
    waits = []
    for _ in range(3):
        await canary.tick()
        waits.append(canary.next_wait)
    assert waits == [600, 60, 600]
