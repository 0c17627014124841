"""The upstream error hierarchy, and the one place that knows what an HTTP answer means.

    UpstreamError                 anything that went wrong upstream; `code` keys the user's sentence
    ├── TransientError            retried with bounded, jittered backoff
    │   ├── UpstreamUnavailable   5xx, timeouts, transport errors
    │   ├── RateLimited           429 throttling (carries `retry_after`)
    │   └── CaptchaRejected       403 reCAPTCHA evaluation failed / unusual activity
    └── PermanentError            not retried; the user is told
        ├── AuthExpired           401: the Google token expired or is wrong
        ├── AccessDenied          403: the account cannot use this model
        ├── QuotaExhausted        429 quota reached (daily / user quota)
        ├── SafetyBlocked         400 safety filters refused the prompt or image
        ├── RequestRejected       any other 4xx
        ├── BadResponse           a body we cannot understand (names the missing field)
        ├── GenerationFailed      the render ended in an ERROR / FAILED status
        ├── TimedOut              a submission or render passed its cap (raised by the engine)
        └── ResultTooLarge        the result is larger than the upload limit (carries `url`)

Providers (the Flow proxy today, Google's official API next) raise only these classes, so the job
engine handles every provider the same way. Messages are short, safe and never hold a token.
"""

from __future__ import annotations

from typing import Any

import httpx

from bot.redact import redact

_SAFETY_REASONS = frozenset({
    "PUBLIC_ERROR_UNSAFE_GENERATION",
    "PUBLIC_ERROR_PROMINENT_PEOPLE_FILTER_FAILED",
    "PUBLIC_ERROR_MINOR_INPUT_IMAGE",
})
_CAPTCHA_REASONS = frozenset({"PUBLIC_ERROR_SOMETHING_WENT_WRONG", "PUBLIC_ERROR_UNUSUAL_ACTIVITY"})
_QUOTA_MARKERS = ("QUOTA_REACHED", "QUOTA_EXCEEDED")


class UpstreamError(Exception):
    """Base class. `code` is a stable key for storage and for the user's sentence."""

    code = "upstream_error"

    #: True when the upstream answered that it did not take the submission (its task result
    #: is an error), so submitting again cannot charge twice.
    refused_submission = False

    def __init__(self, message: str, *, status: int | None = None, reason: str | None = None):
        super().__init__(redact(message))
        self.status = status
        self.reason = reason

    @property
    def detail(self) -> str:
        return str(self)


class TransientError(UpstreamError):
    """Worth another try after a pause."""

    code = "unavailable"


class UpstreamUnavailable(TransientError):
    """Raised on 5xx answers, timeouts and transport errors.

    `maybe_processed` is true when the request was sent and the answer lost (a read timeout):
    the upstream may have acted on it.
    """

    code = "unavailable"

    def __init__(self, message: str, *, maybe_processed: bool = False, **kwargs: Any):
        super().__init__(message, **kwargs)
        self.maybe_processed = maybe_processed


class RateLimited(TransientError):
    """Raised on 429 throttling; `retry_after` is the server's hint in seconds, if any."""

    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any):
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class CaptchaRejected(TransientError):
    """Raised when the proxy's reCAPTCHA answer was refused (403, unusual activity)."""

    code = "captcha"


class PermanentError(UpstreamError):
    """Not worth retrying: the user must be told."""


class AuthExpired(PermanentError):
    """Raised on 401: the Google bearer token (or the proxy token) expired or is wrong.

    `credential` is a fingerprint (never the token) of the token that was refused, so a renewal
    can tell whether someone already replaced it.
    """

    code = "auth_expired"
    credential: str | None = None


class AccessDenied(PermanentError):
    """Raised on 403 model access denied: the account's tier cannot use this model."""

    code = "access_denied"


class QuotaExhausted(PermanentError):
    """Raised on 429 when the quota (daily, per model, per user) is spent."""

    code = "quota"


class SafetyBlocked(PermanentError):
    """Raised when safety filters refused the prompt or the image."""

    code = "unsafe"


class RequestRejected(PermanentError):
    """Raised on other 4xx answers."""

    code = "rejected"


class BadResponse(PermanentError):
    """Raised when an answer lacks a field we need or is not JSON."""

    code = "bad_response"


class GenerationFailed(PermanentError):
    """Raised when the render ended in an ERROR / FAILED status; the message is Google's reason."""

    code = "generation_failed"


class TimedOut(PermanentError):
    """Raised by the engine when a submission or a render passes its time cap."""

    code = "timeout"


class ResultTooLarge(PermanentError):
    """Raised by a download that passes the size limit; `url` still points at the result."""

    code = "too_large"

    def __init__(self, message: str, *, url: str, size: int | None = None):
        super().__init__(message)
        self.url = url
        self.size = size


def is_retryable(exc: BaseException) -> bool:
    """The retry rule shared by every upstream call."""
    return isinstance(exc, TransientError)


def from_transport(exc: httpx.HTTPError, *, upstream: str) -> UpstreamUnavailable:
    kind = "timed out" if isinstance(exc, httpx.TimeoutException) else "unreachable"
    ambiguous = httpx.ReadTimeout | httpx.ReadError | httpx.RemoteProtocolError
    maybe_processed = isinstance(exc, ambiguous)
    return UpstreamUnavailable(
        f"{upstream} {kind} ({type(exc).__name__})", maybe_processed=maybe_processed
    )


def from_response(response: httpx.Response, *, upstream: str) -> UpstreamError:
    """Turn a non-2xx answer into the matching error."""
    try:
        body: Any = response.json()
    except ValueError:
        body = None
    retry_after = _retry_after(response.headers.get("retry-after"))
    return from_status(response.status_code, body, upstream=upstream, retry_after=retry_after)


def from_status(
    status: int, body: Any, *, upstream: str, retry_after: float | None = None
) -> UpstreamError:
    """Map a status and a (Google-style) error body to the hierarchy."""
    message, reason, google_status = _describe(body)
    text = f"{upstream} answered {status}" + (f": {message}" if message else "")
    args: dict[str, Any] = {"status": status, "reason": reason}
    if status == 401:
        return AuthExpired(text, **args)
    if status == 429 or google_status == "RESOURCE_EXHAUSTED":
        if reason and any(marker in reason for marker in _QUOTA_MARKERS):
            return QuotaExhausted(text, **args)
        return RateLimited(text, retry_after=retry_after, **args)
    if status >= 500:
        return UpstreamUnavailable(text, **args)
    if reason in _SAFETY_REASONS:
        return SafetyBlocked(text, **args)
    if status == 403:
        if reason in _CAPTCHA_REASONS or "recaptcha" in message.lower():
            return CaptchaRejected(text, **args)
        return AccessDenied(text, **args)
    return RequestRejected(text, **args)


def from_google_error(error: Any, *, upstream: str) -> UpstreamError:
    """Google's `{"error": {...}}` object found inside a proxy task result."""
    code = error.get("code") if isinstance(error, dict) else None
    status = code if isinstance(code, int) and 400 <= code < 600 else 500
    return from_status(status, {"error": error}, upstream=upstream)


def _describe(body: Any) -> tuple[str, str | None, str | None]:
    """(message, reason, google status) out of any error body, defensively."""
    if not isinstance(body, dict):
        return "", None, None
    error = body.get("error")
    if not isinstance(error, dict):
        message = body.get("message") or body.get("description") or ""
        return str(message)[:300], None, None
    reason = None
    details = error.get("details")
    for detail in details if isinstance(details, list) else []:
        if isinstance(detail, dict) and detail.get("reason"):
            reason = str(detail["reason"])
            break
    status = error.get("status")
    return str(error.get("message", ""))[:300], reason, str(status) if status else None


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None
