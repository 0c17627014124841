"""The provider interface: what the engine needs from an upstream, and nothing of how it is done.

Each upstream's package (`bot.providers.<name>`) implements it. Handles a provider returns
(`task_id`, `render`) are opaque to the engine: it saves them and hands them back.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

from bot.jobs.errors import AuthExpired, UpstreamError
from bot.jobs.model import Action, Aspect, ImageRole, JobKind, Options, ProviderName


@dataclass(frozen=True)
class GenerationRequest:
    """What to make. For EXTEND, UPSCALE and IMAGE_UPSCALE `reference_media_id` is the handle
    of the earlier result (the `media_id` the provider gave it) and `options.resolution` the
    target of an upscale; `prompt` is the continuation of an extend."""

    kind: JobKind
    prompt: str
    aspect: Aspect
    reference_media_id: str | None = None
    options: Options = field(default_factory=Options)
    extra_media_ids: tuple[str, ...] = ()  #: the pictures after the first, in album order
    image_role: ImageRole = ImageRole.FRAMES
    model: str | None = None  #: None: the provider's configured model for the kind

    @property
    def media_ids(self) -> tuple[str, ...]:
        """Every picture of the request, first one first."""
        first = (self.reference_media_id,) if self.reference_media_id else ()
        return first + self.extra_media_ids


@dataclass(frozen=True)
class Accepted:
    """The upstream's answer to a submission: a render to poll (video) or a finished image."""

    render: list[dict[str, Any]] | None = None
    media_id: str | None = None
    image_bytes: bytes | None = None
    image_url: str | None = None
    credits: int | None = None


class RenderState(StrEnum):
    PENDING = "pending"
    ACTIVE = "active"
    DONE = "done"
    FAILED = "failed"


@dataclass(frozen=True)
class RenderStatus:
    state: RenderState
    url: str | None = None
    error: str | None = None
    #: the account's credit balance the upstream reported with this status, if any
    credits: int | None = None
    #: FAILED only: the error the job ends with when the provider knows better than
    #: `GenerationFailed(error)` (a safety refusal, a disconnected account), for this job alone
    failure: UpstreamError | None = None
    #: DONE only: the result's handle upstream, for a later extend or upscale of it
    media_id: str | None = None


@dataclass(frozen=True)
class AccountStatus:
    credits: int | None = None
    tier: str | None = None
    #: the upstream's word on the account's health ("OK", or what broke), when it tells
    health: str | None = None
    #: whether generations can run on it; None when the upstream does not tell
    healthy: bool | None = None


class Provider(Protocol):
    """One upstream account. Every method raises only `bot.jobs.errors.UpstreamError`s."""

    name: ProviderName
    #: the names of `Options` fields this provider honours for videos, and for images; the
    #: fronts refuse the others with a sentence
    supported_options: frozenset[str]
    image_options: frozenset[str]
    #: whether a result URL can be handed to a user as it is (signed links: yes; API files: no)
    shareable_links: bool
    #: the most pictures a video takes, per role (a role missing: none); the fronts refuse more
    pictures: Mapping[ImageRole, int]
    #: the aspects it makes (videos and images alike)
    aspects: frozenset[Aspect]
    #: the configured models (what a job without its own `model` uses)
    image_model: str
    video_model: str

    def offers(self, kind: JobKind, model: str | None) -> frozenset[Action]:
        """What can be done with a result of `kind` made with `model` (None: the configured
        one): the buttons under it."""

    async def upload_image(self, data: bytes, *, mime: str) -> str:
        """Upload a user's picture; return its mediaId."""

    async def submit(self, request: GenerationRequest) -> str:
        """Start a generation; return the handle to save at once (costs credits: never retried
        after an ambiguous failure)."""

    async def accepted(self, task_id: str, kind: JobKind) -> Accepted | None:
        """One look at a submission: None while the upstream has not answered yet."""

    async def check(self, renders: Sequence[dict[str, Any]]) -> list[RenderStatus]:
        """Status of many render entries in ONE upstream call, in the order given."""

    async def download(self, url: str, dest: Path, *, max_bytes: int) -> int:
        """Stream a result to `dest`; return its size. Raises ResultTooLarge past `max_bytes`."""

    async def renew_auth(self, failed: AuthExpired) -> bool:
        """Try to get fresh credentials after a 401; True when there are new ones to try."""

    async def account_status(self) -> AccountStatus | None:
        """Credits, tier and health of the account, when the upstream tells."""
