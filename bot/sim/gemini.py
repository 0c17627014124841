"""GeminiSim: Google's Gemini API as of November 2026, Developer API and Agent Platform paths.

It serves what upstream-2026.md section 2 documents: Gemini Omni video on the Interactions API
(`interactions.InteractionsSim`), image `generateContent` with the current image models, Veo 3.1 on
Agent Platform (`:predictLongRunning` polled with `:fetchPredictOperation`, the video inline) and
the Files API download of generated videos. Retired models (`gemini_models`) answer Google's 404
on every path: the Developer API's Veo and Imagen paths are gone. `GET …/models/{model}` looks a
served model up (`models.get`, `publishers.models.get`). Every call needs an API key,
checked as Google does (missing: 403, wrong: 400 API_KEY_INVALID); bodies are checked by
`gemini_validate` and `interactions_validate`; media is real PNG / MP4.

Prompt markers: FORCE_FAIL, FORCE_UNSAFE, FORCE_STUCK on every path; Omni also knows
FORCE_CANCELLED, FORCE_INCOMPLETE and FORCE_BUDGET (see `interactions`).

Its `routes()` are mounted in `FlowSimulator`'s application, so the simulator's request log and
`inject()` cover these paths too.
"""

from __future__ import annotations

import asyncio
import base64
import time
import uuid
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from bot.sim.config import SimConfig
from bot.sim.gemini_files import GeminiMedia, Picture, ratio_size
from bot.sim.gemini_models import (
    DEFAULT_IMAGE_MODEL,
    DEFAULT_VERTEX_VIDEO_MODEL,
    DEFAULT_VIDEO_MODEL,
    DEVELOPER_OMNI,
    DEVELOPER_ROOT,
    IMAGE_MODELS,
    VERTEX_OMNI,
    VERTEX_PROJECT,
    VERTEX_VEO,
    ApiError,
    bare,
    developer_missing,
    retirement,
    vertex_missing,
)
from bot.sim.gemini_validate import VideoRequest, content_request, video_request
from bot.sim.google import google_error
from bot.sim.interactions import InteractionRecord, InteractionsSim
from bot.sim.loopback import Route, RouteSpec, stream
from bot.sim.media import decode_image, encode_png, image_size, make_png, padded_chunks, padded_size
from bot.sim.validate import Invalid

# aiohttp path patterns: {name:regex} is a path variable.
MODEL_CALL = (r"/{version:v1|v1beta|v1beta1}/{resource:(?:projects/[^/]+/locations/[^/]+/)?"
              r"(?:publishers/google/)?models/[^/:]+}:{method:\w+}")
#: `models.get` (Developer API) and `publishers.models.get` (Agent Platform): a model's resource.
MODEL_INFO = (r"/{version:v1|v1beta|v1beta1}/{resource:(?:projects/[^/]+/locations/[^/]+/)?"
              r"(?:publishers/google/)?models/[^/:]+}")
FILE = r"/{version:v1|v1beta}/files/{file:[a-z0-9]+}:download"
FILE_INFO = r"/{version:v1|v1beta}/files/{file:[a-z0-9]+}"
QUOTA_FAILURE = "type.googleapis.com/google.rpc.QuotaFailure"
RETRY_INFO = "type.googleapis.com/google.rpc.RetryInfo"
VEO_RESPONSE = "type.googleapis.com/cloud.ai.large_models.vision.GenerateVideoResponse"
IMAGE_LONG_SIDE = {"1K": 320, "2K": 480, "4K": 640}
BAD_IMAGE = ("Unable to process input image. Please retry or report in "
             "https://developers.generativeai.google/guide/troubleshooting")


@dataclass
class GeminiOperation:
    """One Agent Platform Veo generation; done `latency` seconds after it started (unless stuck)."""

    name: str
    model: str
    request: VideoRequest
    picture: Picture
    started: float

    @property
    def prompt(self) -> str:
        return self.request.prompt

    @property
    def image(self) -> bytes | None:
        """The first frame as sent."""
        return self.request.image


def key_invalid() -> dict[str, Any]:
    body = google_error(400, "API key not valid. Please pass a valid API key.", "API_KEY_INVALID")
    body["error"]["details"][0]["domain"] = "googleapis.com"
    return body


def quota_error(*, per_day: bool = True, retry_delay: float = 30.0) -> dict[str, Any]:
    """Google's 429 for a spent quota: per day (QuotaExhausted) or per minute (RateLimited)."""
    period = "PerDay" if per_day else "PerMinute"
    metric = "generativelanguage.googleapis.com/generate_requests_per_model"
    body = google_error(429, "You exceeded your current quota, please check your plan and "
                             "billing details.")
    body["error"]["details"] = [
        {"@type": QUOTA_FAILURE, "violations": [
            {"quotaMetric": metric + ("_per_day" if per_day else ""),
             "quotaId": f"GenerateRequests{period}PerProjectPerModel"}]},
        {"@type": RETRY_INFO, "retryDelay": f"{retry_delay:g}s"}]
    return body


class GeminiSim:
    """The Gemini API routes; `api_key` (None: any non-empty key) is checked on every call."""

    def __init__(self, config: SimConfig, *, api_key: str | None = None) -> None:
        self.config = config
        self.api_key = api_key
        self.media = GeminiMedia(config)
        self.interactions = InteractionsSim(config, self.media)
        self.operations: dict[str, GeminiOperation] = {}  # Agent Platform Veo, by name

    def routes(self) -> list[RouteSpec]:
        """The Gemini API's paths, each behind the API key check."""
        routes: list[RouteSpec] = [("POST", MODEL_CALL, self._model_call),
                                   ("GET", MODEL_INFO, self._model_info),
                                   ("GET", FILE, self._download),
                                   ("GET", FILE_INFO, self._file_info),
                                   *self.interactions.routes()]
        return [(method, path, self._guarded(route)) for method, path, route in routes]

    def records(self) -> list[InteractionRecord]:
        """Every Omni interaction created so far, oldest first."""
        return self.interactions.records()

    def _guarded(self, route: Route) -> Route:
        async def guarded(request: web.Request, body: Any) -> web.StreamResponse:
            refusal = self._auth(request)
            if refusal is not None:
                return refusal
            try:
                return await route(request, body)
            except Invalid as exc:
                return _fail(400, str(exc))
            except ApiError as exc:
                return web.json_response(exc.body, status=exc.status)

        return guarded

    def _auth(self, request: web.Request) -> web.Response | None:
        key = request.headers.get("x-goog-api-key") or request.query.get("key")
        if not key:
            return _fail(403, "Method doesn't allow unregistered callers (callers without "
                              "established identity). Please use API Key or other form of API "
                              "consumer identity to call this API.")
        if self.api_key is not None and key != self.api_key:
            return web.json_response(key_invalid(), status=400)
        return None

    async def _model_call(self, request: web.Request, body: Any) -> web.Response:
        call = request.match_info
        method, resource, version = call["method"], call["resource"], call["version"]
        model = bare(resource)
        if "publishers/" not in resource:  # the Developer API: only image models are left
            if method == "generateContent" and model in IMAGE_MODELS and version != "v1beta1":
                return await self._generate_content(model, body)
            raise developer_missing(model, method, version)
        if version == "v1beta":
            raise ApiError.of(404, f"no route POST {request.path}")
        if method == "fetchPredictOperation" and model in VERTEX_VEO:
            return web.json_response(await self._vertex_operation(resource, body))
        if retirement(model, vertex=True) is None:
            if method == "generateContent" and model in IMAGE_MODELS:
                return await self._generate_content(model, body)
            if method == "predictLongRunning" and model in VERTEX_VEO:
                return await self._start_video(resource, model, body)
        raise vertex_missing(resource)

    async def _model_info(self, request: web.Request, body: Any) -> web.Response:
        """A served model's resource: the Developer API's `Model`, Agent Platform's
        `PublisherModel`; a retired or unknown model answers the 404 of its API."""
        call = request.match_info
        resource, version = call["resource"], call["version"]
        model = bare(resource)
        if "publishers/" not in resource:
            if version == "v1beta1" or model not in IMAGE_MODELS | DEVELOPER_OMNI.keys():
                raise developer_missing(model, "get", version)
            info: dict[str, Any] = {"name": f"models/{model}", "version": "001",
                                    "displayName": _display_name(model),
                                    "description": f"{_display_name(model)} (simulated)"}
            if model in IMAGE_MODELS:
                info["supportedGenerationMethods"] = ["generateContent", "countTokens"]
            return web.json_response(info)
        served = IMAGE_MODELS | VERTEX_OMNI.keys() | VERTEX_VEO
        if version == "v1beta" or retirement(model, vertex=True) is not None \
                or model not in served:
            raise vertex_missing(resource)
        stage = ("PUBLIC_PREVIEW" if "preview" in model or model == "veo-3.1-lite-generate-001"
                 else "GA")
        return web.json_response({"name": f"publishers/google/models/{model}",
                                  "versionId": "001", "openSourceCategory": "PROPRIETARY",
                                  "launchStage": stage})

    # images

    async def _generate_content(self, model: str, body: Any) -> web.Response:
        wanted = content_request(body, wide_ratios=model == DEFAULT_IMAGE_MODEL)
        usage = {"promptTokenCount": len(wanted.prompt.split())}
        if "FORCE_UNSAFE" in wanted.prompt:
            return web.json_response({"promptFeedback": {"blockReason": "PROHIBITED_CONTENT"},
                                      "usageMetadata": usage, "modelVersion": model})
        if wanted.image and await asyncio.to_thread(image_size, wanted.image) is None:
            raise Invalid(BAD_IMAGE)
        texts = "TEXT" in wanted.modalities
        if "FORCE_FAIL" in wanted.prompt:
            parts: list[dict[str, Any]] = [{"text": "I can't make that picture."}] if texts else []
            reason = "NO_IMAGE"
        else:
            png = await asyncio.to_thread(_png, wanted.prompt, wanted.image, wanted.aspect,
                                          IMAGE_LONG_SIDE[wanted.size])
            parts = [{"text": "Here is your picture."}] if texts else []
            parts.append({"inlineData": {"mimeType": "image/png",
                                         "data": base64.b64encode(png).decode()}})
            reason = "STOP"
        candidate: dict[str, Any] = {"finishReason": reason, "index": 0}
        if parts:
            candidate["content"] = {"role": "model", "parts": parts}
        return web.json_response({"candidates": [candidate], "usageMetadata": usage,
                                  "modelVersion": model,
                                  "responseId": uuid.uuid4().hex[:22]})

    # Agent Platform Veo

    async def _start_video(self, resource: str, model: str, body: Any) -> web.Response:
        wanted = video_request(body)
        for image in (wanted.image, wanted.last_frame, *wanted.references):
            if image and await asyncio.to_thread(image_size, image) is None:
                raise Invalid(BAD_IMAGE)
        first = wanted.image or next(iter(wanted.references), None) or None
        prefix = resource if resource.startswith("projects/") else VERTEX_PROJECT + resource
        name = f"{prefix}/operations/{uuid.uuid4()}"
        self.operations[name] = GeminiOperation(
            name, model, wanted, Picture.of(first, wanted.prompt, wanted.aspect),
            time.monotonic())
        return web.json_response({"name": name})

    async def _vertex_operation(self, resource: str, body: Any) -> dict[str, Any]:
        name = body.get("operationName") if isinstance(body, dict) else None
        if not isinstance(name, str) or f"/{resource}/operations/" not in f"/{name}":
            raise Invalid("operationName must name an operation of " + resource)
        operation = self.operations.get(name)
        if operation is None:
            raise ApiError.of(404, f"Operation {name} not found.")
        prompt = operation.prompt
        if "FORCE_STUCK" in prompt or time.monotonic() - operation.started < self.config.latency:
            return {"name": name}
        done: dict[str, Any] = {"name": name, "done": True}
        if "FORCE_FAIL" in prompt:
            done["error"] = {"code": 13, "message": "Video generation failed: internal error."}
        elif "FORCE_UNSAFE" in prompt:
            done["response"] = {"@type": VEO_RESPONSE, "raiMediaFilteredCount": 1,
                                "raiMediaFilteredReasons": [
                "The video was filtered because it violates Google's usage guidelines."]}
        else:
            done["response"] = {"@type": VEO_RESPONSE, "videos": await self._videos(operation)}
        return done

    async def _videos(self, operation: GeminiOperation) -> list[dict[str, Any]]:
        wanted = operation.request
        if wanted.storage_uri is not None:
            folder = f"{wanted.storage_uri.rstrip('/')}/{operation.name.rpartition('/')[2]}"
            return [{"gcsUri": f"{folder}/sample_{index}.mp4", "mimeType": "video/mp4"}
                    for index in range(wanted.count)]
        video = base64.b64encode(await self.media.video(operation.picture)).decode()
        return [{"bytesBase64Encoded": video, "mimeType": "video/mp4"}] * wanted.count

    # files

    async def _download(self, request: web.Request, body: Any) -> web.StreamResponse:
        file_id = request.match_info["file"]
        stored = self.media.file(file_id)
        if stored is None:
            raise ApiError.of(404, f"File files/{file_id} not found.")
        if request.query.get("alt") != "media":
            raise Invalid("files:download needs alt=media")
        self.interactions.file_served(file_id)
        data, size = await self.media.natural(stored.picture), self.config.video_bytes
        return await stream(request, padded_chunks(data, size),
                            length=padded_size(len(data), size), content_type="video/mp4")

    async def _file_info(self, request: web.Request, body: Any) -> web.Response:
        file_id = request.match_info["file"]
        stored = self.media.file(file_id)
        if stored is None:
            raise ApiError.of(404, f"File files/{file_id} not found.")
        created = _iso(stored.created)
        uri = f"{DEVELOPER_ROOT}/v1beta/files/{file_id}"
        return web.json_response({
            "name": f"files/{file_id}", "mimeType": "video/mp4",
            "sizeBytes": str(await self.media.size(stored.picture)),
            "createTime": created, "updateTime": created,
            "expirationTime": _iso(stored.created + self.config.gemini_file_seconds),
            "uri": uri, "downloadUri": f"{uri}:download?alt=media",
            "state": "ACTIVE", "source": "GENERATED"})


def _png(prompt: str, image: bytes | None, aspect: str, long_side: int) -> bytes:
    """The picture: the input picture scaled (an edit), else a gradient of the prompt."""
    width, height = ratio_size(aspect, long_side)
    rgb = decode_image(image, width, height) if image else None
    return encode_png(rgb, width, height) if rgb else make_png(prompt, width, height)


def _display_name(model: str) -> str:
    """`gemini-omni-1.1-flash` → `Gemini Omni 1.1 Flash`."""
    return " ".join(part if part[:1].isdigit() else part.capitalize()
                    for part in model.split("-"))


def _fail(status: int, message: str) -> web.Response:
    return web.json_response(google_error(status, message), status=status)


def _iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def env_lines(base_url: str, api_key: str | None) -> list[str]:
    """What an operator pastes into the bot's environment to use the simulated Gemini API."""
    lines = ["PROVIDER=gemini", f"GEMINI_API_URL={base_url}",
             f"GEMINI_VIDEO_MODEL={DEFAULT_VIDEO_MODEL}",
             f"GEMINI_IMAGE_MODEL={DEFAULT_IMAGE_MODEL}"]
    key = (["# any non-empty GEMINI_API_KEY is accepted"] if api_key is None
           else [f"GEMINI_API_KEY={api_key}"])
    return [*lines, *key,
            "# Agent Platform instead: GEMINI_VERTEX=true, any GEMINI_PROJECT, "
            f"GEMINI_VIDEO_MODEL={DEFAULT_VERTEX_VIDEO_MODEL} (GEMINI_LOCATION=global for "
            "gemini-omni-1.2-flash)"]
