"""InteractionsSim: Gemini Omni video on the Interactions API, Developer API and Agent Platform.

Routes (mounted by `GeminiSim`, behind its API key check):
`POST /v1beta/interactions`, `GET|DELETE /v1beta/interactions/{id}`,
`POST /v1beta/interactions/{id}/cancel`, and the same under
`/v1beta1/projects/{p}/locations/global/` on Agent Platform. Bodies are checked by
`interactions_validate`. An interaction is `queued` for `SimConfig.omni_queued` seconds, then
`in_progress` for `SimConfig.latency` seconds, then final. A create without `"background": true`
waits that long and answers the final interaction.

Prompt markers (anywhere in the prompt text) choose the final state:

- FORCE_FAIL: `failed`, with `errors`.
- FORCE_UNSAFE: `completed` with a text refusal and no video (a safety refusal).
- FORCE_CANCELLED: `cancelled`.
- FORCE_INCOMPLETE: `incomplete`, text only.
- FORCE_BUDGET: `budget_exceeded`.
- FORCE_STUCK: `in_progress` forever.

Otherwise `completed`, with a `model_output` step holding a text block and the video block: inline
`data` (base64) or a `uri` (`…/v1beta/files/{id}:download?alt=media`, or under the request's
`gcs_uri` on Agent Platform), as `SimConfig.omni_delivery` and `omni_inline_limit` decide.

Extend and upscale (`video_config.task`, Agent Platform's "Extend videos" and "Upscale videos"
pages) start from one video: `previous_interaction_id` (that interaction's video), or a
`{"type": "video"}` input block whose `uri` names a file this simulator made (`…/files/{id}`, with
or without `:download?alt=media`) or whose inline `data` is an MP4. The result shows the same
scene: an extension is the source (up to its last 30 s) plus 3 to 10 s; an upscale keeps the
length and renders at the target resolution (a larger MP4, see `gemini_files`), from 360p to
720p or 1080p, or from 720p to 1080p or 4k, for videos of up to 15 s. Where the documentation is
silent the simulator assumes: an unknown `previous_interaction_id` answers 400 (as any unknown
interaction id does); a source past its retention (`SimConfig.gemini_file_seconds`, Google's
48 hours for generated files) or a file uri it never made answers 404 NOT_FOUND.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import re
import secrets
import time
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from aiohttp import web

from bot.sim.config import SimConfig
from bot.sim.gemini_files import (
    GeminiMedia,
    Picture,
    StoredFile,
    resolution_side,
    side_resolution,
)
from bot.sim.gemini_models import (
    DEVELOPER_OMNI,
    DEVELOPER_ROOT,
    VERTEX_OMNI,
    ApiError,
    OmniModel,
    bare,
    developer_missing,
    retirement,
    vertex_missing,
)
from bot.sim.interactions_validate import (
    InputVideo,
    OmniRequest,
    check_keys,
    omni_request,
    seconds_of,
)
from bot.sim.loopback import RouteSpec
from bot.sim.media import image_size
from bot.sim.validate import Invalid

_ID = "{id:[A-Za-z0-9_-]+}"
DEVELOPER_PATH = "/v1beta/interactions"
VERTEX_PATH = "/v1beta1/projects/{project:[^/]+}/locations/{location:[^/]+}/interactions"
VERTEX_LOCATION = "global"  # the Interactions endpoint on Agent Platform is global-only
TOKENS_PER_SECOND = 5792  # Omni bills video output as tokens per second
DEFAULT_SECONDS = 8.0
_BAD_IMAGE = ("Unable to process input image. Please retry or report in "
              "https://developers.generativeai.google/guide/troubleshooting")
_BAD_VIDEO = ("Unable to process input video. Please retry or report in "
              "https://developers.generativeai.google/guide/troubleshooting")
_FILE_ID = re.compile(r"(?:^|/)files/([a-z0-9]+)(?::download)?(?:\?.*)?$")
EXTEND_KEEPS_SECONDS = 30.0  # the extension is joined to at most the source's last 30 s
UPSCALE_MAX_SECONDS = 15.0
#: Upscales Google documents, source → targets ("1080p to 4k is not supported").
UPSCALES = {"360p": ("720p", "1080p"), "720p": ("1080p", "4k")}
#: Output video tokens per second of an upscale, per (source, target).
UPSCALE_TOKENS = {("360p", "720p"): 2896, ("720p", "1080p"): 2896, ("360p", "1080p"): 5792,
                  ("720p", "4k"): 11584}


class Status(StrEnum):
    """An interaction's `status`, as the Interactions API spells it."""

    #: accepted, not started
    QUEUED = "queued"
    #: generating
    IN_PROGRESS = "in_progress"
    #: done: a video, or a text-only safety refusal
    COMPLETED = "completed"
    #: generation failed (`errors` says why)
    FAILED = "failed"
    #: cancelled by the caller or by Google
    CANCELLED = "cancelled"
    #: stopped before the video was whole
    INCOMPLETE = "incomplete"
    #: the request's budget ran out
    BUDGET_EXCEEDED = "budget_exceeded"


_OUTCOMES = (("FORCE_FAIL", Status.FAILED), ("FORCE_CANCELLED", Status.CANCELLED),
             ("FORCE_INCOMPLETE", Status.INCOMPLETE), ("FORCE_BUDGET", Status.BUDGET_EXCEEDED))
_RUNNING = (Status.QUEUED, Status.IN_PROGRESS)


@dataclass(frozen=True)
class InteractionRecord:
    """One accepted create, as the tests and the bench see it (a snapshot: `status` is now's)."""

    id: str
    vertex: bool  # Agent Platform (else the Developer API)
    request: OmniRequest  # what was asked, checked
    status: Status
    created: float  # time.monotonic() on arrival
    body: dict[str, Any]  # the create body as sent
    fetched: float | None = None  # monotonic: its video first handed out (inline or file)
    seconds: float = DEFAULT_SECONDS  # the length of its video
    resolution: str = "720p"  # the resolution of its video
    #: what an extend or upscale started from: "interactions/{id}", "files/{id}" or "inline"
    source: str | None = None

    @property
    def images(self) -> tuple[bytes, ...]:
        """The inline input images, in input order."""
        return tuple(image.data for image in self.request.images if image.data is not None)


@dataclass(frozen=True)
class Scene:
    """What an interaction's video shows, how long it is and at what resolution."""

    picture: Picture
    seconds: float
    resolution: str
    aspect: str
    source: str | None = None  # an extend's or upscale's source, as `InteractionRecord` says
    source_resolution: str | None = None


@dataclass
class _Interaction:
    id: str
    scope: str  # "developer", or the Agent Platform parent
    request: OmniRequest
    scene: Scene
    created: float
    created_at: float  # epoch seconds
    body: dict[str, Any]
    final: Status | None = None
    finished: float | None = None  # monotonic, when final
    failure: str | None = None
    file: StoredFile | None = None
    fetched: float | None = None  # monotonic, when its video was first handed out

    @property
    def vertex(self) -> bool:
        return self.scope != "developer"

    @property
    def picture(self) -> Picture:
        return self.scene.picture

    @property
    def finished_at(self) -> float | None:
        """Epoch seconds when it ended, if it has."""
        return None if self.finished is None else self.created_at + self.finished - self.created


class InteractionsSim:
    """The Interactions API's routes and the interactions they made (never forgotten)."""

    def __init__(self, config: SimConfig, media: GeminiMedia) -> None:
        self.config = config
        self.media = media
        self._interactions: dict[tuple[str, str], _Interaction] = {}
        self._by_file: dict[str, _Interaction] = {}

    def routes(self) -> list[RouteSpec]:
        """The paths, on both APIs; the caller puts its key check in front."""
        routes: list[RouteSpec] = []
        for root in (DEVELOPER_PATH, VERTEX_PATH):
            routes += [("POST", root, self._create),
                       ("GET", f"{root}/{_ID}", self._get),
                       ("DELETE", f"{root}/{_ID}", self._delete),
                       ("POST", f"{root}/{_ID}/cancel", self._cancel)]
        return routes

    def records(self) -> list[InteractionRecord]:
        """Every accepted create, oldest first."""
        now = time.monotonic()
        return [InteractionRecord(it.id, it.vertex, it.request, self._status(it, now),
                                  it.created, it.body, it.fetched, it.scene.seconds,
                                  it.scene.resolution, it.scene.source)
                for it in self._interactions.values()]

    def file_served(self, file_id: str) -> None:
        """The Files API served this file: its interaction's video has been fetched."""
        it = self._by_file.get(file_id)
        if it is not None and it.fetched is None:
            it.fetched = time.monotonic()

    # routes

    async def _create(self, request: web.Request, body: Any) -> web.Response:
        scope = _scope(request)
        body = check_keys(body)
        model = self._model(body.get("model"), scope)
        wanted = omni_request(body, model, vertex=scope != "developer")
        if wanted.stream:
            raise ApiError.of(501, "stream=true is not simulated: create with background=true "
                                   "and poll GET …/interactions/{id}.")
        previous = self._previous(wanted.previous_interaction_id, scope)
        scene = await self._scene(wanted, previous)
        now = time.monotonic()
        it = _Interaction(_new_id(), scope, wanted, scene, now, time.time(), body)
        self._interactions[(scope, it.id)] = it
        if not wanted.background:  # the call blocks until the interaction is done
            await asyncio.sleep(max(0.0, self.config.omni_queued + self.config.latency))
        return web.json_response(await self._resource(it))

    async def _get(self, request: web.Request, body: Any) -> web.Response:
        if request.query.get("stream", "false").lower() == "true":
            raise ApiError.of(501, "stream=true is not simulated; poll without it.")
        return web.json_response(await self._resource(self._find(request)))

    async def _cancel(self, request: web.Request, body: Any) -> web.Response:
        it = self._find(request)
        if not it.request.background:
            raise Invalid("Only background interactions can be cancelled.")
        if self._status(it, time.monotonic()) not in _RUNNING:
            raise ApiError.of(400, f"Interaction {it.id} is already finished.",
                              "FAILED_PRECONDITION")
        it.final, it.finished = Status.CANCELLED, time.monotonic()
        return web.json_response(await self._resource(it))

    async def _delete(self, request: web.Request, body: Any) -> web.Response:
        it = self._find(request)
        del self._interactions[(it.scope, it.id)]
        return web.json_response({})

    # state

    def _model(self, value: Any, scope: str) -> OmniModel:
        if not isinstance(value, str) or not value:
            raise Invalid("model is required")
        model = bare(value)
        if scope == "developer":
            served = DEVELOPER_OMNI.get(model)
            if served is None:
                raise developer_missing(model, "interactions")
            return served
        served = VERTEX_OMNI.get(model)
        if served is None or retirement(model, vertex=True) is not None:
            raise vertex_missing(f"{scope}/publishers/google/models/{model}")
        return served

    def _previous(self, previous_id: str | None, scope: str) -> _Interaction | None:
        if previous_id is None:
            return None
        previous = self._interactions.get((scope, previous_id))
        if previous is None:
            raise Invalid(f"previous_interaction_id: interaction {previous_id!r} not found")
        return previous

    async def _scene(self, wanted: OmniRequest, previous: _Interaction | None) -> Scene:
        """What the new video shows: a continuation or an upscale of its source, else its first
        picture (or the previous turn's scene, for an edit)."""
        if wanted.task in ("extend", "upscale"):
            source = await self._source(wanted, previous)
            return _extended(wanted, source) if wanted.task == "extend" else _upscaled(
                wanted, source)
        seconds = seconds_of(wanted.duration) if wanted.duration else DEFAULT_SECONDS
        picture = await _picture(wanted, previous)
        return Scene(picture, seconds, wanted.resolution, wanted.aspect_ratio)

    async def _source(self, wanted: OmniRequest, previous: _Interaction | None) -> Scene:
        """The video an extend or upscale starts from: the input's video block, else the
        previous interaction's video."""
        if wanted.videos:
            return await self._input_video(wanted.videos[0])
        assert previous is not None  # the checks demand one or the other
        return self._previous_video(previous, wanted.task or "")

    def _previous_video(self, previous: _Interaction, task: str) -> Scene:
        status = self._status(previous, time.monotonic())
        if status is not Status.COMPLETED or "FORCE_UNSAFE" in previous.request.prompt \
                or previous.failure is not None:
            raise Invalid(f"previous_interaction_id: interaction {previous.id} has no video to "
                          f"{task} (it is {status.value})")
        ended = previous.finished_at
        if ended is not None and self.media.expired(ended):
            raise ApiError.of(404, f"The video of interaction {previous.id} has expired: "
                                   "generated videos are kept for 48 hours.")
        scene = previous.scene
        return Scene(scene.picture, scene.seconds, scene.resolution, scene.aspect,
                     f"interactions/{previous.id}")

    async def _input_video(self, video: InputVideo) -> Scene:
        if video.uri is not None:
            return self._file_video(video.uri)
        assert video.data is not None
        size = await asyncio.to_thread(image_size, video.data)
        if size is None:
            raise Invalid(_BAD_VIDEO)
        width, height = size
        picture = Picture(video.data, hashlib.sha256(video.data).hexdigest(), width, height)
        resolution = side_resolution(max(width, height)) or "720p"
        return Scene(picture, DEFAULT_SECONDS, resolution, _aspect_of(width, height), "inline")

    def _file_video(self, uri: str) -> Scene:
        """A file this simulator made, by its Files API uri."""
        match = _FILE_ID.search(uri)
        if match is None:
            raise Invalid(f"input video uri {uri[:80]!r} is not a Files API file "
                          "(…/v1beta/files/{id})")
        file_id = match.group(1)
        stored = self.media.file(file_id)
        if stored is None:
            raise ApiError.of(404, f"File files/{file_id} not found.")
        made = self._by_file.get(file_id)
        if made is not None:
            scene = made.scene
            return Scene(scene.picture, scene.seconds, scene.resolution, scene.aspect,
                         f"files/{file_id}")
        picture = stored.picture
        side = max(picture.width, picture.height)
        return Scene(picture, DEFAULT_SECONDS, side_resolution(side) or "720p",
                     _aspect_of(picture.width, picture.height), f"files/{file_id}")

    def _find(self, request: web.Request) -> _Interaction:
        interaction_id = request.match_info["id"]
        it = self._interactions.get((_scope(request), interaction_id))
        if it is None:
            raise Invalid(f"Interaction {interaction_id!r} is not valid or does not exist.")
        return it

    def _status(self, it: _Interaction, now: float) -> Status:
        """queued, then in_progress for the latency, then final (latched)."""
        if it.final is not None:
            return it.final
        elapsed = now - it.created
        queued, latency = self.config.omni_queued, self.config.latency
        if elapsed < queued:
            return Status.QUEUED
        if elapsed < queued + latency or "FORCE_STUCK" in it.request.prompt:
            return Status.IN_PROGRESS
        it.final = next((status for marker, status in _OUTCOMES
                         if marker in it.request.prompt), Status.COMPLETED)
        it.finished = it.created + queued + latency
        return it.final

    # answers

    async def _resource(self, it: _Interaction) -> dict[str, Any]:
        """The Interaction resource as a poll (or a create) answers it."""
        status = self._status(it, time.monotonic())
        video: dict[str, Any] | None = None
        if status is Status.COMPLETED and "FORCE_UNSAFE" not in it.request.prompt:
            video = await self._video_block(it)
            if video is None:
                it.final = status = Status.FAILED
                it.failure = ("The video is larger than the inline limit; set "
                              "response_format.gcs_uri to receive it.")
        answer: dict[str, Any] = {"id": it.id, "model": it.request.model, "status": status.value,
                                  "created": _iso(it.created_at),
                                  "updated": _iso(it.created_at + (it.finished or time.monotonic())
                                                  - it.created)}
        if status in _RUNNING or status is Status.CANCELLED:
            return answer
        if status is Status.FAILED:
            answer["errors"] = [{"code": "internal", "message": it.failure or (
                "Video generation failed: internal error (simulated).")}]
            return answer
        if status is Status.BUDGET_EXCEEDED:
            answer["errors"] = [{"code": "budget_exceeded",
                                 "message": "The interaction ran out of budget (simulated)."}]
            return answer
        if status is Status.INCOMPLETE:
            answer["steps"] = [_output({"type": "text", "text": "The video could not be finished "
                                                                "(simulated)."})]
            return answer
        if video is None:  # FORCE_UNSAFE: a safety refusal comes back completed, text only
            answer["steps"] = [_output({"type": "text", "text": (
                "I can't create this video. The request may violate Google's Generative AI "
                "Prohibited Use Policy. Try rephrasing your prompt.")})]
        else:
            answer["steps"] = [_output({"type": "text", "text": "Here is your video."}, video)]
            answer["usage"] = _usage(it.request, it.scene)
        return answer

    async def _video_block(self, it: _Interaction) -> dict[str, Any] | None:
        """The video block (inline data or uri); None when it cannot be delivered at all."""
        block: dict[str, Any] = {"type": "video", "mime_type": "video/mp4"}
        size = await self.media.size(it.picture)
        if self._inline(it, size):
            block["data"] = base64.b64encode(await self.media.video(it.picture)).decode()
            it.fetched = it.fetched or time.monotonic()
        elif it.request.gcs_uri is not None:
            block["uri"] = f"{it.request.gcs_uri.rstrip('/')}/{it.id}/sample_0.mp4"
        elif it.vertex:
            return None
        else:
            if it.file is None:
                it.file = self.media.add_file(it.picture)
                self._by_file[it.file.file_id] = it
            block["uri"] = f"{DEVELOPER_ROOT}/v1beta/files/{it.file.file_id}:download?alt=media"
        return block

    def _inline(self, it: _Interaction, size: int) -> bool:
        """Inline when it fits and the request (or `omni_delivery`) lets it."""
        fits = size <= self.config.omni_inline_limit
        if it.vertex and it.request.gcs_uri is None:
            return fits  # Agent Platform has nowhere else to put it
        mode = self.config.omni_delivery
        if mode == "uri":
            return False
        if mode == "inline":
            return fits
        return it.request.delivery != "uri" and fits


def _scope(request: web.Request) -> str:
    """"developer", or the Agent Platform parent `projects/{p}/locations/{l}`."""
    project = request.match_info.get("project")
    if project is None:
        return "developer"
    location = request.match_info["location"]
    if location != VERTEX_LOCATION:
        raise Invalid(f"Location {location} is not supported for interactions; use "
                      f"{VERTEX_LOCATION}.")
    return f"projects/{project}/locations/{location}"


async def _picture(wanted: OmniRequest, previous: _Interaction | None) -> Picture:
    """The first frame: the first input image, else the previous interaction's picture."""
    first: bytes | None = None
    for image in wanted.images:
        if image.data is None:
            continue
        if await asyncio.to_thread(image_size, image.data) is None:
            raise Invalid(_BAD_IMAGE)
        first = first or image.data
    side = resolution_side(wanted.resolution)
    if first is None and previous is not None:  # an edit: the same scene
        return previous.picture.resized(wanted.aspect_ratio, side)
    return Picture.of(first, wanted.prompt, wanted.aspect_ratio, side)


def _extended(wanted: OmniRequest, source: Scene) -> Scene:
    """The source (up to its last 30 s) and then the extension, at the asked resolution (else
    the source's)."""
    extension = seconds_of(wanted.duration) if wanted.duration else DEFAULT_SECONDS
    resolution = wanted.resolution if wanted.resolution_asked else source.resolution
    seconds = min(source.seconds, EXTEND_KEEPS_SECONDS) + extension
    picture = source.picture.resized(source.aspect, resolution_side(resolution))
    return Scene(picture, seconds, resolution, source.aspect, source.source,
                 source.resolution)


def _upscaled(wanted: OmniRequest, source: Scene) -> Scene:
    """The same video at the target resolution, where Google documents that upscale."""
    target = wanted.resolution
    if target not in UPSCALES.get(source.resolution, ()):
        raise Invalid(f"Upscaling a {source.resolution} video to {target} is not supported "
                      "(360p → 720p or 1080p, 720p → 1080p or 4k).")
    if source.seconds > UPSCALE_MAX_SECONDS:
        raise Invalid(f"Upscaling takes videos of up to {UPSCALE_MAX_SECONDS:g} seconds; this "
                      f"one is {source.seconds:g} seconds.")
    picture = source.picture.resized(source.aspect, resolution_side(target))
    return Scene(picture, source.seconds, target, source.aspect, source.source,
                 source.resolution)


def _aspect_of(width: int, height: int) -> str:
    return "16:9" if width >= height else "9:16"


def _output(*content: dict[str, Any]) -> dict[str, Any]:
    return {"type": "model_output", "content": list(content)}


def _usage(wanted: OmniRequest, scene: Scene) -> dict[str, int]:
    """Tokens as Google bills them: an upscale has no input tokens and its own rate."""
    if wanted.task == "upscale":
        rate = UPSCALE_TOKENS.get((scene.source_resolution or "", scene.resolution), 0)
        output = int(rate * scene.seconds)
        return {"total_input_tokens": 0, "total_output_tokens": output, "total_tokens": output}
    seconds = seconds_of(wanted.duration) if wanted.duration else DEFAULT_SECONDS
    prompt = len(wanted.prompt.split()) + 258 * len(wanted.images)
    output = int(TOKENS_PER_SECOND * seconds)
    return {"total_input_tokens": prompt, "total_output_tokens": output,
            "total_tokens": prompt + output}


def _new_id() -> str:
    return "v1_" + secrets.token_urlsafe(24)


def _iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))
