"""What useapi.net's answers mean, in the engine's error tree (`bot.jobs.errors`).

The only place that knows useapi's status codes (upstream-2026.md, section 3): 400 a bad parameter
or Google's refusal (the message says which), 401 a bad token, 402 no plan or no credits, 403 the
captcha failed after useapi's own retries or the plan may not use the model
(`MODEL_ACCESS_DENIED`), 404 an account (or a job) it does not know, 408 a synchronous wait ran out
while the job goes on, 429 busy or Google's quota (with `retryAfter`), 503 Google or the captcha
service down for a while, 596 the account's Google session broke.

An extend or upscale names its source by `mediaGenerationId`; useapi documents a 400 for a
"missing or invalid mediaGenerationId". A 400 (or 404) whose message says the id is not found,
unknown or expired means the source is no longer held: `SourceExpired`.

Its error bodies are `{"error": "<message>"}` (documented for 401), with `code`, `errorDetails`,
`retryAfter` and, for a job, Google's own error under `response.error`; they are read
defensively, and Google's `PUBLIC_ERROR_*` reasons are found wherever they appear.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Literal

from bot.jobs.errors import (
    AccessDenied,
    AccountDisconnected,
    AuthExpired,
    CaptchaExhausted,
    GenerationFailed,
    QuotaExhausted,
    RateLimited,
    RequestRejected,
    ResultLost,
    SafetyBlocked,
    SourceExpired,
    TransientError,
    UpstreamError,
    UpstreamUnavailable,
)
from bot.providers.google import describe
from bot.providers.http import ANSWER_LOST, StatusMap, retry_after, status_map_of

UPSTREAM = "useapi.net"
MESSAGE_LIMIT = 300
#: Statuses of useapi's own: the account's Google session broke and must be reconnected.
SESSION_BROKEN = 596
#: What a 404 means where it is answered: an account (generations, uploads) or a job (polls).
Missing = Literal["account", "job"]

_REASON = re.compile(r"\b(?:PUBLIC_ERROR_[A-Z0-9_]+|MODEL_ACCESS_DENIED)\b")
#: Words of a Google refusal (as opposed to a bad parameter) in a 400's message.
_REFUSAL_WORDS = ("moderat", "unsafe", "safety", "content policy", "prohibited", "filtered",
                  "violat", "blocked")
#: Parts of a PUBLIC_ERROR_* reason that name a safety filter.
_SAFETY_PARTS = ("UNSAFE", "FILTER", "SAFETY", "MINOR", "PROMINENT", "HARM", "SEXUAL", "CHILD",
                 "VIOLEN")
_QUOTA_PARTS = ("QUOTA_REACHED", "QUOTA_EXCEEDED")
#: A message that says a named mediaGenerationId is not (or no longer) held by the account.
_SOURCE_GONE = re.compile(r"mediaGenerationId\b.*\b(?:not found|unknown|expired|no longer|"
                          r"does not exist)", re.IGNORECASE)
#: A failed job's `code` that says more about the account than about the render.
_ACCOUNT_CODES = frozenset({402, 403, 429, SESSION_BROKEN})


@dataclass(frozen=True)
class Described:
    """The useful parts of a useapi error body (or of a failed job record)."""

    message: str = ""
    reasons: tuple[str, ...] = ()
    retry_after: float | None = None
    jobid: str | None = None

    def is_safety(self) -> bool:
        return any(is_safety_reason(reason) for reason in self.reasons)

    def sentence(self, status: int | None) -> str:
        said = f"{UPSTREAM} answered {status}" if status else UPSTREAM
        return said + (f": {self.message}" if self.message else "")


class StillRunning(UpstreamUnavailable):
    """408: a synchronous wait ran out but the job goes on; `jobid` (when the answer names it)
    is to be polled, never submitted again. Never retried: it means `maybe_processed`."""

    def __init__(self, message: str, *, jobid: str | None, **common: Any) -> None:
        super().__init__(message, maybe_processed=True, **common)
        self.jobid = jobid


def is_safety_reason(reason: str) -> bool:
    return reason.startswith("PUBLIC_ERROR_") and any(part in reason for part in _SAFETY_PARTS)


def describe_body(body: Any) -> Described:
    """Whatever the body is (useapi's `{"error": …}`, a job record, Google's error, None)."""
    if not isinstance(body, dict):
        return Described()
    parts: list[str] = []
    error = body.get("error")
    if isinstance(error, str) and error.strip():
        parts.append(error.strip())
    elif isinstance(error, dict):
        parts.append(describe(body).message)
    details = body.get("errorDetails")
    if isinstance(details, str) and details.strip() and details.strip() not in parts:
        parts.append(details.strip())
    google = _google_error(body)
    if google is not None:
        said = describe({"error": google}).message
        if said and said not in parts:
            parts.append(said)
    if not parts and isinstance(body.get("message"), str):
        parts.append(str(body["message"]).strip())
    reasons = _reasons(error, details, google)
    jobid = body.get("jobid") or body.get("jobId")
    delay = body.get("retryAfter")
    return Described(message="; ".join(p for p in parts if p)[:MESSAGE_LIMIT],
                     reasons=reasons,
                     retry_after=retry_after(str(delay)) if delay is not None else None,
                     jobid=jobid if isinstance(jobid, str) and jobid else None)


def status_map(*, credential: str | None = None, missing: Missing = "account") -> StatusMap:
    """The map of one kind of call; a 401 names the refused token by `credential`."""
    return status_map_of(from_status, credential=credential, missing=missing)


def from_status(status: int, body: Any, *, retry_after: float | None = None,
                credential: str | None = None, missing: Missing = "account") -> UpstreamError:
    """Map a status and a useapi error body to the tree, with the words a user reads."""
    seen = describe_body(body)
    text = seen.sentence(status)
    delay = seen.retry_after if seen.retry_after is not None else retry_after
    reason = seen.reasons[0] if seen.reasons else None
    common: dict[str, Any] = {"status": status, "reason": reason,
                              "refused_submission": 400 <= status < 500 and status != 408}
    if status == 401:
        return AuthExpired(f"useapi.net refused the API token (USEAPI_TOKEN): {text}",
                           credential=credential, **common)
    if status == 402:
        return QuotaExhausted(f"the useapi.net account has no paid plan or no credits left: "
                              f"{text}", **common)
    if status == 408:
        return StillRunning(f"{text} (the job goes on)", jobid=seen.jobid,
                            status=status, reason=reason)
    if status == 429:
        if reason and any(part in reason for part in _QUOTA_PARTS):
            return QuotaExhausted(f"the Google account's quota is used up: {text}", **common)
        return RateLimited(text, retry_after=delay, **common)
    if status == SESSION_BROKEN:
        # useapi.net answers it for the account before asking Google anything: a create it
        # answers so was not taken, and can go again once the account is reconnected.
        return AccountDisconnected(f"its Google session broke ({UPSTREAM} answered {status})",
                                   **{**common, "refused_submission": True})
    if status >= 500:
        return UpstreamUnavailable(text, maybe_processed=status in ANSWER_LOST,
                                   retry_after=delay, **common)
    if status in (400, 404) and source_gone(seen.message):
        return SourceExpired(f"the earlier result is no longer on useapi.net: {text}", **common)
    if seen.is_safety() or (status == 400 and _refusal_words(seen.message)):
        return SafetyBlocked(text, **common)
    if status == 403:
        # The documented 403s: the plan may not use the model (MODEL_ACCESS_DENIED), or the
        # captcha failed after useapi's own retries (the default: more tries from us would only
        # add failed captchas to the account).
        lowered = seen.message.lower()
        if "MODEL_ACCESS_DENIED" in seen.reasons or "access denied" in lowered:
            return AccessDenied(text, **common)
        return CaptchaExhausted(f"the captcha failed after useapi.net's retries: {text}",
                                **common)
    if status == 404:
        if missing == "job":
            return ResultLost(f"useapi.net no longer knows this job: {text}", **common)
        return AccountDisconnected(f"{UPSTREAM} has no such connected account "
                                   f"({UPSTREAM} answered {status})", **common)
    return RequestRejected(text, **common)


def job_failure(record: dict[str, Any]) -> UpstreamError:
    """The error a `failed` job ends with: a safety refusal, an account problem, or the
    generation's own failure. Nothing of it is retried: the job is over."""
    seen = describe_body(record)
    code = record.get("code")
    if seen.is_safety():
        reason = next(r for r in seen.reasons if is_safety_reason(r))
        return SafetyBlocked(f"Google's safety filters refused it ({reason})", reason=reason)
    if source_gone(seen.message):
        return SourceExpired(f"the earlier result is no longer on useapi.net: {seen.message}",
                             status=code if isinstance(code, int) else None)
    if code in _ACCOUNT_CODES:
        mapped = from_status(code, record)
        if not isinstance(mapped, TransientError):
            return mapped
    return GenerationFailed(seen.message or "the job failed without a reason",
                            status=code if isinstance(code, int) else None,
                            reason=seen.reasons[0] if seen.reasons else None)


def source_gone(message: str) -> bool:
    """Whether useapi's words say the named mediaGenerationId is unknown or expired."""
    return _SOURCE_GONE.search(message) is not None


def _refusal_words(message: str) -> bool:
    lowered = message.lower()
    return any(word in lowered for word in _REFUSAL_WORDS)


def _google_error(body: dict[str, Any]) -> dict[str, Any] | None:
    response = body.get("response")
    error = response.get("error") if isinstance(response, dict) else None
    return error if isinstance(error, dict) else None


def _reasons(*parts: Any) -> tuple[str, ...]:
    found: list[str] = []
    for part in parts:
        if part is None:
            continue
        text = part if isinstance(part, str) else json.dumps(part)
        for reason in _REASON.findall(text):
            if reason not in found:
                found.append(reason)
    return tuple(found)
