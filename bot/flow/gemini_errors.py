"""What the official Gemini API's answers mean, in our error hierarchy (`bot.flow.errors`).

Google's error bodies are `{"error": {"code", "message", "status", "details": [...]}}`; the
details carry an `ErrorInfo.reason` (API_KEY_INVALID, SERVICE_DISABLED), a `QuotaFailure` (which
quota: per minute or per day) and a `RetryInfo.retryDelay`. The SDK raises `errors.APIError`
with that body; transport failures come out as httpx errors (the SDK runs on our httpx client).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx
import pydantic
from google.genai import errors as genai_errors

from bot.flow.errors import (
    AccessDenied,
    AuthExpired,
    BadResponse,
    PermanentError,
    QuotaExhausted,
    RateLimited,
    RequestRejected,
    SafetyBlocked,
    UpstreamError,
    UpstreamUnavailable,
    from_transport,
)

UPSTREAM = "the Gemini API"
_KEY_REASONS = frozenset({"API_KEY_INVALID", "API_KEY_EXPIRED", "API_KEY_NOT_FOUND"})
_DAILY_MARKERS = ("perday", "per_day", "limit: 0")
#: Words in Google's messages (Veo and Gemini, Developer API and Vertex) that mean a safety
#: filter refused the prompt or the image.
SAFETY_MARKERS = ("usage guidelines", "responsible ai", "safety", "sensitive words",
                  "prohibited content", "rai filtered")


class ResultLost(PermanentError):
    """Raised when a finished image kept on disk between `submit` and `accepted` is gone."""

    code = "lost"


@dataclass(frozen=True)
class GoogleError:
    """The useful parts of a Google error body, read defensively."""

    message: str = ""
    status: str | None = None
    reasons: tuple[str, ...] = ()
    quota_ids: tuple[str, ...] = ()
    retry_delay: float | None = None


def to_upstream(exc: BaseException) -> UpstreamError | None:
    """The matching error for anything the SDK or httpx raised; None for our own bugs."""
    if isinstance(exc, UpstreamError):
        return exc
    if isinstance(exc, genai_errors.APIError):
        return from_api_error(exc)
    if isinstance(exc, httpx.HTTPError):
        return from_transport(exc, upstream=UPSTREAM)
    if isinstance(exc, json.JSONDecodeError | pydantic.ValidationError):
        return BadResponse(f"{UPSTREAM} answered with something we cannot read "
                           f"({type(exc).__name__})")
    if isinstance(exc, ValueError):  # the SDK refusing an argument before sending anything
        return RequestRejected(f"the request was refused before sending: {exc}")
    return None


def from_api_error(exc: genai_errors.APIError) -> UpstreamError:
    headers = getattr(exc.response, "headers", None)
    retry_after = _seconds(headers.get("retry-after")) if headers is not None else None
    return from_status(int(exc.code or 500), exc.details, retry_after=retry_after)


def from_response(response: httpx.Response) -> UpstreamError:
    """A non-2xx answer to one of our own REST calls."""
    try:
        body: Any = response.json()
    except ValueError:
        body = None
    return from_status(response.status_code, body,
                       retry_after=_seconds(response.headers.get("retry-after")))


def from_status(status: int, body: Any, *, retry_after: float | None = None) -> UpstreamError:
    """Map a status and a Google error body to the hierarchy, with a sentence a user can read."""
    error = describe(body)
    text = f"{UPSTREAM} answered {status}" + (f": {error.message}" if error.message else "")
    args: dict[str, Any] = {"status": status, "reason": error.reasons[0] if error.reasons else None}
    if status == 401 or _KEY_REASONS & set(error.reasons) or "api key not valid" in text.lower():
        return AuthExpired(f"Google refused the Gemini API key (GEMINI_API_KEY): {text}", **args)
    if status == 429 or error.status == "RESOURCE_EXHAUSTED":
        return _exhausted(error, text, retry_after, args)
    if status >= 500:
        return UpstreamUnavailable(text, **args)
    if status == 403:
        return AccessDenied(text, **args)
    if is_safety_message(error.message):
        return SafetyBlocked(text, **args)
    return RequestRejected(text, **args)


def is_safety_message(message: str) -> bool:
    lowered = message.lower()
    return any(marker in lowered for marker in SAFETY_MARKERS)


def describe(body: Any) -> GoogleError:
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        message = body.get("message", "") if isinstance(body, dict) else ""
        return GoogleError(message=str(message)[:300])
    reasons: list[str] = []
    quota_ids: list[str] = []
    retry_delay = None
    for detail in error.get("details") or []:
        if not isinstance(detail, dict):
            continue
        if detail.get("reason"):
            reasons.append(str(detail["reason"]))
        for violation in detail.get("violations") or []:
            if isinstance(violation, dict):
                quota_ids.append(f"{violation.get('quotaId')} {violation.get('quotaMetric')}")
        if "retryDelay" in detail:
            retry_delay = _seconds(str(detail["retryDelay"]).removesuffix("s"))
    status = error.get("status")
    return GoogleError(str(error.get("message", ""))[:300], str(status) if status else None,
                       tuple(reasons), tuple(quota_ids), retry_delay)


def _exhausted(error: GoogleError, text: str, retry_after: float | None,
               args: dict[str, Any]) -> UpstreamError:
    """A daily quota (or a tier without this model: `limit: 0`) will not come back in a minute;
    a per-minute rate limit will."""
    scope = " ".join(error.quota_ids).lower() + " " + error.message.lower()
    if any(marker in scope for marker in _DAILY_MARKERS):
        return QuotaExhausted(f"the Gemini API quota is used up: {text}", **args)
    delay = retry_after if retry_after is not None else error.retry_delay
    return RateLimited(text, retry_after=delay, **args)


def _seconds(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None
