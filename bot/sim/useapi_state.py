"""The useapi.net simulator's memory and rules: connected accounts, pictures and videos per
account, jobs and their progress, prices, and the checks of the POST /images, /videos,
/videos/extend, /videos/upscale and /images/upscale bodies.

Written from upstream-2026.md section 3 and useapi.net's "Google Flow API v1" pages (models,
aspect ratios, durations, references, credits per generation; "Extend Videos", "Upscale Videos",
"Upscale Images") and the examples of github.com/useapi/google-flow-api; no HTTP here.
"""

from __future__ import annotations

import math
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

ULTRA = "PAYGATE_TIER_TWO"
PRO = "PAYGATE_TIER_ONE"
DEFAULT_EMAIL = "sim.flow@example.com"
USER_ID = 12345  #: the useapi.net user the token belongs to (it shows in ids)

VEO_MODELS = frozenset({"veo-3.1-fast", "veo-3.1-lite", "veo-3.1-lite-low-priority",
                        "veo-3.1-quality"})
OMNI_MODELS = frozenset({"omni-flash", "omni-flash-1.2"})
VIDEO_MODELS = VEO_MODELS | OMNI_MODELS
IMAGE_MODELS = frozenset({"imagen-4", "nano-banana", "nano-banana-2", "nano-banana-2-lite",
                          "nano-banana-pro"})
VEO_ASPECTS = ("landscape", "portrait", "1:1", "4:3", "3:4")
OMNI_ASPECTS = ("landscape", "portrait")
IMAGE_ASPECTS = ("16:9", "4:3", "1:1", "3:4", "9:16")
VIDEO_SIZES = {"landscape": (320, 180), "portrait": (180, 320), "1:1": (240, 240),
               "4:3": (240, 180), "3:4": (180, 240)}
IMAGE_SIZES = {"16:9": (320, 180), "4:3": (240, 180), "1:1": (180, 180), "3:4": (180, 240),
               "9:16": (180, 320)}
UPLOAD_TYPES = {"image/png": b"\x89PNG", "image/jpeg": b"\xff\xd8", "image/webp": b"RIFF"}
MAX_UPLOAD = 20 * 1024 * 1024
VIDEO_KEYS = frozenset({"prompt", "model", "aspectRatio", "duration", "count", "seed", "email",
                        "startImage", "endImage", "async", "replyUrl", "replyRef",
                        *(f"referenceImage_{n}" for n in range(1, 8))})
IMAGE_KEYS = frozenset({"prompt", "model", "aspectRatio", "count", "seed", "email", "replyUrl",
                        "replyRef", *(f"reference_{n}" for n in range(1, 11))})
#: The captcha parameters every captcha-solving call takes; at most one of them per request.
CAPTCHA_KEYS = frozenset({"captchaToken", "captchaRetry", "captchaOrder"})
#: POST /videos/extend: the source, the continuation prompt and the model (Veo only).
EXTEND_KEYS = frozenset({"mediaGenerationId", "prompt", "model", "count", "seed", "async",
                         "replyUrl", "replyRef"}) | CAPTCHA_KEYS
EXTEND_MODELS = VEO_MODELS  #: "omni-flash videos cannot be extended"
EXTEND_SECONDS = 8  #: "an additional 8-second segment"
#: POST /videos/upscale: "Supported values: 1080p, 4K" (default 1080p); 4K costs 50 credits
VIDEO_UPSCALE_KEYS = frozenset({"mediaGenerationId", "resolution", "async", "replyUrl",
                                "replyRef"}) | CAPTCHA_KEYS
VIDEO_RESOLUTIONS = ("1080p", "4K")
UPSCALE_4K_CREDITS = 50
#: POST /images/upscale: "Supported values: 2k, 4k" (default 2k); synchronous, no credits
IMAGE_UPSCALE_KEYS = frozenset({"mediaGenerationId", "resolution"}) | CAPTCHA_KEYS
IMAGE_RESOLUTIONS = ("2k", "4k")
#: "imagen-4 and legacy nano-banana alias images cannot be upscaled"; the three Nano Banana
#: models can (the nano-banana-compare example: "All three models accept … 2K/4K upscaling")
UPSCALABLE_IMAGE_MODELS = frozenset({"nano-banana-2-lite", "nano-banana-2", "nano-banana-pro"})
#: How much larger an upscale is than the simulator's small originals (kept cheap to encode).
VIDEO_SCALE = {"1080p": 1.5, "4K": 2.0}
IMAGE_SCALE = {"2k": 2, "4k": 3}
UNSAFE_REASON = "PUBLIC_ERROR_UNSAFE_GENERATION"
ERROR_INFO = "type.googleapis.com/google.rpc.ErrorInfo"


class Refused(Exception):
    """The request is answered with this status and useapi's `{"error": …}` body."""

    def __init__(self, status: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.extra = extra


@dataclass
class Account:
    email: str
    health: str = "OK"  #: "OK", or the error that broke the account's Google session
    tier: str = ULTRA
    credits: int = 1000
    created: str = field(default_factory=lambda: iso(time.time()))


@dataclass(frozen=True)
class Picture:
    """An uploaded or generated image, owned by one account."""

    account: str
    data: bytes
    mime: str
    width: int
    height: int
    model: str | None = None  #: the model that made it; None: an upload
    made: float = field(default_factory=time.monotonic)


@dataclass(frozen=True)
class Video:
    """A finished video an account holds: what an extend or an upscale starts from."""

    account: str
    jobid: str  #: the job that made it (its MP4 is that job's)
    model: str
    aspect: str
    made: float  #: time.monotonic() when it completed


@dataclass
class Job:
    jobid: str
    kind: str  #: "video" or "image"
    account: str
    request: dict[str, Any]
    started: float  #: time.monotonic() at creation
    created: str  #: ISO 8601
    cost: int = 0
    source: str | None = None  #: the first picture's mediaGenerationId, for the video's look
    latency: float | None = None  #: its own duration (images); None: the SimConfig latency
    final: str | None = None  #: "completed" or "failed", latched
    response: dict[str, Any] | None = None
    failure: dict[str, Any] | None = None
    updated: str | None = None
    fetched: float | None = None  #: time.monotonic() when its MP4 was first served
    action: str | None = None  #: "extend" or "upscale"; None: a generation
    parent: str | None = None  #: the source video's mediaGenerationId (extend, upscale)
    model: str = "veo-3.1-fast"  #: the model its video counts as made with
    aspect: str = "landscape"
    resolution: str | None = None  #: an upscale's target
    reuse: str | None = None  #: an upscale answered from the cache: that video's id

    @property
    def prompt(self) -> str:
        return str(self.request.get("prompt", ""))

    def status(self, latency: float, now: float) -> str:
        """`created` for the first 20% of the latency, `started` until it has elapsed."""
        if self.final is not None:
            return self.final
        latency = self.latency if self.latency is not None else latency
        progress = (now - self.started) / latency if latency > 0 else math.inf
        if progress < 0.2:
            return "created"
        if progress < 1 or "FORCE_STUCK" in self.prompt:
            return "started"
        return "finishing"

    def record(self, status: str) -> dict[str, Any]:
        """The job as GET /jobs/{jobid} shows it."""
        body: dict[str, Any] = {"jobid": self.jobid, "type": self.kind, "email": self.account,
                                "status": status, "created": self.created,
                                "request": self.request}
        if self.updated:
            body["updated"] = self.updated
        if status == "completed" and self.response is not None:
            body["response"] = self.response
        if status == "failed" and self.failure is not None:
            body.update(self.failure)
        return body


def iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="milliseconds").replace(
        "+00:00", "Z")


def media_id(account: str, kind: str) -> str:
    """Ids shaped like the docs' `user:12345-email:…-image:…`: they name their account."""
    return f"user:{USER_ID}-email:{account}-{kind}:{secrets.token_hex(12)}"


def video_cost(model: str, duration: int, tier: str) -> int:
    """Credits per generation (useapi.net's POST /videos page, from Google Flow's prices)."""
    ultra = tier == ULTRA
    if model in OMNI_MODELS:
        return {4: 15, 6: 20, 8: 25, 10: 30}.get(duration, 25)
    return {"veo-3.1-fast": 10 if ultra else 20, "veo-3.1-lite": 5 if ultra else 10,
            "veo-3.1-lite-low-priority": 0, "veo-3.1-quality": 100}[model]


def safety_failure(what: str) -> dict[str, Any]:
    """A failed job's fields when Google's filters refused it (not charged)."""
    google = {"code": 400, "message": f"The {what} was blocked by Google's content policy.",
              "status": "INVALID_ARGUMENT",
              "details": [{"@type": ERROR_INFO, "reason": UNSAFE_REASON}]}
    return {"error": f"Google refused the {what}: content moderation ({UNSAFE_REASON})",
            "errorDetails": UNSAFE_REASON, "code": 400, "response": {"error": google}}


def generation_failure() -> dict[str, Any]:
    google = {"code": 13, "message": "Video generation failed: internal error (simulated)",
              "status": "INTERNAL"}
    return {"error": "Video generation failed", "errorDetails": google["message"], "code": 500,
            "response": {"error": google}}


@dataclass(frozen=True)
class VideoAsk:
    """A checked POST /videos body."""

    prompt: str
    model: str
    aspect: str
    duration: int
    pictures: tuple[str, ...]
    email: str | None
    is_async: bool


@dataclass(frozen=True)
class ExtendAsk:
    """A checked POST /videos/extend body."""

    media: str
    prompt: str
    model: str
    is_async: bool


@dataclass(frozen=True)
class UpscaleAsk:
    """A checked POST /videos/upscale or POST /images/upscale body."""

    media: str
    resolution: str
    is_async: bool = False


@dataclass(frozen=True)
class ImageAsk:
    prompt: str
    model: str
    aspect: str
    count: int
    email: str | None


def check_video(body: Any) -> VideoAsk:
    """POST /videos against the docs; `Refused(400, …)` names the offending field."""
    body = _object(body, VIDEO_KEYS)
    prompt = _prompt(body)
    model = _choice(body, "model", "veo-3.1-fast", VIDEO_MODELS)
    omni = model in OMNI_MODELS
    aspect = _choice(body, "aspectRatio", "landscape", OMNI_ASPECTS if omni else VEO_ASPECTS)
    durations = ((4, 6, 8, 10) if omni else (8,) if model == "veo-3.1-quality" else (4, 6, 8))
    duration = body.get("duration", 8)
    if type(duration) is not int or duration not in durations:
        raise Refused(400, f"duration must be one of {', '.join(map(str, durations))} for "
                           f"{model}")
    _count_and_seed(body)
    is_async = _async(body)
    start, end = body.get("startImage"), body.get("endImage")
    references = [body[f"referenceImage_{n}"] for n in range(1, 8) if f"referenceImage_{n}" in body]
    for name in ("startImage", "endImage"):
        if name in body and not _id(body[name]):
            raise Refused(400, f"{name} must be a mediaGenerationId")
    if any(not _id(ref) for ref in references):
        raise Refused(400, "referenceImage_N must be a mediaGenerationId")
    if end is not None and start is None:
        raise Refused(400, "endImage requires startImage")
    if references and start is not None:
        raise Refused(400, "referenceImage_N cannot be combined with startImage / endImage")
    if omni and end is not None:
        raise Refused(400, f"{model} supports a start frame only (no endImage)")
    most = 7 if omni else 3
    if len(references) > most:
        raise Refused(400, f"{model} takes at most {most} reference images")
    pictures = tuple(str(p) for p in ([start, end] if start else references) if p)
    return VideoAsk(prompt, model, aspect, duration, pictures, _email(body), is_async)


def check_image(body: Any) -> ImageAsk:
    body = _object(body, IMAGE_KEYS)
    prompt = _prompt(body)
    model = _choice(body, "model", "imagen-4", IMAGE_MODELS)
    aspect = _choice(body, "aspectRatio", "16:9", IMAGE_ASPECTS)
    count = _count_and_seed(body)
    if any(key.startswith("reference_") for key in body):
        raise Refused(400, "reference_N images are not served by this simulator")
    return ImageAsk(prompt, model, aspect, count, _email(body))


def check_extend(body: Any) -> ExtendAsk:
    """POST /videos/extend: `mediaGenerationId` and `prompt` required; a Veo `model`."""
    body = _object(body, EXTEND_KEYS)
    media = _media(body)
    prompt = _prompt(body)
    model = _choice(body, "model", "veo-3.1-fast", EXTEND_MODELS)
    _count_and_seed(body)
    _captcha(body)
    return ExtendAsk(media, prompt, model, _async(body))


def check_video_upscale(body: Any) -> UpscaleAsk:
    """POST /videos/upscale: `mediaGenerationId` required, `resolution` 1080p (default) or 4K."""
    body = _object(body, VIDEO_UPSCALE_KEYS)
    media = _media(body)
    resolution = _choice(body, "resolution", VIDEO_RESOLUTIONS[0], VIDEO_RESOLUTIONS)
    _captcha(body)
    return UpscaleAsk(media, resolution, _async(body))


def check_image_upscale(body: Any) -> UpscaleAsk:
    """POST /images/upscale: `mediaGenerationId` required, `resolution` 2k (default) or 4k."""
    body = _object(body, IMAGE_UPSCALE_KEYS)
    media = _media(body)
    resolution = _choice(body, "resolution", IMAGE_RESOLUTIONS[0], IMAGE_RESOLUTIONS)
    _captcha(body)
    return UpscaleAsk(media, resolution)


def check_upload(mime: str, data: bytes) -> None:
    if mime not in UPLOAD_TYPES:
        raise Refused(400, f"Content-Type {mime or '(none)'} is not supported: use "
                           f"{', '.join(UPLOAD_TYPES)}")
    if len(data) > MAX_UPLOAD:
        raise Refused(400, "the file is larger than 20 MB")
    if not data.startswith(UPLOAD_TYPES[mime]):
        raise Refused(400, f"the body is not a {mime} file")


def _object(body: Any, allowed: frozenset[str]) -> dict[str, Any]:
    """A JSON object of documented parameters only (a typo in the bot shows as a clear 400)."""
    if not isinstance(body, dict):
        raise Refused(400, "the body must be a JSON object")
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise Refused(400, f"unknown parameter {unknown[0]}")
    return body


def _prompt(body: dict[str, Any]) -> str:
    prompt = body.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise Refused(400, "prompt is required")
    return prompt


def _choice(body: dict[str, Any], key: str, default: str, allowed: Any) -> str:
    value = body.get(key, default)
    if value not in allowed:
        raise Refused(400, f"{key} {value!r} is not supported; use one of "
                           f"{', '.join(sorted(allowed))}")
    return str(value)


def _count_and_seed(body: dict[str, Any]) -> int:
    count = body.get("count", 1)
    if type(count) is not int or not 1 <= count <= 4:
        raise Refused(400, "count must be 1 to 4")
    seed = body.get("seed")
    if seed is not None and (type(seed) is not int or seed < 0):
        raise Refused(400, "seed must be a non-negative integer")
    return count


def _email(body: dict[str, Any]) -> str | None:
    email = body.get("email")
    if email is not None and (not isinstance(email, str) or "@" not in email):
        raise Refused(400, "email must be the address of a configured account")
    return email


def _media(body: dict[str, Any]) -> str:
    media = body.get("mediaGenerationId")
    if not _id(media):
        raise Refused(400, "mediaGenerationId is required")  # the docs' own words
    return str(media)


def _async(body: dict[str, Any]) -> bool:
    is_async = body.get("async", False)
    if not isinstance(is_async, bool):
        raise Refused(400, "async must be a boolean")
    return is_async


def _captcha(body: dict[str, Any]) -> None:
    given = sorted(CAPTCHA_KEYS & set(body))
    if len(given) > 1:
        raise Refused(400, f"{' and '.join(given)} are mutually exclusive")


def _id(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())
