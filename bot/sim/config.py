"""Knobs of the simulators: timing, MP4 size, demanded credentials, credits, Omni delivery."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class SimConfig:
    """Read at every request, so tests may change fields while the simulator runs."""

    latency: float = 3.0  # seconds from create-video to SUCCESSFUL; PENDING for the first 20%
    task_polls: int = 1  # task-status calls answered "not done yet" before the result
    image_latency: float = 0.0  # extra seconds before an image task completes
    video_bytes: int = 0  # pad every MP4 to at least this many bytes (0 = natural size)
    proxy_token: str | None = None  # when set, proxy calls need "Authorization: Bearer <it>"
    bearer_token: str | None = None  # when set, the Google bearer (direct or via proxy) must match
    credits: int = 1000  # each video costs 20, images are free
    gemini_api_key: str | None = None  # the Gemini API key demanded (None: any non-empty key)
    # Gemini Omni (Interactions API): an interaction is "queued" for `omni_queued` seconds, then
    # "in_progress" for `latency` seconds. Its video comes inline when it fits `omni_inline_limit`
    # bytes; `omni_delivery` is "asked" (as the request says; inline when it does not say),
    # "inline" (inline whenever it fits, even when uri was asked: Google may) or "uri" (always).
    omni_queued: float = 0.0
    omni_delivery: str = "asked"
    omni_inline_limit: int = 4 * 1024 * 1024
    # How long a generated Gemini file (an Omni video, its Files API entry) is kept: Google keeps
    # them 48 hours. An extend or upscale of an older one answers 404; set it low to expire one.
    gemini_file_seconds: float = 48 * 3600.0
    useapi_token: str | None = None  # the useapi.net token demanded (None: any non-empty token)
    useapi_link_seconds: float = 6 * 3600.0  # how long useapi's signed result links work
    useapi_sync_wait: float = 60.0  # a synchronous useapi call answers 408 past this wait
    # how long useapi (Google Flow) keeps a made or uploaded media for extend, upscale and
    # frames: older mediaGenerationIds answer as unknown ones do (None: kept for ever)
    media_retention: float | None = None
