"""Google's error body, read defensively; shared by the providers that talk to Google services.

`{"error": {"code", "message", "status", "details": [...]}}`: the details carry an
`ErrorInfo.reason` (PUBLIC_ERROR_*, API_KEY_INVALID), a `QuotaFailure` (which quota) and a
`RetryInfo.retryDelay`. Proxies and gateways answer `{"message"}` or `{"description"}` instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.providers.http import retry_after

MESSAGE_LIMIT = 300


@dataclass(frozen=True)
class GoogleError:
    """The useful parts of an error body."""

    message: str = ""
    status: str | None = None  #: Google's canonical status, e.g. RESOURCE_EXHAUSTED
    reasons: tuple[str, ...] = ()
    quota_ids: tuple[str, ...] = ()
    retry_delay: float | None = None

    @property
    def reason(self) -> str | None:
        return self.reasons[0] if self.reasons else None

    def sentence(self, upstream: str, status: int) -> str:
        """`<upstream> answered <status>: <message>`, the text of the error it maps to."""
        return f"{upstream} answered {status}" + (f": {self.message}" if self.message else "")


def describe(body: Any) -> GoogleError:
    """Whatever the body is (a dict of any shape, a list, None), the parts that are there."""
    if not isinstance(body, dict):
        return GoogleError()
    error = body.get("error")
    if not isinstance(error, dict):
        message = body.get("message") or body.get("description") or ""
        return GoogleError(message=str(message)[:MESSAGE_LIMIT])
    reasons: list[str] = []
    quota_ids: list[str] = []
    delay = None
    details = error.get("details")
    for detail in details if isinstance(details, list) else []:
        if not isinstance(detail, dict):
            continue
        if detail.get("reason"):
            reasons.append(str(detail["reason"]))
        violations = detail.get("violations")
        for violation in violations if isinstance(violations, list) else []:
            if isinstance(violation, dict):
                quota_ids.append(f"{violation.get('quotaId')} {violation.get('quotaMetric')}")
        if "retryDelay" in detail:
            delay = retry_after(str(detail["retryDelay"]))
    status = error.get("status")
    return GoogleError(str(error.get("message", ""))[:MESSAGE_LIMIT],
                       str(status) if status else None, tuple(reasons), tuple(quota_ids), delay)
