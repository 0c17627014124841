"""What one check of `doctor` found (`CheckResult`), and how a failed upstream call reads as a
check: what happened, naming the address, and the one thing to do.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import asdict, dataclass
from typing import TypeVar

from pydantic import SecretStr

from bot.config import is_placeholder
from bot.jobs.errors import (
    AccessDenied,
    AccountDisconnected,
    AuthExpired,
    BadResponse,
    QuotaExhausted,
    RateLimited,
    UpstreamError,
    UpstreamUnavailable,
)
from bot.redact import redact

T = TypeVar("T")
#: Seconds one check may wait for an answer (`doctor --timeout`).
DEFAULT_TIMEOUT = 10.0


@dataclass(frozen=True)
class CheckResult:
    """One check: `detail` says what was found; `fix` is the one thing to do when not `ok`."""

    name: str
    ok: bool
    detail: str
    fix: str = ""

    def redacted(self) -> CheckResult:
        """The same with every secret masked (`bot.redact`), as every caller gets it."""
        return CheckResult(redact(self.name), self.ok, redact(self.detail), redact(self.fix))

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def passed(name: str, detail: str) -> CheckResult:
    return CheckResult(name, True, detail)


def failed(name: str, detail: str, fix: str) -> CheckResult:
    return CheckResult(name, False, detail, fix)


class NoAnswer(UpstreamUnavailable):
    """A check's call got no answer in time; the sentence names the address."""

    def __init__(self, url: str, seconds: float) -> None:
        super().__init__(f"no answer from {url} within {seconds:g} s")


async def within(call: Awaitable[T], *, url: str, seconds: float) -> T:
    """`call`, or `NoAnswer` naming `url` after `seconds`: a dead host never hangs doctor."""
    try:
        async with asyncio.timeout(seconds):
            return await call
    except TimeoutError:
        raise NoAnswer(url, seconds) from None


def given(value: SecretStr | str | None) -> bool:
    """Set, and not the `.env.example` placeholder."""
    plain = value.get_secret_value() if isinstance(value, SecretStr) else value
    return bool(plain and plain.strip() and not is_placeholder(plain))


def from_error(name: str, exc: UpstreamError, *, url: str, variable: str,
               refused: str) -> CheckResult:
    """A failed call as a check. `variable` names the address setting (e.g. USEAPI_URL);
    `refused` is the fix when the credential was refused."""
    said = str(exc)
    if isinstance(exc, AuthExpired) or (exc.status in (401, 403)
                                        and not isinstance(exc, AccessDenied)):
        return failed(name, said, refused)
    if isinstance(exc, NoAnswer):
        return failed(name, said, f"check {variable} and that this machine can reach it "
                                  "(DNS, firewall, outbound proxy)")
    if isinstance(exc, UpstreamUnavailable):
        if exc.status is None:
            return failed(name, f"cannot reach {url}: {said}",
                          f"check {variable} and that this machine can reach it "
                          "(DNS, firewall, outbound proxy)")
        return failed(name, f"{url}: {said}",
                      "the service is having trouble on its side: run doctor again in a few "
                      "minutes")
    if isinstance(exc, RateLimited):
        return failed(name, said, "the service is throttling this key: run doctor again in "
                                  "a minute")
    if isinstance(exc, QuotaExhausted):
        return failed(name, said, "the account's quota or credits are spent: wait for them to "
                                  "come back, or top them up")
    if isinstance(exc, AccountDisconnected):
        return failed(name, said, "reconnect the Google account on useapi.net")
    if isinstance(exc, AccessDenied):
        return failed(name, said, "the account or key may not use this: check its plan and "
                                  "that the API is enabled for it")
    if isinstance(exc, BadResponse):
        return failed(name, f"{url}: {said}", f"check that {variable} is the right address")
    return failed(name, f"{url}: {said}", f"check {variable} and the answer above")
