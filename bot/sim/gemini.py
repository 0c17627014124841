"""GeminiSim: Google's official Gemini API, Developer API and Vertex AI paths, for the simulator.

It answers the REST calls google-genai makes: `generateContent` with an image model, Imagen
`:predict`, Veo `:predictLongRunning`, the operation poll (`GET` on the Developer API,
`:fetchPredictOperation` on Vertex AI) and `files/{id}:download`. It validates the bodies
(`gemini_validate`), checks the API key as Google does (missing: 403, wrong: 400 API_KEY_INVALID)
and renders real PNG / MP4 media. Prompt markers: FORCE_FAIL, FORCE_UNSAFE, FORCE_STUCK.

Its `routes()` are mounted in `FlowSimulator`'s application, so the simulator's request log and
`inject()` cover these paths too.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import secrets
import time
import uuid
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from bot.sim.config import SimConfig
from bot.sim.gemini_validate import content_request, imagen_request, video_request
from bot.sim.google import google_error
from bot.sim.loopback import Route, RouteSpec, stream
from bot.sim.media import (
    Mp4Cache,
    decode_image,
    gradient_rgb,
    image_size,
    make_mp4,
    make_png,
    pad_mp4,
    padded_chunks,
    padded_size,
)
from bot.sim.validate import Invalid

DEVELOPER_ROOT = "https://generativelanguage.googleapis.com"
VERTEX_PROJECT = "projects/123456789012/locations/us-central1/"
# aiohttp path patterns: {name:regex} is a path variable.
MODEL_CALL = (r"/{version:v1|v1beta|v1beta1}/{resource:(?:projects/[^/]+/locations/[^/]+/)?"
              r"(?:publishers/google/)?models/[^/:]+}:{method:\w+}")
OPERATION = r"/{version:v1|v1beta}/{name:models/[^/:]+/operations/[^/:]+}"
FILE = r"/{version:v1|v1beta}/files/{file:[a-z0-9]+}:download"
_LONG_SIDE = 320
QUOTA_FAILURE = "type.googleapis.com/google.rpc.QuotaFailure"
RETRY_INFO = "type.googleapis.com/google.rpc.RetryInfo"


@dataclass
class GeminiOperation:
    """One Veo generation; it finishes `latency` seconds after it started (unless stuck)."""

    name: str
    model: str
    prompt: str
    aspect: str
    image: bytes | None
    started: float
    vertex: bool
    file_id: str

    @property
    def size(self) -> tuple[int, int]:
        return ratio_size(self.aspect)


def ratio_size(aspect: str) -> tuple[int, int]:
    """A small, even picture size for an aspect ratio like "16:9"."""
    width, _, height = aspect.partition(":")
    w, h = int(width), int(height)
    if w >= h:
        return _LONG_SIDE, _LONG_SIDE * h // w & ~1
    return _LONG_SIDE * w // h & ~1, _LONG_SIDE


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
        self.operations: dict[str, GeminiOperation] = {}
        self._files: dict[str, str] = {}
        self._videos = Mp4Cache()

    def routes(self) -> list[RouteSpec]:
        """The Gemini API's paths, each behind the API key check."""
        return [("POST", MODEL_CALL, self._guarded(self._model_call)),
                ("GET", OPERATION, self._guarded(self._developer_operation)),
                ("GET", FILE, self._guarded(self._download))]

    def _guarded(self, route: Route) -> Route:
        async def guarded(request: web.Request, body: Any) -> web.StreamResponse:
            refusal = self._auth(request)
            if refusal is not None:
                return refusal
            try:
                return await route(request, body)
            except Invalid as exc:
                return _fail(400, str(exc))

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
        method, resource = call["method"], call["resource"]
        model = resource.rpartition("/")[2]
        vertex = "publishers/" in resource
        if method == "fetchPredictOperation" and vertex:
            return await self._vertex_operation(resource, body)
        if not _serves(model, method):
            return _fail(404, f"models/{model} is not found for API version {call['version']}, "
                              f"or is not supported for {method}. Call ListModels to see the list "
                              "of available models and their supported methods.")
        if method == "generateContent":
            return await self._generate_content(model, body)
        if method == "predict":
            return await self._imagen(body)
        return await self._start_video(resource, model, body, vertex=vertex)

    # images

    async def _generate_content(self, model: str, body: Any) -> web.Response:
        wanted = content_request(body)
        usage = {"promptTokenCount": len(wanted.prompt.split())}
        if "FORCE_UNSAFE" in wanted.prompt:
            return web.json_response({"promptFeedback": {"blockReason": "PROHIBITED_CONTENT"},
                                      "usageMetadata": usage, "modelVersion": model})
        if "FORCE_FAIL" in wanted.prompt:
            parts: list[dict[str, Any]] = [{"text": "I can't make that picture."}]
            reason = "NO_IMAGE"
        else:
            png = await asyncio.to_thread(make_png, wanted.prompt, *ratio_size(wanted.aspect))
            parts = [{"text": "Here is your picture."},
                     {"inlineData": {"mimeType": "image/png",
                                     "data": base64.b64encode(png).decode()}}]
            reason = "STOP"
        candidate = {"content": {"role": "model", "parts": parts}, "finishReason": reason,
                     "index": 0}
        return web.json_response({"candidates": [candidate], "usageMetadata": usage,
                                  "modelVersion": model,
                                  "responseId": secrets.token_urlsafe(12)})

    async def _imagen(self, body: Any) -> web.Response:
        wanted = imagen_request(body)
        if "FORCE_UNSAFE" in wanted.prompt:
            return web.json_response({"predictions": [{"raiFilteredReason": (
                "Your current safety filter threshold filtered out the generated image.")}]})
        png = await asyncio.to_thread(make_png, wanted.prompt, *ratio_size(wanted.aspect))
        prediction = {"bytesBase64Encoded": base64.b64encode(png).decode(), "mimeType": "image/png"}
        return web.json_response({"predictions": [prediction]})

    # videos

    async def _start_video(self, resource: str, model: str, body: Any, *,
                           vertex: bool) -> web.Response:
        wanted = video_request(body)
        if wanted.image is not None and await asyncio.to_thread(image_size, wanted.image) is None:
            return _fail(400, "Unable to process input image. Please retry or report in "
                              "https://developers.generativeai.google/guide/troubleshooting")
        if vertex:
            prefix = resource if resource.startswith("projects/") else VERTEX_PROJECT + resource
            name = f"{prefix}/operations/{uuid.uuid4()}"
        else:
            name = f"{resource}/operations/{secrets.token_hex(6)}"
        file_id = secrets.token_hex(6)
        self.operations[name] = GeminiOperation(name, model, wanted.prompt, wanted.aspect,
                                                wanted.image, time.monotonic(), vertex, file_id)
        self._files[file_id] = name
        return web.json_response({"name": name})

    async def _developer_operation(self, request: web.Request, body: Any) -> web.Response:
        name = request.match_info["name"]
        operation = self.operations.get(name)
        if operation is None or operation.vertex:
            return _fail(404, f"Operation {name} not found.")
        return web.json_response(await self._operation_body(operation))

    async def _vertex_operation(self, resource: str, body: Any) -> web.Response:
        name = body.get("operationName") if isinstance(body, dict) else None
        if not isinstance(name, str) or not name.startswith(resource + "/operations/"):
            return _fail(400, "operationName must name an operation of " + resource)
        operation = self.operations.get(name)
        if operation is None or not operation.vertex:
            return _fail(404, f"Operation {name} not found.")
        return web.json_response(await self._operation_body(operation))

    async def _operation_body(self, operation: GeminiOperation) -> dict[str, Any]:
        prompt = operation.prompt
        elapsed = time.monotonic() - operation.started
        if "FORCE_STUCK" in prompt or elapsed < self.config.latency:
            return {"name": operation.name}
        done: dict[str, Any] = {"name": operation.name, "done": True}
        if "FORCE_FAIL" in prompt:
            done["error"] = {"code": 13, "message": "Video generation failed: internal error."}
        elif "FORCE_UNSAFE" in prompt:
            done["response"] = _wrap(operation, {"raiMediaFilteredCount": 1,
                                                 "raiMediaFilteredReasons": [
                "The video was filtered because it violates Google's usage guidelines."]})
        elif operation.vertex:
            video = pad_mp4(await self._video(operation), self.config.video_bytes)
            done["response"] = _wrap(operation, {"videos": [
                {"bytesBase64Encoded": base64.b64encode(video).decode(),
                 "mimeType": "video/mp4"}]})
        else:
            uri = f"{DEVELOPER_ROOT}/v1beta/files/{operation.file_id}:download?alt=media"
            done["response"] = _wrap(operation, {"generatedSamples": [{"video": {"uri": uri}}]})
        return done

    async def _download(self, request: web.Request, body: Any) -> web.StreamResponse:
        file_id = request.match_info["file"]
        operation = self.operations.get(self._files.get(file_id, ""))
        if operation is None or operation.vertex:
            return _fail(404, f"File files/{file_id} not found.")
        data, size = await self._video(operation), self.config.video_bytes
        return await stream(request, padded_chunks(data, size),
                            length=padded_size(len(data), size), content_type="video/mp4")

    async def _video(self, operation: GeminiOperation) -> bytes:
        width, height = operation.size
        image = operation.image
        seed = operation.prompt if image is None else hashlib.sha256(image).hexdigest()
        key = ("gemini", image is not None, seed, width, height)

        def render() -> bytes:
            rgb = decode_image(image, width, height) if image is not None else None
            return make_mp4(rgb or gradient_rgb(seed, width, height), width, height)

        return await self._videos.get(key, render)


def _serves(model: str, method: str) -> bool:
    """Which simulated model answers which method: Gemini image models, Imagen and Veo."""
    if method == "generateContent":
        return "image" in model and not model.startswith("imagen")
    if method == "predict":
        return model.startswith("imagen")
    return method == "predictLongRunning" and model.startswith("veo")


def _wrap(operation: GeminiOperation, response: dict[str, Any]) -> dict[str, Any]:
    """The operation's `response`: Vertex AI puts the fields at the top, the Developer API under
    `generateVideoResponse`."""
    if operation.vertex:
        return {"@type": "type.googleapis.com/cloud.ai.large_models.vision.GenerateVideoResponse",
                **response}
    return {"@type": "type.googleapis.com/google.ai.generativelanguage.v1beta."
                     "PredictLongRunningResponse", "generateVideoResponse": response}


def _fail(status: int, message: str) -> web.Response:
    return web.json_response(google_error(status, message), status=status)


def env_lines(base_url: str, api_key: str | None) -> list[str]:
    """What an operator pastes into the bot's environment to use the simulated Gemini API."""
    lines = ["PROVIDER=gemini", f"GEMINI_API_URL={base_url}"]
    if api_key is None:
        return [*lines, "# any non-empty GEMINI_API_KEY is accepted"]
    return [*lines, f"GEMINI_API_KEY={api_key}"]
