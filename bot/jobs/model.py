"""The job record and its states: what a job is and where it can stand."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class ProviderName(StrEnum):
    """The upstreams a job can run on; stored per job, so a restart resumes it where it began."""

    FLOW = "flow"  #: Google Labs Flow through a captcha proxy (the seed's protocol)
    GEMINI = "gemini"  #: Google's official API (Gemini Developer API or Agent Platform)
    USEAPI = "useapi"  #: the useapi.net gateway driving the operator's own Flow account


class JobKind(StrEnum):
    IMAGE = "image"  #: text → image (its mediaId is remembered for /animate)
    VIDEO = "video"  #: text → video
    ANIMATE = "animate"  #: image (mediaId, or a photo to upload first) → video
    #: a finished video (its handle in `reference_media_id`) → a clip that continues it
    EXTEND = "extend"
    #: a finished video → the same video at `options.resolution`
    UPSCALE = "upscale"
    #: a finished image → the same image at `options.resolution` ("2k", "4k")
    IMAGE_UPSCALE = "image_upscale"

    @property
    def makes_video(self) -> bool:
        return self not in (JobKind.IMAGE, JobKind.IMAGE_UPSCALE)

    @property
    def from_result(self) -> bool:
        """Made from an earlier result of the same provider (its handle), not from a prompt."""
        return self in (JobKind.EXTEND, JobKind.UPSCALE, JobKind.IMAGE_UPSCALE)


class Action(StrEnum):
    """What can be done with a delivered result (a button under it); the catalog says which
    provider and model offer which."""

    AGAIN = "again"  #: the same prompt and options, a new seed
    EXTEND = "extend"  #: a video: a new clip that continues it
    UPSCALE_1080P = "1080p"  #: a video at 1080p
    UPSCALE_4K = "4k"  #: a video at 4K
    UPSCALE_2K = "2k"  #: an image at 2K

    @property
    def kind(self) -> JobKind | None:
        """The kind of job it makes from a result; None: the result's own kind (again)."""
        if self is Action.AGAIN:
            return None
        if self is Action.EXTEND:
            return JobKind.EXTEND
        return JobKind.IMAGE_UPSCALE if self is Action.UPSCALE_2K else JobKind.UPSCALE


class Aspect(StrEnum):
    LANDSCAPE = "landscape"  #: 16:9
    PORTRAIT = "portrait"  #: 9:16
    SQUARE = "square"  #: 1:1
    CLASSIC = "classic"  #: 4:3
    CLASSIC_PORTRAIT = "classic_portrait"  #: 3:4

    @property
    def ratio(self) -> str:
        return _RATIOS[self]

    @classmethod
    def from_ratio(cls, ratio: str) -> Aspect | None:
        return next((aspect for aspect, known in _RATIOS.items() if known == ratio), None)


_RATIOS = {Aspect.LANDSCAPE: "16:9", Aspect.PORTRAIT: "9:16", Aspect.SQUARE: "1:1",
           Aspect.CLASSIC: "4:3", Aspect.CLASSIC_PORTRAIT: "3:4"}
#: What every provider makes
COMMON_ASPECTS = frozenset({Aspect.LANDSCAPE, Aspect.PORTRAIT})


class ImageRole(StrEnum):
    """What a video job's pictures are for."""

    FRAMES = "frames"  #: the first picture starts the video; a second one ends it
    REFERENCES = "references"  #: the pictures show subjects or a style the video uses


class JobState(StrEnum):
    QUEUED = "queued"  #: stored, waiting for a slot; nothing sent upstream yet
    SUBMITTING = "submitting"  #: the submission is in flight; found here after a crash = ambiguous
    SUBMITTED = "submitted"  #: the upstream accepted it; `task_id` saved
    RENDERING = "rendering"  #: the render handle (`render`) saved; polled in batches
    DOWNLOADED = "downloaded"  #: the result is on disk (`file_path`), waiting for delivery
    DELIVERED = "delivered"  #: the user has it
    FAILED = "failed"  #: ended with `error_code` / `error_detail`
    CANCELLED = "cancelled"  #: the owner cancelled it
    #: paused until the operator fixes the account: a 401 (`error_code` auth_expired) until the
    #: token is renewed, or a gateway's broken Google session (account_disconnected) until the
    #: account is healthy again
    WAITING_FOR_TOKEN = "waiting_for_token"

    @property
    def terminal(self) -> bool:
        return self in _TERMINAL

    @property
    def active(self) -> bool:
        """A job that a runner task should be driving."""
        return not self.terminal and self is not JobState.WAITING_FOR_TOKEN


_TERMINAL = frozenset({JobState.DELIVERED, JobState.FAILED, JobState.CANCELLED})


class Phase(StrEnum):
    """What the user sees on the progress message."""

    QUEUED = "queued"
    SUBMITTING = "submitting"
    RENDERING = "rendering"
    UPLOADING = "uploading"
    DONE = "done"


@dataclass(frozen=True)
class Options:
    """What a Veo user may ask for beyond the prompt and aspect; providers support a subset."""

    negative_prompt: str | None = None
    seed: int | None = None
    resolution: str | None = None  #: "720p", "1080p", "4k" (an image upscale: "2k", "4k")
    duration: int | None = None  #: seconds

    def named(self) -> frozenset[str]:
        """The names of the options that are set."""
        return frozenset(name for name, value in self.as_dict().items() if value is not None)

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Options:
        fields = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in (data or {}).items() if k in fields})


@dataclass(frozen=True)
class ExtraImage:
    """A picture after a job's first one (album order): the upstream's handle once it has one,
    else the user's photo file still to upload."""

    media_id: str | None = None
    source_path: str | None = None


@dataclass(frozen=True)
class NewJob:
    """What a front (Telegram, the terminal) asks the engine to make."""

    user_id: int
    chat_id: int
    kind: JobKind
    prompt: str
    aspect: Aspect = Aspect.LANDSCAPE
    reference_media_id: str | None = None
    source_path: str | None = None  #: a user's own photo, uploaded to get a mediaId first
    reply_to_message_id: int | None = None
    language: str = "en"
    account: str = "default"
    provider: ProviderName = ProviderName.FLOW
    options: Options = Options()
    extra_images: tuple[ExtraImage, ...] = ()
    image_role: ImageRole = ImageRole.FRAMES
    #: the chat update that asked for it: a job is stored once per update, so replaying an
    #: update after a crash finds its job instead of making a second one
    update_id: int | None = None
    #: the model to use; None: the provider's configured one
    model: str | None = None
    #: the job whose result this one was made from (a button under that result)
    parent_id: int | None = None
    #: which button made it (e.g. "again", "4k"): one unfinished job per parent and origin,
    #: so a double tap makes one job
    origin: str | None = None


@dataclass(frozen=True)
class Job:
    """One row of the jobs table."""

    id: int
    user_id: int
    chat_id: int
    kind: JobKind
    prompt: str
    aspect: Aspect
    state: JobState
    created_at: float
    updated_at: float
    reference_media_id: str | None = None
    source_path: str | None = None
    reply_to_message_id: int | None = None
    language: str = "en"
    account: str = "default"
    provider: ProviderName = ProviderName.FLOW
    task_id: str | None = None
    render: list[dict[str, Any]] | None = None
    media_id: str | None = None
    result_url: str | None = None
    file_path: str | None = None
    progress_message_id: int | None = None
    render_started_at: float | None = None
    finished_at: float | None = None
    error_code: str | None = None
    error_detail: str | None = None
    options: Options = Options()
    extra_images: tuple[ExtraImage, ...] = ()
    image_role: ImageRole = ImageRole.FRAMES
    update_id: int | None = None
    #: the job ended (or paused) and its owner has not been told yet: set in the same write as
    #: that state, cleared once the front confirms the word went out (see `JobRunner`)
    word_owed: bool = False
    #: how many times the result was handed to the front; above 1, the owner may have it already
    delivery_attempts: int = 0
    #: the account's credits left, as the upstream reported them with the finished render
    remaining_credits: int | None = None
    #: the provider the job began on, when it moved to the fallback (`provider`) after that one
    #: refused it before anything could be charged; None: it never moved
    first_provider: ProviderName | None = None
    model: str | None = None
    parent_id: int | None = None
    origin: str | None = None

    @property
    def makes_video(self) -> bool:
        return self.kind.makes_video

    def replace(self, **changes: Any) -> Job:
        return dataclasses.replace(self, **changes)
