"""Which Google models the simulated Gemini API serves where, and the 404s of the others.

Written from upstream-2026.md (sections 1 and 2) and Google's documentation as of November 2026:
each model a path serves is listed here once, retired models answer Google's "no longer
available" 404 on every path, unknown models Google's "not found" 404.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.sim.google import google_error

DEVELOPER_ROOT = "https://generativelanguage.googleapis.com"
#: Express-mode Agent Platform calls name no project; Google fills in the caller's own.
VERTEX_PROJECT = "projects/123456789012/locations/us-central1/"

#: generateContent image models (Developer API and Agent Platform).
IMAGE_MODELS = frozenset({"gemini-3.1-flash-image", "gemini-3-pro-image",
                          "gemini-3.1-flash-lite-image"})
DEFAULT_IMAGE_MODEL = "gemini-3.1-flash-image"


#: Tasks every Omni model takes; `extend` came with 1.1 (its GA added video extension; the
#: first preview had no scene extension), `upscale` with 1.2 (Agent Platform's "Upscale videos"
#: page lists gemini-omni-1.2-flash alone).
BASE_TASKS = frozenset({"text_to_video", "image_to_video", "reference_to_video", "edit"})
EXTENDS = BASE_TASKS | {"extend"}
UPSCALES = EXTENDS | {"upscale"}


@dataclass(frozen=True)
class OmniModel:
    """A Gemini Omni model: the video lengths `response_format.duration` may ask for, and the
    `video_config.task` values it takes."""

    name: str
    min_seconds: float
    max_seconds: float
    max_seconds_with_frames: float  # first + last frame (image_to_video with two images)
    tasks: frozenset[str] = EXTENDS


#: Omni on the Developer API's Interactions API (1.1 GA 2026-08-27; 1.2 November 2026).
DEVELOPER_OMNI = {model.name: model for model in (
    OmniModel("gemini-omni-1.1-flash", 3, 10, 10),
    OmniModel("gemini-omni-1.2-flash", 3, 15, 10, UPSCALES))}
#: Omni on Agent Platform (global-only Interactions endpoint). The preview model is deprecated
#: there but served until 2027-06-30, unlike on the Developer API.
VERTEX_OMNI = {model.name: model for model in (
    OmniModel("gemini-omni-1.2-flash", 3, 15, 10, UPSCALES),
    OmniModel("gemini-omni-1.1-flash-preview", 3, 10, 10),
    OmniModel("gemini-omni-flash-preview", 3, 10, 10, BASE_TASKS))}
DEFAULT_VIDEO_MODEL = "gemini-omni-1.1-flash"

#: Veo 3.1 on Agent Platform (`:predictLongRunning`); lite is a preview there.
VERTEX_VEO = frozenset({"veo-3.1-generate-001", "veo-3.1-fast-generate-001",
                        "veo-3.1-lite-generate-001"})
DEFAULT_VERTEX_VIDEO_MODEL = "veo-3.1-fast-generate-001"

#: Retired everywhere: (prefix, retirement date, replacement).
_RETIRED_PREFIXES = (
    ("veo-2.0-", "2026-06-30", "veo-3.1-generate-001"),
    ("veo-3.0-", "2026-06-30", "veo-3.1-generate-001"),
    ("imagen-", "2026-08-17", "gemini-3.1-flash-image"),
    ("veo-3.1-generate-preview", "2026-10-22", "gemini-omni-1.1-flash"),
    ("veo-3.1-fast-generate-preview", "2026-10-22", "gemini-omni-1.1-flash"),
    ("veo-3.1-lite-generate-preview", "2026-10-22", "gemini-omni-1.1-flash"),
    ("gemini-2.5-flash-image", "2026-10-02", "gemini-3.1-flash-image"),
)
#: Retired on the Developer API only.
_RETIRED_ON_DEVELOPER = (("gemini-omni-flash-preview", "2026-09-30", "gemini-omni-1.1-flash"),)


class ApiError(Exception):
    """A Google error answer: the HTTP status and Google's JSON error body."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(body["error"]["message"])
        self.status = status
        self.body = body

    @classmethod
    def of(cls, status: int, message: str, grpc_status: str | None = None) -> ApiError:
        body = google_error(status, message)
        if grpc_status is not None:
            body["error"]["status"] = grpc_status
        return cls(status, body)


def bare(model: str) -> str:
    """The model id without a `models/` or `publishers/google/models/` prefix."""
    return model.rpartition("/")[2]


def retirement(model: str, *, vertex: bool) -> str | None:
    """The retirement date of a retired model on that API, or None if it is not retired."""
    rules = _RETIRED_PREFIXES if vertex else _RETIRED_PREFIXES + _RETIRED_ON_DEVELOPER
    for prefix, date, _ in rules:
        if model == prefix or (prefix.endswith("-") and model.startswith(prefix)):
            return date
    return None


def developer_missing(model: str, method: str, version: str = "v1beta") -> ApiError:
    """Google's 404 for a retired model, or for one the Developer API does not serve so."""
    if retirement(model, vertex=False) is not None:
        # Google's wording, as quoted in public issue threads (google/adk-docs#1840).
        return ApiError.of(404, f"This model models/{model} is no longer available. Please "
                                "update your code to use a newer model for the latest features "
                                "and improvements.")
    return ApiError.of(404, f"models/{model} is not found for API version {version}, or is not "
                            f"supported for {method}. Call ListModels to see the list of "
                            "available models and their supported methods.")


def vertex_missing(publisher_model: str) -> ApiError:
    """Agent Platform's 404 for a retired, unknown or unavailable publisher model."""
    name = publisher_model if publisher_model.startswith("projects/") else (
        VERTEX_PROJECT + publisher_model)
    return ApiError.of(404, f"Publisher Model `{name}` was not found or your project does not "
                            "have access to it.")
