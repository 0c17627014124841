"""What the captcha proxy's and Google Flow's answers mean, in the engine's error tree.

The only place that knows Flow's 401, 403 (captcha vs model access), 429 (throttle vs quota),
5xx and PUBLIC_ERROR_* reasons.
"""

from __future__ import annotations

from typing import Any

from bot.jobs.errors import (
    AccessDenied,
    AuthExpired,
    CaptchaRejected,
    QuotaExhausted,
    RateLimited,
    RequestRejected,
    SafetyBlocked,
    UpstreamError,
    UpstreamUnavailable,
)
from bot.providers.google import describe
from bot.providers.http import ANSWER_LOST, StatusMap, status_map_of

_SAFETY_REASONS = frozenset({
    "PUBLIC_ERROR_UNSAFE_GENERATION",
    "PUBLIC_ERROR_PROMINENT_PEOPLE_FILTER_FAILED",
    "PUBLIC_ERROR_MINOR_INPUT_IMAGE",
})
_CAPTCHA_REASONS = frozenset({"PUBLIC_ERROR_SOMETHING_WENT_WRONG", "PUBLIC_ERROR_UNUSUAL_ACTIVITY"})
_QUOTA_MARKERS = ("QUOTA_REACHED", "QUOTA_EXCEEDED")


def status_map(*, upstream: str, credential: str | None = None) -> StatusMap:
    """The map for one upstream; a 401 names the refused token by `credential` (a fingerprint)."""
    return status_map_of(from_status, upstream=upstream, credential=credential)


def from_status(
    status: int, body: Any, *, upstream: str, retry_after: float | None = None,
    credential: str | None = None, refused_submission: bool = False,
) -> UpstreamError:
    """Map a status and a (Google-style or proxy-style) error body to the tree."""
    error = describe(body)
    text = error.sentence(upstream, status)
    reason = error.reason
    common: dict[str, Any] = {"status": status, "reason": reason,
                              "refused_submission": refused_submission}
    if status == 401:
        return AuthExpired(text, credential=credential, **common)
    if status == 429 or error.status == "RESOURCE_EXHAUSTED":
        if reason and any(marker in reason for marker in _QUOTA_MARKERS):
            return QuotaExhausted(text, **common)
        return RateLimited(text, retry_after=retry_after, **common)
    if status >= 500:
        return UpstreamUnavailable(text, maybe_processed=status in ANSWER_LOST,
                                   retry_after=retry_after, **common)
    if reason in _SAFETY_REASONS:
        return SafetyBlocked(text, **common)
    if status == 403:
        if reason in _CAPTCHA_REASONS or "recaptcha" in error.message.lower():
            return CaptchaRejected(text, **common)
        return AccessDenied(text, **common)
    return RequestRejected(text, **common)


def from_google_error(error: Any, *, upstream: str, credential: str | None = None
                      ) -> UpstreamError:
    """Google's `{"error": {...}}` found inside a proxy task result: the submission was refused,
    so sending it again cannot charge twice."""
    code = error.get("code") if isinstance(error, dict) else None
    status = code if isinstance(code, int) and 400 <= code < 600 else 500
    return from_status(status, {"error": error}, upstream=upstream, credential=credential,
                       refused_submission=True)
