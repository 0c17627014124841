"""The error tree every provider raises into, and the stable codes the fronts turn into sentences.

    UpstreamError                 anything that went wrong upstream; `code` keys the user's sentence
    ├── TransientError            retried with bounded, jittered backoff (carries `retry_after`)
    │   ├── UpstreamUnavailable   5xx, timeouts, transport errors (`maybe_processed` after a send)
    │   │   └── ProviderUnhealthy the canary finds the provider down: a job moves before sending
    │   ├── RateLimited           429 throttling
    │   └── CaptchaRejected       403 reCAPTCHA evaluation failed / unusual activity
    └── PermanentError            not retried; the user is told
        ├── AuthExpired           401: the token or key expired or is wrong (carries `credential`)
        ├── AccessDenied          403: the account cannot use this model
        ├── QuotaExhausted        429 quota reached (daily / user quota)
        ├── SafetyBlocked         400 safety filters refused the prompt or image
        ├── RequestRejected       any other 4xx
        ├── BadResponse           a body we cannot understand (names the missing field)
        ├── GenerationFailed      the render ended in an ERROR / FAILED status
        ├── TimedOut              a submission or render passed its cap (raised by the engine)
        ├── Interrupted           a crash hit during a submission (raised by the engine)
        ├── SubmissionUnclear     a submission's answer was lost (raised by the engine)
        ├── ResultLost            a finished result kept between steps is gone
        ├── ResultTooLarge        the result is larger than the upload limit (carries `url`)
        ├── ModelRetired          the configured model was retired (carries model, replacement)
        ├── CaptchaExhausted      a gateway already retried the captcha and gave up (403)
        ├── AccountDisconnected   the Google account behind a gateway must be reconnected (596)
        └── SourceExpired         the result an extend / upscale starts from is gone upstream

Each upstream's package (`bot.providers.<name>.errors`) is the only place that knows what its
status codes and bodies mean; it maps them into these classes, so the engine handles every
provider the same way. Messages are short, safe and never hold a token. Data (status, reason,
retry-after, credential, url) comes in through the constructors and is never set afterwards.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from bot.redact import redact


class ErrorCode(StrEnum):
    """Why a job ended or paused; stored as TEXT in `jobs.error_code`, keyed in `bot.texts`."""

    UPSTREAM = "upstream_error"  #: an upstream failure of no better-known kind
    UNAVAILABLE = "unavailable"  #: the service is down or unreachable
    RATE_LIMITED = "rate_limited"  #: too many requests for now
    CAPTCHA = "captcha"  #: the captcha proxy's answer was refused
    AUTH_EXPIRED = "auth_expired"  #: the token or key was refused
    ACCESS_DENIED = "access_denied"  #: the account may not use this model
    QUOTA = "quota"  #: the account's quota or credits are spent
    UNSAFE = "unsafe"  #: safety filters refused the prompt or picture
    REJECTED = "rejected"  #: the upstream refused the request
    BAD_RESPONSE = "bad_response"  #: an answer we could not read
    GENERATION_FAILED = "generation_failed"  #: the render itself failed
    TIMEOUT = "timeout"  #: a submission or render passed its time cap
    TOO_LARGE = "too_large"  #: the result is larger than Telegram takes
    INTERRUPTED = "interrupted"  #: a crash hit during a submission; not resubmitted
    UNCLEAR = "unclear"  #: a paid submission's answer was lost; not resubmitted
    LOST = "lost"  #: the result file vanished and could not be fetched again
    DELIVERY_FAILED = "delivery_failed"  #: the chat would not take the result
    MODEL_RETIRED = "model_retired"  #: the configured model was retired by its upstream
    ACCOUNT_DISCONNECTED = "account_disconnected"  #: the gateway's Google account must be
    #: reconnected by the operator (useapi.net's 596, or an account it does not know)
    CAPTCHA_EXHAUSTED = "captcha_exhausted"  #: a gateway's captcha failed after its own retries
    SOURCE_EXPIRED = "source_expired"  #: the result to extend or upscale is no longer upstream
    #: only a failover's reason: the canary found the provider failing its checks
    UNHEALTHY = "unhealthy"
    INTERNAL = "internal"  #: a bug of ours (logged with its traceback)


class UpstreamError(Exception):
    """Base class. `code` is a stable key for storage and for the user's sentence."""

    code = ErrorCode.UPSTREAM

    def __init__(self, message: str, *, status: int | None = None, reason: str | None = None,
                 refused_submission: bool = False) -> None:
        super().__init__(redact(message))
        self.status = status
        self.reason = reason
        #: True when the upstream answered that it did not take the submission (its task
        #: result is an error), so submitting again cannot charge twice.
        self.refused_submission = refused_submission

    @property
    def detail(self) -> str:
        return str(self)


class TransientError(UpstreamError):
    """Worth another try after a pause; `retry_after` is the server's hint in seconds, if any."""

    code = ErrorCode.UNAVAILABLE

    def __init__(self, message: str, *, retry_after: float | None = None, **common: Any) -> None:
        super().__init__(message, **common)
        self.retry_after = retry_after


class UpstreamUnavailable(TransientError):
    """Raised on 5xx answers, timeouts and transport errors.

    `maybe_processed` is true when the request was sent and the answer lost (a read timeout):
    the upstream may have acted on it.
    """

    code = ErrorCode.UNAVAILABLE

    def __init__(self, message: str, *, maybe_processed: bool = False, **common: Any) -> None:
        super().__init__(message, **common)
        self.maybe_processed = maybe_processed


class RateLimited(TransientError):
    """Raised on 429 throttling."""

    code = ErrorCode.RATE_LIMITED


class CaptchaRejected(TransientError):
    """Raised when the proxy's reCAPTCHA answer was refused (403, unusual activity)."""

    code = ErrorCode.CAPTCHA


class PermanentError(UpstreamError):
    """Not worth retrying: the user must be told."""


class AuthExpired(PermanentError):
    """Raised on 401: the token or key expired or is wrong.

    `credential` is a fingerprint (never the token) of the token that was refused, so a renewal
    can tell whether someone already replaced it.
    """

    code = ErrorCode.AUTH_EXPIRED

    def __init__(self, message: str, *, credential: str | None = None, **common: Any) -> None:
        super().__init__(message, **common)
        self.credential = credential

    def with_credential(self, credential: str | None) -> AuthExpired:
        """The same refusal, naming the refused token by its fingerprint."""
        return AuthExpired(str(self), credential=credential, status=self.status,
                           reason=self.reason, refused_submission=self.refused_submission)


class AccessDenied(PermanentError):
    """Raised on 403 model access denied: the account's tier cannot use this model."""

    code = ErrorCode.ACCESS_DENIED


class QuotaExhausted(PermanentError):
    """Raised on 429 when the quota (daily, per model, per user) is spent."""

    code = ErrorCode.QUOTA


class SafetyBlocked(PermanentError):
    """Raised when safety filters refused the prompt or the image."""

    code = ErrorCode.UNSAFE


class RequestRejected(PermanentError):
    """Raised on other 4xx answers."""

    code = ErrorCode.REJECTED


class BadResponse(PermanentError):
    """Raised when an answer lacks a field we need or is not JSON."""

    code = ErrorCode.BAD_RESPONSE


class GenerationFailed(PermanentError):
    """Raised when the render ended in an ERROR / FAILED status; the message is the reason."""

    code = ErrorCode.GENERATION_FAILED


class TimedOut(PermanentError):
    """Raised by the engine when a submission or a render passes its time cap."""

    code = ErrorCode.TIMEOUT


class Interrupted(PermanentError):
    """A crash hit while a submission was in flight: resubmitting could charge twice."""

    code = ErrorCode.INTERRUPTED


class SubmissionUnclear(PermanentError):
    """A paid submission's answer was lost (a timeout, a dropped connection, a 5xx after it was
    sent): it may have been made, so it is not sent again."""

    code = ErrorCode.UNCLEAR


class ResultLost(PermanentError):
    """Raised when a finished result kept on disk between two steps is gone."""

    code = ErrorCode.LOST


class ResultTooLarge(PermanentError):
    """Raised by a download that passes the size limit; `url` still points at the result."""

    code = ErrorCode.TOO_LARGE

    def __init__(self, message: str, *, url: str, size: int | None = None) -> None:
        super().__init__(message)
        self.url = url
        self.size = size


class ModelRetired(PermanentError):
    """Raised before any upstream call when the configured model is one the upstream retired
    (the model catalog knows when and what replaces it), or when the upstream answers that the
    model is no longer available.

    `detail` (what the engine stores) carries the fields the user's sentence is made from, as
    `model=… kind=… retired=… replacement=… variable=…` (`bot.texts.error_sentence` reads them).
    """

    code = ErrorCode.MODEL_RETIRED

    def __init__(self, message: str, *, model: str, kind: str, variable: str, replacement: str,
                 retired_on: str | None = None, **common: Any) -> None:
        super().__init__(message, **common)
        self.model = model
        self.kind = kind  #: "image" or "video"
        self.variable = variable  #: the setting to change, e.g. GEMINI_VIDEO_MODEL
        self.replacement = replacement
        self.retired_on = retired_on  #: ISO date; None when the upstream did not say

    @property
    def detail(self) -> str:
        fields = {"model": self.model, "kind": self.kind, "retired": self.retired_on,
                  "replacement": self.replacement, "variable": self.variable}
        return " ".join(f"{name}={value}" for name, value in fields.items()
                        if value and " " not in value)


class CaptchaExhausted(PermanentError):
    """Raised when a gateway answers that the captcha failed after its own retries: more tries
    from us only add failed captchas to the account, so the user is told to try later."""

    code = ErrorCode.CAPTCHA_EXHAUSTED


class AccountDisconnected(PermanentError):
    """Raised when the Google account a gateway drives has lost its session (useapi.net's 596)
    or is not connected there: only the operator can reconnect it."""

    code = ErrorCode.ACCOUNT_DISCONNECTED


class SourceExpired(PermanentError):
    """The earlier result an extend or upscale starts from is no longer kept upstream (past its
    retention, or unknown to the account): a new one must be made."""

    code = ErrorCode.SOURCE_EXPIRED


class ProviderUnhealthy(UpstreamUnavailable):
    """The health canary finds the provider failing its checks: a job not yet sent moves to the
    fallback provider instead of trying it (raised by the engine; nothing was sent)."""

    code = ErrorCode.UNHEALTHY


def is_retryable(exc: BaseException) -> bool:
    """The retry rule shared by every upstream call."""
    return isinstance(exc, TransientError)

