"""The health canary: doctor's read-only checks (`bot.health.run_checks`) at start-up and every
HEALTH_CHECK_INTERVAL seconds. `Canary` owns the last known state of each check: the admins hear
once when one turns bad and once when it recovers, never again while it stays as it is.

Nothing here generates or spends credits: it only runs the checks `doctor` runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import httpx

from bot import texts
from bot.config import Settings
from bot.health import run_checks
from bot.health_result import DEFAULT_TIMEOUT, CheckResult

logger = logging.getLogger(__name__)
#: Telegram's limit for one message's text.
MESSAGE_LIMIT = 4096
#: Seconds until a failing check is run again (when the interval is longer).
RECHECK_FAILING = 60.0

CheckRun = Callable[[], Awaitable[list[CheckResult]]]
#: tells the admins a notice, rendered in each one's language
Tell = Callable[[Callable[[str], str]], Awaitable[None]]


@dataclass(frozen=True)
class Transitions:
    """What one tick found changed: checks that turned bad, checks that recovered."""

    down: list[CheckResult]
    recovered: list[CheckResult]

    def __bool__(self) -> bool:
        return bool(self.down or self.recovered)


class Canary:
    """Runs `check` and remembers, per check name, whether it last passed. A check not seen
    before counts as passing (so a first failure is news); a check a run leaves out (e.g. the
    models while the key is refused) keeps its last state."""

    def __init__(self, check: CheckRun, *, tell: Tell, interval: float,
                 on_close: Callable[[], Awaitable[None]] | None = None) -> None:
        self._check = check
        self._tell = tell
        self._interval = interval
        self._on_close = on_close
        self._ok: dict[str, bool] = {}
        self._task: asyncio.Task[None] | None = None

    async def tick(self) -> Transitions:
        """Run the checks once; the transitions since the previous tick."""
        down: list[CheckResult] = []
        recovered: list[CheckResult] = []
        for result in await self._check():
            before = self._ok.get(result.name, True)
            self._ok[result.name] = result.ok
            if before and not result.ok:
                down.append(result)
            elif not before and result.ok:
                recovered.append(result)
        return Transitions(down, recovered)

    def provider_healthy(self, provider: str) -> bool:
        """Whether every check of `provider` ("useapi: token", …) passed when last run; a
        provider not checked yet counts as healthy."""
        prefix = f"{provider}:"
        return all(ok for name, ok in self._ok.items() if name.startswith(prefix))

    async def report(self, lang: str) -> str:
        """`/health`: a fresh run as a table, ✓/✗ per check and the fix of each ✗. It does not
        change what the canary remembers (its own tick reports the news)."""
        return _fit(table(lang, await self._check()))

    # the loop

    def start(self) -> None:
        """The start-up check, then one tick every `interval` seconds; `0` turns it off."""
        if self._interval > 0 and self._task is None:
            self._task = asyncio.create_task(self._run(), name="health-canary")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._on_close is not None:
            await self._on_close()

    @property
    def next_wait(self) -> float:
        """Seconds until the next run: sooner while a check fails, so that a blip does not
        steer jobs to the fallback provider for a whole interval."""
        if all(self._ok.values()):
            return self._interval
        return min(self._interval, RECHECK_FAILING)

    async def _run(self) -> None:
        await self._step(startup=True)
        while True:
            await asyncio.sleep(self.next_wait)
            await self._step(startup=False)

    async def _step(self, *, startup: bool) -> None:
        try:
            found = await self.tick()
        except Exception:  # a broken check must not end the canary
            logger.exception("the health check itself failed")
            return
        for result in found.down:
            logger.warning("health check failed%s: %s: %s → %s",
                           " at start-up" if startup else "", result.name, result.detail,
                           result.fix)
        for result in found.recovered:
            logger.info("health check recovered: %s: %s", result.name, result.detail)
        if found:
            await self._tell(lambda lang: _fit(notice(lang, found, startup=startup)))


def for_settings(settings: Settings, *, tell: Tell,
                 interval: float | None = None, wait: float = DEFAULT_TIMEOUT) -> Canary:
    """The bot's canary: its own HTTP client (closed by `stop`), HEALTH_CHECK_INTERVAL."""
    http = httpx.AsyncClient(timeout=httpx.Timeout(wait))

    async def check() -> list[CheckResult]:
        return await run_checks(settings, http, wait=wait)

    every = settings.health_check_interval if interval is None else interval
    return Canary(check, tell=tell, interval=every, on_close=http.aclose)


# what admins read


def table(lang: str, results: Sequence[CheckResult]) -> str:
    failures = sum(not result.ok for result in results)
    summary = (texts.text(lang, "health_failures", failed=failures, total=len(results))
               if failures else texts.text(lang, "health_all_passed", total=len(results)))
    return "\n".join([texts.text(lang, "health_title"), *_lines(results), summary])


def notice(lang: str, found: Transitions, *, startup: bool) -> str:
    parts = []
    if found.down:
        title = "health_startup_failed" if startup else "health_down"
        parts.append("\n".join([texts.text(lang, title, count=len(found.down)),
                                *_lines(found.down)]))
    if found.recovered:
        parts.append("\n".join([texts.text(lang, "health_recovered",
                                           count=len(found.recovered)),
                                *_lines(found.recovered)]))
    return "\n\n".join(parts)


def _lines(results: Sequence[CheckResult]) -> list[str]:
    lines = []
    for result in results:
        lines.append(f"{'✓' if result.ok else '✗'} {result.name}: {result.detail}")
        if not result.ok and result.fix:
            lines.append(f"    → {result.fix}")
    return lines


def _fit(text: str) -> str:
    return text if len(text) <= MESSAGE_LIMIT else text[:MESSAGE_LIMIT - 1] + "…"
