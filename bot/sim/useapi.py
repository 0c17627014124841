"""UseapiSim: useapi.net's Google Flow API (v1) for the simulator, under `/v1/google-flow`.

Written from upstream-2026.md section 3, useapi.net's "Google Flow API v1" pages and the examples
of github.com/useapi/google-flow-api, never from the bot's client. It serves:

- `GET /accounts` (a map of email → summary with `health`), `GET /accounts/{email}` (adds
  `credits {credits, userPaygateTier}` and the models the plan may use);
- `POST /images`, synchronous: `{jobid, media[].image.generatedImage{fifeUrl, mediaGenerationId}}`,
  or 408 with the `jobid` when the wait passes `useapi_sync_wait` (the job goes on);
- `POST /videos`: with `async: true` 201 `{jobid, status: "created"}`; without it the answer
  waits for the job (408 past `useapi_sync_wait`);
- `GET /jobs/{jobid}` (the id URL-encoded): `created` → `started` → `completed` (with
  `response.media[].videoUrl`, `mediaGenerationId`, `remainingCredits`) or `failed` (`error`,
  `errorDetails`, `code`, Google's `response.error`), over the SimConfig latency;
- `POST /videos/extend` ("Extend Videos"): `{mediaGenerationId, prompt, model?, count?, seed?,
  async?}`; an 8-second Veo continuation of a Veo video (an `omni-flash` one cannot be
  extended), charged as a generation of `model`, in the source's aspect; a job like /videos';
- `POST /videos/upscale` ("Upscale Videos"): `{mediaGenerationId, resolution: "1080p" | "4K",
  async?}`; 1080p free, 4K 50 credits on Ultra only; the same video and resolution again answers
  the cached result without charging; synchronous answers are `{jobId, operations[], media[]}`;
- `POST /images/upscale` ("Upscale Images"): `{mediaGenerationId, resolution: "2k" | "4k"}`,
  synchronous, answers `{encodedImage}` (the same picture, larger) for Nano Banana images;
- `POST /assets` and `POST /assets/{email}`: raw PNG / JPEG / WebP bytes →
  `mediaGenerationId.mediaGenerationId`, owned by that account;
- signed result links (`/useapi-files/…?Expires=…&Signature=…`, outside the API and without its
  token): past `useapi_link_seconds` they answer 403, as Google's signed links do; a request
  that also carries an `Authorization` header is refused (400), as signed storage links are.

Assumptions where those pages are silent (the Flow docs were read from their request and
response sections):
- a mediaGenerationId the account does not hold, or one older than `media_retention`, answers
  400 `{"error": "mediaGenerationId … was not found …"}`: the docs document 400 for "missing or
  invalid mediaGenerationId" and reserve 404 for an account that is not connected;
- 4K on a plan without it answers 403 `MODEL_ACCESS_DENIED`, as a model the plan may not use;
- an upscaled or extended video can itself be extended and upscaled (the extend page says so for
  extended videos; the upscale page says "a previously generated video");
- an image upscale answers no new mediaGenerationId (the documented answer has none), and
  uploads cannot be upscaled ("a previously generated image via POST /images");
- job records of extends and upscales have `type: "video"` and the same `response` as /videos.

Status codes: 400 a bad parameter (or a refusal: FORCE_UNSAFE), 401 a missing or wrong token
(`{"error": "Unauthorized"}`), 402 not enough credits, 403 a model or duration the plan may not
use (`MODEL_ACCESS_DENIED`), 404 an unknown account or job, 596 an account whose `health` is
not OK (its Google session broke). Prompt markers (of videos, images and extensions):
FORCE_FAIL, FORCE_UNSAFE, FORCE_STUCK. Other answers (429 with `retryAfter`, 503, …) come from
`FlowSimulator.inject`, by path (`…/videos` also matches `…/videos/extend` and `…/upscale`).
Its `routes()` are mounted in `FlowSimulator`'s application, so the request log covers these
paths too.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from bot.sim.config import SimConfig
from bot.sim.loopback import Route, RouteSpec, stream
from bot.sim.media import (
    Mp4Cache,
    decode_image,
    encode_png,
    gradient_rgb,
    image_size,
    make_mp4,
    make_png,
    padded_chunks,
    padded_size,
)
from bot.sim.useapi_state import (
    DEFAULT_EMAIL,
    EXTEND_SECONDS,
    IMAGE_SCALE,
    IMAGE_SIZES,
    OMNI_MODELS,
    PRO,
    ULTRA,
    UPSCALABLE_IMAGE_MODELS,
    UPSCALE_4K_CREDITS,
    VIDEO_SCALE,
    VIDEO_SIZES,
    Account,
    ImageAsk,
    Job,
    Picture,
    Refused,
    Video,
    check_extend,
    check_image,
    check_image_upscale,
    check_upload,
    check_video,
    check_video_upscale,
    generation_failure,
    iso,
    media_id,
    safety_failure,
    video_cost,
)

PREFIX = "/v1/google-flow"
FILES = "/useapi-files/"
_MESSAGES = {400: "Bad request", 401: "Unauthorized",
             402: "No active subscription or not enough credits",
             403: "Captcha verification failed after several attempts",
             404: "Not found", 408: "Timed out waiting for the job; it continues",
             429: "Too many requests: retry later", 500: "Internal server error",
             503: "Google or the captcha service is unavailable for a while",
             596: "The Google account's session has expired: reconnect the account"}


def useapi_error(status: int, message: str | None = None, *, retry_after: float | None = None,
                 **extra: Any) -> dict[str, Any]:
    """useapi.net's error body: `{"error": …}` (plus `code`, and `retryAfter` for a 429)."""
    body: dict[str, Any] = {"error": message or _MESSAGES.get(status, "Error"), "code": status}
    if retry_after is not None:
        body["retryAfter"] = retry_after
    body.update(extra)
    return body


def _fail(status: int, message: str | None = None, **extra: Any) -> web.Response:
    return web.json_response(useapi_error(status, message, **extra), status=status)


@dataclass(frozen=True)
class _File:
    kind: str  #: "video" or "image"
    key: str  #: the jobid of a video, the mediaGenerationId of an image


class UseapiSim:
    """The API; `token` None accepts any non-empty token. Accounts start with one Ultra account
    (`DEFAULT_EMAIL`); tests add more, break one (`disconnect`) and mend it (`reconnect`), or
    change credits."""

    def __init__(self, config: SimConfig) -> None:
        self.config = config
        self.accounts: dict[str, Account] = {DEFAULT_EMAIL: Account(DEFAULT_EMAIL)}
        self.pictures: dict[str, Picture] = {}
        self.jobs: dict[str, Job] = {}
        self.videos: dict[str, Video] = {}  #: finished videos by mediaGenerationId
        #: (source mediaGenerationId, resolution) → the upscaled video's id, for the cache
        self.upscaled: dict[tuple[str, str], str] = {}
        self.job_paths: list[str] = []  #: raw paths of every GET /jobs/…, as sent
        self._files: dict[str, _File] = {}
        self._secret = secrets.token_bytes(16)
        self._videos = Mp4Cache()
        self._last_ms = 0

    # test helpers

    def add_account(self, email: str, *, tier: str = ULTRA, credits: int = 1000,
                    health: str = "OK") -> Account:
        account = Account(email, health=health, tier=tier, credits=credits)
        self.accounts[email] = account
        return account

    def disconnect(self, email: str = DEFAULT_EMAIL) -> None:
        """The account's Google session breaks: its generations answer 596."""
        self.accounts[email].health = "Session expired: reconnect the account"

    def reconnect(self, email: str = DEFAULT_EMAIL) -> None:
        """The operator reconnected the account on useapi.net: its health is OK again."""
        self.accounts[email].health = "OK"

    def make_pro(self, email: str = DEFAULT_EMAIL) -> None:
        self.accounts[email].tier = PRO

    # routes

    def routes(self) -> list[RouteSpec]:
        return [("GET", f"{PREFIX}/accounts", self._guarded(self._accounts)),
                ("GET", f"{PREFIX}/accounts/{{email}}", self._guarded(self._account)),
                ("POST", f"{PREFIX}/images", self._guarded(self._images)),
                ("POST", f"{PREFIX}/images/upscale", self._guarded(self._upscale_image)),
                ("POST", f"{PREFIX}/videos", self._guarded(self._create_video)),
                ("POST", f"{PREFIX}/videos/extend", self._guarded(self._extend)),
                ("POST", f"{PREFIX}/videos/upscale", self._guarded(self._upscale_video)),
                ("GET", f"{PREFIX}/jobs/{{jobid}}", self._guarded(self._job)),
                ("POST", f"{PREFIX}/assets", self._guarded(self._upload)),
                ("POST", f"{PREFIX}/assets/{{email}}", self._guarded(self._upload)),
                ("GET", FILES + "{file}", self._file)]

    def _guarded(self, route: Route) -> Route:
        async def guarded(request: web.Request, body: Any) -> web.StreamResponse:
            scheme, _, token = request.headers.get("authorization", "").partition(" ")
            token = token.strip()
            wanted = self.config.useapi_token
            if scheme.lower() != "bearer" or not token or (wanted is not None
                                                           and token != wanted):
                return web.json_response({"error": "Unauthorized"}, status=401)
            try:
                return await route(request, body)
            except Refused as refused:
                return _fail(refused.status, str(refused), **refused.extra)

        return guarded

    # accounts

    async def _accounts(self, request: web.Request, body: Any) -> web.Response:
        return web.json_response({email: self._summary(account)
                                  for email, account in self.accounts.items()})

    async def _account(self, request: web.Request, body: Any) -> web.Response:
        account = self._named(request.match_info["email"])
        models = [{"key": key, "displayName": name, "paygateTier": tier}
                  for key, name, tier in _VIDEO_MODEL_KEYS
                  if tier != ULTRA or account.tier == ULTRA]
        return web.json_response({**self._summary(account),
                                  "credits": {"credits": account.credits,
                                              "userPaygateTier": account.tier},
                                  "models": {"videoModels": models}})

    def _summary(self, account: Account) -> dict[str, Any]:
        summary: dict[str, Any] = {"created": account.created, "health": account.health,
                                   "project": {"projectId": str(uuid.uuid5(uuid.NAMESPACE_URL,
                                                                           account.email)),
                                               "projectTitle": "Sim project"},
                                   "sessionData": {"expires": iso(time.time() + 3600)}}
        if account.health != "OK":
            summary["error"] = account.health
        return summary

    def _named(self, email: str) -> Account:
        account = self.accounts.get(email)
        if account is None:
            raise Refused(404, f"Google Flow account {email} is not configured")
        return account

    def _usable(self, email: str | None, pictures: tuple[str, ...] = ()) -> Account:
        """The account a call runs on: the one named, the one holding its pictures, or the
        healthiest (fewest running jobs); 596 when its Google session is broken."""
        owners = {self._picture(media).account for media in pictures}
        if email is not None:
            account = self._named(email)
            if owners - {email}:
                raise Refused(400, "a picture belongs to another account than email")
        elif owners:
            if len(owners) > 1:
                raise Refused(400, "the pictures belong to different accounts")
            account = self._named(owners.pop())
        else:
            account = self._healthiest()
        if account.health != "OK":
            raise Refused(596, f"{_MESSAGES[596]} ({account.email})")
        return account

    def _healthiest(self) -> Account:
        if not self.accounts:
            raise Refused(404, "No Google Flow accounts are configured")
        now = time.monotonic()
        running = {email: 0 for email in self.accounts}
        for job in self.jobs.values():
            if job.status(self.config.latency, now) in ("created", "started"):
                running[job.account] = running.get(job.account, 0) + 1
        return min(self.accounts.values(),
                   key=lambda a: (a.health != "OK", running.get(a.email, 0), a.email))

    def _picture(self, media: str) -> Picture:
        """A picture the account holds (an upload or a generated image), within retention."""
        picture = self.pictures.get(media)
        if picture is None or self._expired(picture.made):
            raise _unknown(media)
        return picture

    def _held_video(self, media: str) -> Video:
        """A finished video the account holds, within retention."""
        video = self.videos.get(media)
        if video is None or self._expired(video.made):
            raise _unknown(media)
        return video

    def _expired(self, made: float) -> bool:
        retention = self.config.media_retention
        return retention is not None and time.monotonic() - made > retention

    def _charge(self, account: Account, cost: int) -> int:
        if account.credits < cost:
            raise Refused(402, f"Not enough credits: {cost} needed, {account.credits} left")
        account.credits -= cost
        return cost

    # uploads

    async def _upload(self, request: web.Request, body: Any) -> web.Response:
        email = request.match_info.get("email")
        account = self._usable(email)
        data = await request.read()
        check_upload(request.content_type, data)
        size = await asyncio.to_thread(image_size, data)
        if size is None:
            raise Refused(400, "the image could not be decoded")
        key = media_id(account.email, "image")
        self.pictures[key] = Picture(account.email, data, request.content_type, *size)
        return web.json_response({
            "media": {"name": str(uuid.uuid4()), "image": {"dimensions": {
                "width": size[0], "height": size[1]}}},
            "mediaGenerationId": {"mediaGenerationId": key}})

    # images

    async def _images(self, request: web.Request, body: Any) -> web.Response:
        ask = check_image(body)
        account = self._usable(ask.email)
        if "FORCE_UNSAFE" in ask.prompt:
            raise Refused(400, **_refusal("prompt"))
        if "FORCE_FAIL" in ask.prompt:
            raise Refused(500, "Image generation failed (simulated)")
        job = self._new_job("image", account, body, cost=0, latency=self.config.image_latency)
        job.response = await self._make_images(ask, account, _origin(request))
        wait = min(self.config.image_latency, self.config.useapi_sync_wait)
        await asyncio.sleep(wait)
        if self.config.image_latency > self.config.useapi_sync_wait:
            return _still_running(job.record("started"))
        return web.json_response({"jobid": job.jobid, **job.response})

    async def _make_images(self, ask: ImageAsk, account: Account,
                           origin: str) -> dict[str, Any]:
        width, height = IMAGE_SIZES[ask.aspect]
        media = []
        for index in range(ask.count):
            png = await asyncio.to_thread(make_png, f"{ask.prompt}#{index}", width, height)
            key = media_id(account.email, "image")
            self.pictures[key] = Picture(account.email, png, "image/png", width, height,
                                         model=ask.model)
            generated = {"mediaGenerationId": key, "prompt": ask.prompt,
                         "modelNameType": ask.model, "aspectRatio": ask.aspect,
                         "fifeUrl": self._link(origin, "image", key, ".png")}
            media.append({"name": str(uuid.uuid4()), "workflowId": str(uuid.uuid4()),
                          "image": {"generatedImage": generated}})
        return {"media": media}

    # videos

    async def _create_video(self, request: web.Request, body: Any) -> web.Response:
        ask = check_video(body)
        account = self._usable(ask.email, ask.pictures)
        self._check_plan(ask.model, ask.duration, account)
        cost = self._charge(account, video_cost(ask.model, ask.duration, account.tier))
        job = self._new_job("video", account, body, cost=cost,
                            source=ask.pictures[0] if ask.pictures else None,
                            model=ask.model, aspect=ask.aspect)
        return await self._started(job, ask.is_async, _origin(request))

    def _check_plan(self, model: str, duration: int, account: Account) -> None:
        """4 and 6 s Veo videos and the low-priority model need Ultra."""
        if account.tier == ULTRA:
            return
        if model == "veo-3.1-lite-low-priority":
            raise Refused(403, f"{model} needs a Google AI Ultra plan (MODEL_ACCESS_DENIED)")
        if model.startswith("veo") and duration in (4, 6):
            raise Refused(403, f"{duration}-second videos need a Google AI Ultra plan "
                               "(MODEL_ACCESS_DENIED)")

    async def _started(self, job: Job, is_async: bool, origin: str, *,
                       flat: bool = False) -> web.Response:
        """`async: true`: 201 with the job record; else the answer waits for the job (408 past
        `useapi_sync_wait`). `flat`: a finished job answers its response's fields at the top
        level with `jobId`, as POST /videos/upscale documents."""
        if is_async:
            return web.json_response(job.record("created"), status=201)
        deadline = time.monotonic() + self.config.useapi_sync_wait
        status = self._status(job, origin)
        while status not in ("completed", "failed") and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
            status = self._status(job, origin)
        if status not in ("completed", "failed"):
            return _still_running(job.record(status))
        if flat and status == "completed" and job.response is not None:
            return web.json_response(_flat(job.jobid, job.response))
        return web.json_response(job.record(status))

    # extend and upscale

    async def _extend(self, request: web.Request, body: Any) -> web.Response:
        ask = check_extend(body)
        source = self._held_video(ask.media)
        if source.model in OMNI_MODELS:
            raise Refused(400, f"{source.model} videos cannot be extended: the source video "
                               "must be Veo-generated")
        account = self._usable(source.account)
        self._check_plan(ask.model, EXTEND_SECONDS, account)
        cost = self._charge(account, video_cost(ask.model, EXTEND_SECONDS, account.tier))
        job = self._new_job("video", account, body, cost=cost, action="extend",
                            parent=ask.media, model=ask.model, aspect=source.aspect)
        return await self._started(job, ask.is_async, _origin(request))

    async def _upscale_video(self, request: web.Request, body: Any) -> web.Response:
        ask = check_video_upscale(body)
        source = self._held_video(ask.media)
        account = self._usable(source.account)
        if ask.resolution == "4K" and account.tier != ULTRA:
            raise Refused(403, "4K upscaling needs a Google AI Ultra plan (MODEL_ACCESS_DENIED)")
        reuse = self.upscaled.get((ask.media, ask.resolution))
        price = UPSCALE_4K_CREDITS if ask.resolution == "4K" and reuse is None else 0
        cost = self._charge(account, price)
        job = self._new_job("video", account, body, cost=cost, action="upscale",
                            parent=ask.media, model=source.model, aspect=source.aspect,
                            resolution=ask.resolution, reuse=reuse,
                            latency=0.0 if reuse is not None else None)
        return await self._started(job, ask.is_async, _origin(request), flat=True)

    async def _upscale_image(self, request: web.Request, body: Any) -> web.Response:
        ask = check_image_upscale(body)
        picture = self._picture(ask.media)
        self._usable(picture.account)
        if picture.model not in UPSCALABLE_IMAGE_MODELS:
            made = f"{picture.model} images" if picture.model else "uploaded images"
            raise Refused(400, f"{made} cannot be upscaled; only images of "
                               f"{', '.join(sorted(UPSCALABLE_IMAGE_MODELS))} can")
        await asyncio.sleep(self.config.image_latency)
        png = await asyncio.to_thread(_enlarged, picture, IMAGE_SCALE[ask.resolution])
        return web.json_response({"encodedImage": base64.b64encode(png).decode(),
                                  "captcha": {"service": "Sim", "durationMs": 0,
                                              "attempts": []}})

    def _new_job(self, kind: str, account: Account, body: dict[str, Any], *, cost: int,
                 source: str | None = None, latency: float | None = None,
                 **fields: Any) -> Job:
        millis = max(int(time.time() * 1000), self._last_ms + 1)
        self._last_ms = millis
        letter = kind[0]
        jobid = f"j{millis}{letter}-u12345-email:{account.email}-bot:google-flow"
        job = Job(jobid, kind, account.email, dict(body), time.monotonic(), iso(time.time()),
                  cost=cost, source=source, latency=latency, **fields)
        self.jobs[jobid] = job
        return job

    # jobs

    async def _job(self, request: web.Request, body: Any) -> web.Response:
        self.job_paths.append(request.raw_path)
        job = self.jobs.get(request.match_info["jobid"])
        if job is None:
            raise Refused(404, "Job not found")
        return web.json_response(job.record(self._status(job, _origin(request))))

    def _status(self, job: Job, origin: str) -> str:
        status = job.status(self.config.latency, time.monotonic())
        if status == "finishing":
            self._finish(job, origin)
            assert job.final is not None
            status = job.final
        return status

    def _finish(self, job: Job, origin: str) -> None:
        account = self.accounts.get(job.account)
        job.updated = iso(time.time())
        if "FORCE_UNSAFE" in job.prompt:
            job.failure, job.final = safety_failure("video"), "failed"
            if account is not None:
                account.credits += job.cost  # safety refusals are not charged
            return
        if "FORCE_FAIL" in job.prompt:
            job.failure, job.final = generation_failure(), "failed"
            return
        if job.kind == "image":
            job.final = "completed"
            return
        video_id = job.reuse or self._keep_video(job)
        kept = self.videos.get(video_id)
        media = {"name": str(uuid.uuid4()), "mediaGenerationId": video_id,
                 "videoUrl": self._link(origin, "video", kept.jobid if kept else job.jobid,
                                        ".mp4"),
                 "mediaMetadata": {"mediaStatus": {
                     "mediaGenerationStatus": "MEDIA_GENERATION_STATUS_SUCCESSFUL"}}}
        job.response = {"media": [media],
                        "remainingCredits": account.credits if account else 0}
        job.final = "completed"

    def _keep_video(self, job: Job) -> str:
        """A finished video is held by its account: it can be extended and upscaled."""
        video_id = media_id(job.account, "video")
        self.videos[video_id] = Video(job.account, job.jobid, job.model, job.aspect,
                                      time.monotonic())
        if job.action == "upscale" and job.parent and job.resolution:
            self.upscaled[job.parent, job.resolution] = video_id
        return video_id

    # signed links

    def _link(self, origin: str, kind: str, key: str, suffix: str) -> str:
        file_id = secrets.token_hex(12)
        self._files[file_id] = _File(kind, key)
        expires = int(time.time() + self.config.useapi_link_seconds)
        name = file_id + suffix
        return f"{origin}{FILES}{name}?Expires={expires}&Signature={self._sign(name, expires)}"

    def _sign(self, name: str, expires: int) -> str:
        return hmac.new(self._secret, f"{name}:{expires}".encode(), hashlib.sha256).hexdigest()

    async def _file(self, request: web.Request, body: Any) -> web.StreamResponse:
        if "authorization" in request.headers:
            return _storage_error(400, "InvalidArgument",
                                  "A signed URL and an Authorization header cannot be combined.")
        name = request.match_info["file"]
        try:
            expires = int(request.query.get("Expires", ""))
        except ValueError:
            return _storage_error(403, "AccessDenied", "Missing Expires.")
        signature = request.query.get("Signature", "")
        if not hmac.compare_digest(signature, self._sign(name, expires)):
            return _storage_error(403, "SignatureDoesNotMatch", "The signature does not match.")
        if time.time() > expires:
            return _storage_error(403, "ExpiredToken", "The signed link has expired.")
        found = self._files.get(name.rsplit(".", 1)[0])
        if found is None:
            return _storage_error(404, "NoSuchKey", "The specified key does not exist.")
        if found.kind == "image":
            picture = self.pictures[found.key]
            return web.Response(body=picture.data, content_type=picture.mime)
        job = self.jobs[found.key]
        if job.fetched is None:
            job.fetched = time.monotonic()
        data, size = await self._video(job), self.config.video_bytes
        return await stream(request, padded_chunks(data, size),
                            length=padded_size(len(data), size), content_type="video/mp4")

    async def _video(self, job: Job) -> bytes:
        image, seed = self._look(job)
        width, height = VIDEO_SIZES.get(job.aspect, VIDEO_SIZES["landscape"])
        scale = VIDEO_SCALE.get(job.resolution or "", 1.0)
        width, height = int(width * scale), int(height * scale)
        key = ("useapi", image is not None, seed, width, height)
        return await self._videos.get(key, _renderer(image, seed, width, height))

    def _look(self, job: Job) -> tuple[bytes | None, str]:
        """What a video shows: an upscale its source's picture (larger); an extension a look of
        its own; a generation its first picture, else its prompt."""
        if job.action == "upscale" and job.parent in self.videos:
            return self._look(self.jobs[self.videos[job.parent].jobid])
        if job.action == "extend":
            return None, f"{job.parent}+{job.prompt}"
        source = self.pictures.get(job.source) if job.source else None
        image = source.data if source is not None else None
        return image, job.prompt if image is None else hashlib.sha256(image).hexdigest()


def _renderer(image: bytes | None, seed: str, width: int, height: int
              ) -> Callable[[], bytes]:
    def render() -> bytes:
        rgb = decode_image(image, width, height) if image is not None else None
        return make_mp4(rgb or gradient_rgb(seed, width, height), width, height)

    return render


def _enlarged(picture: Picture, scale: int) -> bytes:
    """The picture `scale` times larger, as a PNG (what an image upscale answers)."""
    width, height = picture.width * scale, picture.height * scale
    rgb = decode_image(picture.data, width, height)
    return encode_png(rgb or gradient_rgb(str(len(picture.data)), width, height), width, height)


def _flat(jobid: str, response: dict[str, Any]) -> dict[str, Any]:
    """A synchronous upscale's answer: `jobId`, the legacy `operations[]` (with `fifeUrl`) and
    the current `media[]` (with `videoUrl`)."""
    operations = [{"operation": {"name": entry.get("name")},
                   "status": "MEDIA_GENERATION_STATUS_SUCCESSFUL",
                   "video": {"mediaGenerationId": entry.get("mediaGenerationId"),
                             "fifeUrl": entry.get("videoUrl")}}
                  for entry in response.get("media", [])]
    return {"jobId": jobid, "operations": operations, **response}


def _unknown(media: str) -> Refused:
    """A mediaGenerationId the account does not hold (never made, or past its retention)."""
    return Refused(400, f"mediaGenerationId {media[:60]} was not found: unknown to the account "
                        "or no longer kept")


def _refusal(what: str) -> dict[str, Any]:
    failure = safety_failure(what)
    return {"message": failure["error"], "errorDetails": failure["errorDetails"]}


def _still_running(record: dict[str, Any]) -> web.Response:
    """408: the wait ran out; the answer names the job, which goes on."""
    return web.json_response({**useapi_error(408), **record}, status=408)


def _origin(request: web.Request) -> str:
    return f"{request.scheme}://{request.host}"


def _storage_error(status: int, code: str, message: str) -> web.Response:
    """Google storage's XML error, as a signed link answers it."""
    text = (f"<?xml version='1.0' encoding='UTF-8'?><Error><Code>{code}</Code>"
            f"<Message>{message}</Message></Error>")
    return web.Response(status=status, text=text, content_type="application/xml")


_VIDEO_MODEL_KEYS = (("veo_3_1_t2v_fast_ultra", "Veo 3.1 - Fast", PRO),
                     ("veo_3_1_t2v_lite", "Veo 3.1 - Lite", PRO),
                     ("veo_3_1_t2v_lite_low_priority", "Veo 3.1 - Lite Lower Priority", ULTRA),
                     ("veo_3_1_t2v", "Veo 3.1 - Quality", PRO),
                     ("omni_flash", "Gemini Omni Flash", PRO))


def env_lines(base_url: str, token: str | None) -> list[str]:
    """What an operator pastes into the bot's environment to use the simulated useapi.net."""
    lines = ["PROVIDER=useapi", f"USEAPI_URL={base_url}{PREFIX}"]
    lines.append(f"USEAPI_TOKEN={token}" if token is not None
                 else "# any non-empty USEAPI_TOKEN is accepted")
    return [*lines, f"# USEAPI_EMAIL={DEFAULT_EMAIL} is the simulated account (optional)"]

