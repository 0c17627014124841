"""What the official Gemini API's answers mean, in our error hierarchy (`bot.jobs.errors`).

Google's error bodies are `{"error": {"code", "message", "status", "details": [...]}}`; the
details carry an `ErrorInfo.reason` (API_KEY_INVALID, SERVICE_DISABLED), a `QuotaFailure` (which
quota: per minute or per day) and a `RetryInfo.retryDelay`. The SDK raises `errors.APIError`
with that body; transport failures come out as httpx errors (the SDK runs on our httpx client).

An extend or upscale whose source video is gone (generated files are kept 48 hours) is answered
with a 404 naming the file or the interaction's video, or a 400 naming `previous_interaction_id`
as not found: `source_expired` turns those into `SourceExpired`.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pydantic
from google.genai import errors as genai_errors

from bot.jobs.errors import (
    AccessDenied,
    AuthExpired,
    BadResponse,
    QuotaExhausted,
    RateLimited,
    RequestRejected,
    SafetyBlocked,
    SourceExpired,
    UpstreamError,
    UpstreamUnavailable,
)
from bot.providers.google import GoogleError, describe
from bot.providers.http import ANSWER_LOST, StatusMap, retry_after, status_map_of, transport_error

UPSTREAM = "the Gemini API"
_KEY_REASONS = frozenset({"API_KEY_INVALID", "API_KEY_EXPIRED", "API_KEY_NOT_FOUND"})
_DAILY_MARKERS = ("perday", "per_day", "limit: 0")
#: Words in Google's messages (Veo and Gemini, Developer API and Vertex) that mean a safety
#: filter refused the prompt or the image.
SAFETY_MARKERS = ("usage guidelines", "responsible ai", "safety", "sensitive words",
                  "prohibited content", "rai filtered")


def to_upstream(exc: BaseException, *, credential: str | None = None) -> UpstreamError | None:
    """The matching error for anything the SDK or httpx raised; None for our own bugs."""
    if isinstance(exc, UpstreamError):
        return exc
    if isinstance(exc, genai_errors.APIError):
        return from_api_error(exc, credential=credential)
    if isinstance(exc, httpx.HTTPError):
        return transport_error(exc, upstream=UPSTREAM)
    if isinstance(exc, json.JSONDecodeError | pydantic.ValidationError):
        return BadResponse(f"{UPSTREAM} answered with something we cannot read "
                           f"({type(exc).__name__})")
    if isinstance(exc, ValueError):  # the SDK refusing an argument before sending anything
        return RequestRejected(f"the request was refused before sending: {exc}")
    return None


def from_api_error(exc: genai_errors.APIError, *, credential: str | None = None
                   ) -> UpstreamError:
    headers = getattr(exc.response, "headers", None)
    delay = retry_after(headers.get("retry-after")) if headers is not None else None
    return from_status(int(exc.code or 500), exc.details, retry_after=delay,
                       credential=credential)


def status_map(*, credential: str | None = None) -> StatusMap:
    """The map for our own REST calls; a 401 names the refused key by `credential`."""
    return status_map_of(from_status, credential=credential)


def from_status(status: int, body: Any, *, retry_after: float | None = None,
                credential: str | None = None) -> UpstreamError:
    """Map a status and a Google error body to the tree, with a sentence a user can read."""
    error = describe(body)
    text = error.sentence(UPSTREAM, status)
    common: dict[str, Any] = {"status": status, "reason": error.reason}
    if status == 401 or _KEY_REASONS & set(error.reasons) or "api key not valid" in text.lower():
        return AuthExpired(f"Google refused the Gemini API key (GEMINI_API_KEY): {text}",
                           credential=credential, **common)
    if status == 429 or error.status == "RESOURCE_EXHAUSTED":
        return _exhausted(error, text, retry_after, common)
    if status >= 500:
        return UpstreamUnavailable(text, maybe_processed=status in ANSWER_LOST,
                                   retry_after=retry_after, **common)
    if status == 403:
        return AccessDenied(text, **common)
    if is_safety_message(error.message):
        return SafetyBlocked(text, **common)
    return RequestRejected(text, **common)


def is_gone(exc: UpstreamError) -> bool:
    """Google's answer for a retired model: 404 "models/… is no longer available"."""
    return exc.status == 404 and "no longer available" in str(exc).lower()


def source_expired(exc: UpstreamError) -> SourceExpired | None:
    """The `SourceExpired` a refused extend or upscale means, or None when it is another
    refusal (a model's 404, a wrong field, a source without a video)."""
    if exc.status not in (400, 404) or is_gone(exc):
        return None
    text = str(exc).lower()
    if "models/" in text or "model " in text:
        return None
    missing = any(word in text for word in ("not found", "expired", "does not exist"))
    names_source = any(word in text for word in ("files/", "interaction", "video"))
    if not (missing and names_source):
        return None
    return SourceExpired(f"the video to start from is no longer kept at Google (generated "
                         f"videos are kept 48 hours): {exc}", status=exc.status,
                         reason=exc.reason)


def is_safety_message(message: str) -> bool:
    lowered = message.lower()
    return any(marker in lowered for marker in SAFETY_MARKERS)


def _exhausted(error: GoogleError, text: str, retry_after: float | None,
               args: dict[str, Any]) -> UpstreamError:
    """A daily quota (or a tier without this model: `limit: 0`) will not come back in a minute;
    a per-minute rate limit will."""
    scope = " ".join(error.quota_ids).lower() + " " + error.message.lower()
    if any(marker in scope for marker in _DAILY_MARKERS):
        return QuotaExhausted(f"the Gemini API quota is used up: {text}", **args)
    delay = retry_after if retry_after is not None else error.retry_delay
    return RateLimited(text, retry_after=delay, **args)
