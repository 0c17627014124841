"""`UseapiProvider`: the provider interface spoken through useapi.net's Google Flow API.

Images: `POST /images` answers synchronously with the picture. Videos: `POST /videos` with
`async: true` answers `{jobid}` (the task id, saved before anything else), polled with
`GET /jobs/{jobid}` on the batching tick; so are an extension (`POST /videos/extend`) and an
upscale (`POST /videos/upscale`) of a finished video, named by its `mediaGenerationId` (the
`media_id` a finished render reports). An image upscale (`POST /images/upscale`) answers
synchronously with the larger picture, kept like a new image.

A job's own `model` (a user's pick) must be a useapi row of the catalog of the job's kind; the
catalog says which models' results may be extended or upscaled.

A user's photo goes up with `POST /assets/{email}`; its `mediaGenerationId` (like a bot image's)
is then a `startImage`, `endImage` or `referenceImage_N` of the same account.

Accounts: with USEAPI_EMAIL every generation and upload names that account. Without it useapi
picks the healthiest account for a generation, and a video from pictures runs on the account
that holds them; an upload must land on one account for all the pictures of a job, so the
provider takes the first healthy account of `GET /accounts` and keeps it for a few minutes.

Handles the engine saves: a video's `task_id` is the jobid, its render `[{"jobid": …}]`, its
`media_id` the finished video's `mediaGenerationId`; an image's `task_id` is its jobid when the
answer names one (so a restart can read the job again), else `image:<mediaGenerationId>` (an
upscale's `image:<source id>@<resolution>`); its `media_id` is the `mediaGenerationId` (an
upscaled image answers none and keeps its source's).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any

from bot.jobs.errors import (
    AccountDisconnected,
    AuthExpired,
    BadResponse,
    QuotaExhausted,
    RequestRejected,
    ResultLost,
    TransientError,
    UpstreamError,
)
from bot.jobs.model import Action, Aspect, ImageRole, JobKind, ProviderName
from bot.jobs.provider import (
    Accepted,
    AccountStatus,
    GenerationRequest,
    RenderState,
    RenderStatus,
)
from bot.providers import catalog
from bot.providers.catalog import Kind, ModelInfo
from bot.providers.useapi import protocol
from bot.providers.useapi.client import UseapiClient

logger = logging.getLogger(__name__)

#: Errors of one job's poll that are the account's, not the job's: they stop the whole batch.
_ACCOUNT_ERRORS = (AuthExpired, AccountDisconnected, QuotaExhausted)
#: How long an account picked for uploads stays picked (all the pictures of a job go up in
#: seconds; a sick account is dropped after this).
ACCOUNT_TTL = 300.0
#: Finished images waiting for `accepted` (normally one tick later).
MAX_KEPT_IMAGES = 256
VIDEO_OPTIONS = frozenset({"seed", "duration"})
IMAGE_OPTIONS = frozenset({"seed"})
#: What an extend or an upscale honours besides its source: an extension a seed (and its one
#: length); an upscale its resolution.
EXTEND_OPTIONS = frozenset({"seed", "duration"})
UPSCALE_OPTIONS = frozenset({"resolution"})


class UseapiProvider:
    """Images and Veo / Omni videos of the operator's own Flow account, through useapi.net."""

    name = ProviderName.USEAPI
    supported_options: frozenset[str]
    image_options: frozenset[str]
    shareable_links = True  # signed links, valid a few hours
    pictures: Mapping[ImageRole, int] = MappingProxyType({ImageRole.FRAMES: 2,
                                                         ImageRole.REFERENCES: 3})
    aspects = frozenset(Aspect)  #: 16:9, 9:16, 1:1, 4:3 and 3:4

    def __init__(self, *, client: UseapiClient, email: str | None, image_model: str,
                 video_model: str, poll_concurrency: int = 8,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._client = client
        self._email = email
        self._image_model = self.image_model = image_model
        self._video_model = self.video_model = video_model
        self._video_info = catalog.lookup("useapi", video_model)
        self._image_info = catalog.lookup("useapi", image_model)
        self.supported_options = self._video_info.options if self._video_info else VIDEO_OPTIONS
        self.image_options = self._image_info.options if self._image_info else IMAGE_OPTIONS
        self._poll_slots = asyncio.Semaphore(poll_concurrency)
        self._images: OrderedDict[str, Accepted] = OrderedDict()
        self._clock = clock
        self._picked: tuple[str, float] | None = None
        self._picking = asyncio.Lock()

    # the Provider protocol

    def offers(self, kind: JobKind, model: str | None) -> frozenset[Action]:
        default = self.video_model if kind.makes_video else self.image_model
        return catalog.offers("useapi", model or default, kind)

    async def upload_image(self, data: bytes, *, mime: str) -> str:
        email = self._email or await self._upload_account()
        answer = await self._client.upload(protocol.asset_path(email), data, mime=mime)
        return protocol.parse_upload(answer)

    async def submit(self, request: GenerationRequest) -> str:
        """One create per job (`UseapiClient.create` never sends it again after an unclear
        failure)."""
        model, info = self._model(request)
        self._refuse_unsupported(request, model, info)
        if request.kind is JobKind.IMAGE:
            body = protocol.image_body(request, model=model, email=self._email)
            return await self._make_image(protocol.IMAGES, body, protocol.parse_image)
        if request.kind is JobKind.IMAGE_UPSCALE:
            body = protocol.image_upscale_body(request)
            return await self._make_image(protocol.IMAGE_UPSCALE, body, _upscaled(body))
        path, body = self._video_call(request, model, info)
        jobid = protocol.parse_jobid(await self._client.create(path, body))
        logger.info("useapi: %s job %s created (%s)", request.kind, jobid, model)
        return jobid

    async def accepted(self, task_id: str, kind: JobKind) -> Accepted | None:
        if kind.makes_video:
            return Accepted(render=[{"jobid": task_id}])
        kept = self._images.pop(task_id, None)
        if kept is not None:
            return kept
        if task_id.startswith(protocol.IMAGE_PREFIX):
            raise ResultLost("the finished image was not kept across a restart")
        record = await self._client.get(protocol.job_path(task_id), missing="job")
        job = protocol.parse_job(record, kind)
        if job.status.state is RenderState.FAILED:
            raise job.status.failure or ResultLost(job.status.error or "the image job failed")
        return job.image

    async def check(self, renders: Sequence[dict[str, Any]]) -> list[RenderStatus]:
        """One `GET /jobs/{jobid}` per render, at most `poll_concurrency` at once (useapi has no
        batch status call)."""
        results = await asyncio.gather(*(self._check_one(entry) for entry in renders),
                                       return_exceptions=True)
        return _settle(results)

    async def download(self, url: str, dest: Path, *, max_bytes: int) -> int:
        return await self._client.download(url, dest, max_bytes=max_bytes)

    async def renew_auth(self, failed: AuthExpired) -> bool:
        """A useapi.net token is not renewed from here: the operator sets USEAPI_TOKEN anew."""
        return False

    async def account_status(self) -> AccountStatus | None:
        """`GET /accounts/{email}` of USEAPI_EMAIL (else of the account uploads go to): its
        health, Flow credits and tier; unhealthy when useapi.net has no healthy account."""
        try:
            email = self._email or await self._upload_account()
        except AccountDisconnected as exc:
            return AccountStatus(health=exc.detail, healthy=False)
        return protocol.parse_account(await self._client.get(protocol.account_path(email)))

    # videos

    def _video_call(self, request: GenerationRequest, model: str,
                    info: ModelInfo | None) -> tuple[str, dict[str, Any]]:
        """The path and body of a video job of any kind."""
        if request.kind is JobKind.EXTEND:
            return protocol.EXTEND, protocol.extend_body(request, model=model)
        if request.kind is JobKind.UPSCALE:
            return protocol.VIDEO_UPSCALE, protocol.video_upscale_body(request)
        return protocol.VIDEOS, protocol.video_body(request, model=model, email=self._email,
                                                    info=info)

    # images

    async def _make_image(self, path: str, body: dict[str, Any],
                          parse: Callable[[Any], Accepted]) -> str:
        """A synchronous image call; the picture is kept in memory until `accepted` takes it."""
        answer = await self._client.create(path, body)
        jobid = (answer.get("jobid") or answer.get("jobId")) if isinstance(answer, dict) else None
        finished = isinstance(answer, dict) and (answer.get("media")
                                                 or answer.get("encodedImage"))
        if not finished and isinstance(jobid, str) and jobid:
            return jobid  # a 408: the image job goes on; `accepted` reads it
        image = parse(answer)
        task_id = jobid if isinstance(jobid, str) and jobid else \
            protocol.IMAGE_PREFIX + _image_key(image, body)
        self._images[task_id] = image
        while len(self._images) > MAX_KEPT_IMAGES:
            self._images.popitem(last=False)
        return task_id

    # polling

    async def _check_one(self, entry: dict[str, Any]) -> RenderStatus:
        jobid = entry.get("jobid")
        if not isinstance(jobid, str) or not jobid:
            return RenderStatus(RenderState.FAILED, error="malformed render entry")
        async with self._poll_slots:
            record = await self._client.get(protocol.job_path(jobid), retry=False,
                                            missing="job")
        return protocol.parse_job(record, JobKind.VIDEO).status

    # accounts and options

    async def _upload_account(self) -> str:
        """The account uploads go to when USEAPI_EMAIL is unset: the first healthy one."""
        async with self._picking:
            now = self._clock()
            if self._picked is not None and now - self._picked[1] < ACCOUNT_TTL:
                return self._picked[0]
            healthy = protocol.healthy_accounts(await self._client.get(protocol.ACCOUNTS))
            if not healthy:
                raise AccountDisconnected("no Google account on useapi.net is healthy: connect "
                                          "one there, or set USEAPI_EMAIL")
            self._picked = (healthy[0], now)
            logger.info("useapi: uploads go to account %s", healthy[0])
            return healthy[0]

    def _model(self, request: GenerationRequest) -> tuple[str, ModelInfo | None]:
        """The job's model and its catalog row. A model the job names must be a useapi row of
        its kind; the configured one may be missing from the catalog (the operator's pick)."""
        kind = Kind.VIDEO if request.kind.makes_video else Kind.IMAGE
        if request.model is None:
            configured = self._video_model if kind is Kind.VIDEO else self._image_model
            return configured, self._video_info if kind is Kind.VIDEO else self._image_info
        info = catalog.lookup("useapi", request.model)
        if info is None or info.retired is not None:
            raise RequestRejected(f"useapi.net has no {kind} model {request.model}")
        if info.kind is not kind:
            raise RequestRejected(f"{request.model} is a{'n' if info.kind is Kind.IMAGE else ''} "
                                  f"{info.kind} model, not a{'n' if kind is Kind.IMAGE else ''} "
                                  f"{kind} model")
        return info.name, info

    def _refuse_unsupported(self, request: GenerationRequest, model: str,
                            info: ModelInfo | None) -> None:
        """A clear refusal for options the model cannot honour, or an action its results do
        not offer, rather than a silent drop or a paid failure."""
        extra = request.options.named() - _honoured(request.kind, info)
        if extra:
            what = request.kind.value.replace("_", " ")
            raise RequestRejected(f"useapi.net cannot honour {', '.join(sorted(extra))} for "
                                  f"a {what} with {model}")
        action = _action(request)
        if action is not None and info is not None and action not in info.actions:
            raise RequestRejected(f"useapi.net cannot {_VERBS[action]} results of {model}")


#: The action a job from an earlier result performs (its model's row must offer it).
_VERBS = {Action.EXTEND: "extend", Action.UPSCALE_1080P: "upscale to 1080p",
          Action.UPSCALE_4K: "upscale to 4K", Action.UPSCALE_2K: "upscale"}


def _action(request: GenerationRequest) -> Action | None:
    if request.kind is JobKind.EXTEND:
        return Action.EXTEND
    if request.kind is JobKind.UPSCALE:
        return Action.UPSCALE_4K if (request.options.resolution or "").lower() == "4k" \
            else Action.UPSCALE_1080P
    return Action.UPSCALE_2K if request.kind is JobKind.IMAGE_UPSCALE else None


def _honoured(kind: JobKind, info: ModelInfo | None) -> frozenset[str]:
    """The options a job of `kind` on the model may carry."""
    if kind in (JobKind.UPSCALE, JobKind.IMAGE_UPSCALE):
        return UPSCALE_OPTIONS
    if kind is JobKind.EXTEND:
        return EXTEND_OPTIONS & (info.options if info else VIDEO_OPTIONS)
    if kind is JobKind.IMAGE:
        return info.options if info else IMAGE_OPTIONS
    return info.options if info else VIDEO_OPTIONS


def _upscaled(body: dict[str, Any]) -> Callable[[Any], Accepted]:
    """How an image upscale's answer is read: it names no id, so the source's stays."""
    source = str(body["mediaGenerationId"])
    return lambda answer: protocol.parse_upscaled_image(answer, media_id=source)


def _image_key(image: Accepted, body: dict[str, Any]) -> str:
    """The task id's tail of a picture the answer named no job for (an upscale keeps its
    source's id, so its resolution tells two upscales of one picture apart)."""
    resolution = body.get("resolution")
    return str(image.media_id) + (f"@{resolution}" if resolution else "")


def _settle(results: Sequence[RenderStatus | BaseException]) -> list[RenderStatus]:
    """Statuses in order. An account-wide or transient error fails the whole poll (the poller
    backs off, or stops every job alike); any other upstream error fails its own job only."""
    errors = [r for r in results if isinstance(r, BaseException)]
    for kinds in (_ACCOUNT_ERRORS, (TransientError,)):
        for error in errors:
            if isinstance(error, kinds):
                raise error
    for error in errors:
        if not isinstance(error, UpstreamError) or isinstance(error, BadResponse):
            raise error
    return [r if isinstance(r, RenderStatus) else
            RenderStatus(RenderState.FAILED, error=str(r), failure=_upstream(r))
            for r in results]


def _upstream(error: BaseException) -> UpstreamError | None:
    return error if isinstance(error, UpstreamError) else None
