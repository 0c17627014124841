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
"""

from __future__ import annotations

import asyncio
import base64
import secrets
import time
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from aiohttp import web

from bot.sim.config import SimConfig
from bot.sim.gemini_files import GeminiMedia, Picture, StoredFile, ratio_size
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
from bot.sim.interactions_validate import OmniRequest, check_keys, omni_request
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

    @property
    def images(self) -> tuple[bytes, ...]:
        """The inline input images, in input order."""
        return tuple(image.data for image in self.request.images if image.data is not None)


@dataclass
class _Interaction:
    id: str
    scope: str  # "developer", or the Agent Platform parent
    request: OmniRequest
    picture: Picture
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
                                  it.created, it.body, it.fetched)
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
        picture = await _picture(wanted, previous)
        now = time.monotonic()
        it = _Interaction(_new_id(), scope, wanted, picture, now, time.time(), body)
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
            answer["usage"] = _usage(it.request)
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
    if first is None and previous is not None:  # edit, extend, upscale: the same scene
        width, height = ratio_size(wanted.aspect_ratio)
        return Picture(previous.picture.image, previous.picture.seed, width, height)
    return Picture.of(first, wanted.prompt, wanted.aspect_ratio)


def _output(*content: dict[str, Any]) -> dict[str, Any]:
    return {"type": "model_output", "content": list(content)}


def _usage(wanted: OmniRequest) -> dict[str, int]:
    seconds = float(wanted.duration[:-1]) if wanted.duration else DEFAULT_SECONDS
    prompt = len(wanted.prompt.split()) + 258 * len(wanted.images)
    output = int(TOKENS_PER_SECOND * seconds)
    return {"total_input_tokens": prompt, "total_output_tokens": output,
            "total_tokens": prompt + output}


def _new_id() -> str:
    return "v1_" + secrets.token_urlsafe(24)


def _iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))
