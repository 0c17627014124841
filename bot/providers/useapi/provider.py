"""`UseapiProvider`: the provider interface spoken through useapi.net's Google Flow API.

Images: `POST /images` answers synchronously with the picture. Videos: `POST /videos` with
`async: true` answers `{jobid}` (the task id, saved before anything else), polled with
`GET /jobs/{jobid}` on the batching tick. A user's photo goes up with `POST /assets/{email}`;
its `mediaGenerationId` (like a bot image's) is then a `startImage`, `endImage` or
`referenceImage_N` of the same account.

Accounts: with USEAPI_EMAIL every generation and upload names that account. Without it useapi
picks the healthiest account for a generation, and a video from pictures runs on the account
that holds them; an upload must land on one account for all the pictures of a job, so the
provider takes the first healthy account of `GET /accounts` and keeps it for a few minutes.

Handles the engine saves: a video's `task_id` is the jobid, its render `[{"jobid": …}]`; an
image's `task_id` is its jobid when the answer names one (so a restart can read the job again),
else `image:<mediaGenerationId>`; its `media_id` is the `mediaGenerationId`.
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
        image_info = catalog.lookup("useapi", image_model)
        self.supported_options = self._video_info.options if self._video_info else VIDEO_OPTIONS
        self.image_options = image_info.options if image_info else IMAGE_OPTIONS
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
        self._refuse_unsupported(request)
        if request.kind is JobKind.IMAGE:
            return await self._make_image(request)
        model = request.model or self._video_model  # a user's /settings pick, else ours
        body = protocol.video_body(request, model=model, email=self._email,
                                   info=catalog.lookup("useapi", model))
        answer = await self._client.create(protocol.VIDEOS, body)
        jobid = protocol.parse_jobid(answer)
        logger.info("useapi: video job %s created (%s)", jobid, model)
        return jobid

    async def accepted(self, task_id: str, kind: JobKind) -> Accepted | None:
        if kind is not JobKind.IMAGE:
            return Accepted(render=[{"jobid": task_id}])
        kept = self._images.pop(task_id, None)
        if kept is not None:
            return kept
        if task_id.startswith(protocol.IMAGE_PREFIX):
            raise ResultLost("the finished image was not kept across a restart")
        record = await self._client.get(protocol.job_path(task_id), missing="job")
        job = protocol.parse_job(record, JobKind.IMAGE)
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

    # images

    async def _make_image(self, request: GenerationRequest) -> str:
        body = protocol.image_body(request, model=self._image_model, email=self._email)
        answer = await self._client.create(protocol.IMAGES, body)
        jobid = (answer.get("jobid") or answer.get("jobId")) if isinstance(answer, dict) else None
        if isinstance(answer, dict) and not answer.get("media") and isinstance(jobid, str):
            return jobid  # a 408: the image job goes on; `accepted` reads it
        image = protocol.parse_image(answer)
        task_id = jobid if isinstance(jobid, str) and jobid else \
            protocol.IMAGE_PREFIX + str(image.media_id)
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

    def _refuse_unsupported(self, request: GenerationRequest) -> None:
        """A clear refusal for options the model cannot honour, rather than a silent drop."""
        image = request.kind is JobKind.IMAGE
        extra = request.options.named() - (self.image_options if image
                                           else self.supported_options)
        if extra:
            what = "images" if image else "videos"
            raise RequestRejected(f"useapi.net cannot honour {', '.join(sorted(extra))} for "
                                  f"{what} with this model")


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
