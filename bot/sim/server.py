"""FlowSimulator: the captcha proxy and Google's Flow endpoints, an `aiohttp.web` app on loopback.

It validates what the bot sends against flow-protocol.md, answers like the real services (with
injectable errors), renders real PNG/MP4 media and mounts `GeminiSim` (Google's Gemini API) and
the labs.google session endpoint on the same port. `bot.sim.cli` serves it from the command line.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import hashlib
import json
import logging
import time
from dataclasses import dataclass
from typing import Any, NamedTuple

from aiohttp import web

from bot.sim import validate
from bot.sim.config import SimConfig
from bot.sim.gemini import GeminiSim
from bot.sim.google import QUOTA, SUCCESSFUL, google_error, unsafe_error
from bot.sim.interactions import InteractionRecord
from bot.sim.loopback import Handler, LoopbackServer, Route, RouteSpec, stream
from bot.sim.media import (
    Mp4Cache,
    decode_image,
    gradient_rgb,
    image_size,
    make_mp4,
    make_png,
    padded_chunks,
    padded_size,
)
from bot.sim.session import SESSION_PATH, SessionAuthority
from bot.sim.state import (
    IMAGE_SIZES,
    VIDEO_COST,
    Operation,
    SimState,
    StoredImage,
    prompt_bucket,
)
from bot.sim.useapi import PREFIX as USEAPI_PREFIX
from bot.sim.useapi import UseapiSim, useapi_error
from bot.sim.validate import ImageSpec, Invalid, ProxyCall, VideoSpec

logger = logging.getLogger(__name__)

PROXY = "/api/fix"
POLL = "/v1/video:batchCheckAsyncVideoGenerationStatus"
VIDEO_PREFIX, IMAGE_PREFIX = "/media/video/", "/media/image/"
MAX_BODY = 64 * 1024 * 1024  # uploadUserImage and Veo requests carry base64 pictures


@dataclass
class LoggedRequest:
    """One answered request, injected answers included."""

    method: str
    path: str
    status: int
    at: float  # time.monotonic() on arrival
    body: Any  # the parsed JSON body, or None (always None with keep_bodies=False)
    ops: int  # number of operations in a poll body, else 0


class VideoTiming(NamedTuple):
    """When a Flow video's create-video arrived and when its MP4 was first fetched (monotonic)."""

    created: float
    fetched: float | None


@dataclass
class _Injection:
    path_contains: str
    status: int
    times: int
    retry_after: float | None
    body: dict[str, Any] | None


class _Reject(Exception):
    def __init__(self, response: web.Response) -> None:
        super().__init__(response.status)
        self.response = response


def _proxy_fail(status: int, message: str) -> web.Response:
    return web.json_response({"success": False, "message": message}, status=status)


def _google_fail(status: int, message: str | None = None,
                 reason: str | None = None) -> web.Response:
    return web.json_response(google_error(status, message, reason), status=status)


def _bearer(request: web.Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


async def _parse_body(request: web.Request) -> Any:
    if not request.body_exists:
        return None
    try:
        return json.loads(await request.read())
    except ValueError:
        return None


def _poll_ops(path: str, body: Any) -> int:
    if path == POLL and isinstance(body, dict) and isinstance(body.get("operations"), list):
        return len(body["operations"])
    return 0


def _render(image: bytes | None, seed_text: str, width: int, height: int) -> bytes:
    rgb = decode_image(image, width, height) if image is not None else None
    return make_mp4(rgb or gradient_rgb(seed_text, width, height), width, height)


class FlowSimulator:
    """The proxy (under /api/fix) and Google (at the root) on one port.

    `log` holds every answered request (only the latest `keep_log`-odd ones when that is set);
    with `keep_bodies=False` its entries keep no request bodies, which a long benchmark wants.
    """

    def __init__(self, config: SimConfig | None = None, *, keep_log: int | None = None,
                 keep_bodies: bool = True) -> None:
        self.config = config or SimConfig()
        self.log: list[LoggedRequest] = []
        self.keep_bodies = keep_bodies
        self._keep_log = keep_log
        self._state = SimState()
        self.sessions = SessionAuthority()
        self.gemini = GeminiSim(self.config, api_key=self.config.gemini_api_key)
        self.useapi = UseapiSim(self.config)
        self._videos = Mp4Cache()
        self._injections: list[_Injection] = []
        self._server = LoopbackServer(self._application)

    # lifecycle and properties

    async def start(self, *, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve on host:port (0: a free port); returns the base URL."""
        return await self._server.start(host=host, port=port)

    async def stop(self) -> None:
        await self._server.stop()

    async def __aenter__(self) -> FlowSimulator:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        try:
            return self._server.url
        except RuntimeError:
            raise RuntimeError("simulator not started") from None

    @property
    def proxy_url(self) -> str:
        return self.base_url + PROXY

    @property
    def api_url(self) -> str:
        return self.base_url

    @property
    def session_url(self) -> str:
        return self.base_url + SESSION_PATH

    @property
    def useapi_url(self) -> str:
        """useapi.net's Google Flow API root (USEAPI_URL)."""
        return self.base_url + USEAPI_PREFIX

    # test and benchmark helpers

    def count(self, path_contains: str, method: str | None = None) -> int:
        """Requests in the log whose path contains the string (and of that method, if given)."""
        return sum(1 for entry in self.log if path_contains in entry.path
                   and (method is None or entry.method == method.upper()))

    def inject(self, path_contains: str, status: int, *, times: int = 1,
               retry_after: float | None = None, body: dict[str, Any] | None = None) -> None:
        """Answers the next `times` requests whose path contains the string with this status."""
        self._injections.append(_Injection(path_contains, status, times, retry_after, body))

    def interactions(self) -> list[InteractionRecord]:
        """Every Gemini Omni interaction created (Interactions API), oldest first."""
        return self.gemini.records()

    def video_times(self) -> dict[str, VideoTiming]:
        """Per Flow video prompt: when its create-video arrived, when its MP4 was first fetched."""
        return {op.spec.prompt: VideoTiming(op.created, op.fetched)
                for op in self._state.operations.values()}

    # dispatch

    def _application(self) -> web.Application:
        app = web.Application(client_max_size=MAX_BODY)
        for method, path, route in [*self._routes(), *self.gemini.routes(),
                                    *self.useapi.routes()]:
            app.router.add_route(method, path, self._endpoint(route))
        app.router.add_route("*", "/{tail:.*}", self._endpoint(self._no_route))
        return app

    def _routes(self) -> list[RouteSpec]:
        return [
            ("POST", f"{PROXY}/create-image-veo3", self._create_image),
            ("POST", f"{PROXY}/create-video-veo3", self._create_video),
            ("GET", f"{PROXY}/task-status", self._task_status),
            ("POST", POLL, self._poll),
            ("POST", "/v1:uploadUserImage", self._upload),
            ("GET", "/v1/credits", self._credits),
            ("GET", SESSION_PATH, self._session),
            ("GET", VIDEO_PREFIX + "{file:.+}", self._media_video),
            ("GET", IMAGE_PREFIX + "{file:.+}", self._media_image),
        ]

    def _endpoint(self, route: Route) -> Handler:
        """What every request goes through: the injections, error answers and the log."""

        async def endpoint(request: web.Request) -> web.StreamResponse:
            at = time.monotonic()
            body = await _parse_body(request)
            response: web.StreamResponse | None = self._injected(request.path)
            if response is None:  # not `or`: an aiohttp response may be falsy (a Mapping)
                response = await self._answer(route, request, body)
            self._record(LoggedRequest(request.method, request.path, response.status, at,
                                       body if self.keep_bodies else None,
                                       _poll_ops(request.path, body)))
            return response

        return endpoint

    async def _answer(self, route: Route, request: web.Request, body: Any) -> web.StreamResponse:
        try:
            return await route(request, body)
        except _Reject as reject:
            return reject.response
        except ConnectionError:
            raise  # the client left in the middle of a streamed answer: nothing to send
        except Exception:
            logger.exception("simulator failed on %s %s", request.method, request.path)
            return _google_fail(500)

    def _record(self, entry: LoggedRequest) -> None:
        self.log.append(entry)
        if self._keep_log is not None and len(self.log) > 2 * self._keep_log:
            del self.log[: -self._keep_log]
        extra = f" ({entry.ops} ops)" if entry.ops else ""
        logger.info("%s %s -> %d%s", entry.method, entry.path, entry.status, extra)

    def _injected(self, path: str) -> web.Response | None:
        for injection in self._injections:
            if injection.times > 0 and injection.path_contains in path:
                injection.times -= 1
                headers = {}
                if injection.retry_after is not None:
                    headers["Retry-After"] = f"{injection.retry_after:g}"
                body = injection.body if injection.body is not None else (
                    useapi_error(injection.status, retry_after=injection.retry_after)
                    if path.startswith(USEAPI_PREFIX) else google_error(injection.status))
                return web.json_response(body, status=injection.status, headers=headers)
        self._injections = [i for i in self._injections if i.times > 0]
        return None

    async def _no_route(self, request: web.Request, body: Any) -> web.Response:
        if request.path.startswith(USEAPI_PREFIX):
            return web.json_response(useapi_error(404, f"no route {request.method} "
                                                       f"{request.path}"), status=404)
        if request.path.startswith(PROXY):
            return _proxy_fail(404, f"no route {request.method} {request.path}")
        return _google_fail(404, f"no route {request.method} {request.path}")

    def _proxy_auth(self, request: web.Request) -> None:
        token = self.config.proxy_token
        if token is not None and _bearer(request) != token:
            raise _Reject(_proxy_fail(401, "Unauthorized: invalid proxy token"))

    def _google_auth(self, request: web.Request) -> None:
        token = _bearer(request)
        if token is None or not self.sessions.is_valid(token, self.config.bearer_token):
            raise _Reject(_google_fail(401))

    def _google_refusal(self, call: ProxyCall, prompts: list[str]) -> dict[str, Any] | None:
        """What Google answers the proxy instead of doing the work, if anything."""
        if not self.sessions.is_valid(call.token, self.config.bearer_token):
            return google_error(401)
        if any("FORCE_UNSAFE" in prompt for prompt in prompts):
            return unsafe_error()
        return None

    # proxy routes

    async def _create_image(self, request: web.Request, body: Any) -> web.Response:
        self._proxy_auth(request)
        try:
            call = validate.proxy_call(body)
            specs = validate.image_specs(call)
        except Invalid as exc:
            return _proxy_fail(400, str(exc))
        result = self._google_refusal(call, [spec.prompt for spec in specs])
        if result is None:
            result = await self._generate_images(specs)
        return self._task("image", result)

    async def _generate_images(self, specs: list[ImageSpec]) -> dict[str, Any]:
        media = []
        for spec in specs:
            width, height = IMAGE_SIZES[spec.aspect]
            png = await asyncio.to_thread(make_png, spec.prompt, width, height)
            key = self._state.add_image(StoredImage(png, "image/png", width, height), "CAMSJD")
            media.append((key, base64.b64encode(png).decode()))
        return self._state.image_result(specs, media, self.base_url)

    async def _create_video(self, request: web.Request, body: Any) -> web.Response:
        self._proxy_auth(request)
        try:
            call = validate.proxy_call(body)
            specs = validate.video_specs(call, self._state.images)
        except Invalid as exc:
            return _proxy_fail(400, str(exc))
        result = self._google_refusal(call, [spec.prompt for spec in specs])
        return self._task("video", result or self._start_videos(specs))

    def _start_videos(self, specs: list[VideoSpec]) -> dict[str, Any]:
        cost = VIDEO_COST * len(specs)
        if self.config.credits < cost:
            return google_error(429, "Not enough credits.", QUOTA)
        self.config.credits -= cost
        entries = self._state.add_operations(specs, time.monotonic())
        return {"operations": entries, "remainingCredits": self.config.credits}

    def _task(self, kind: str, result: dict[str, Any]) -> web.Response:
        task_id = self._state.add_task(kind, result, time.monotonic())
        return web.json_response({"success": True, "taskId": task_id})

    async def _task_status(self, request: web.Request, body: Any) -> web.Response:
        self._proxy_auth(request)
        task_id = request.query.get("taskId", "")
        if not task_id:
            return _proxy_fail(400, "taskId is required")
        result = self._state.task_result(task_id, self.config, time.monotonic())
        if result is None:
            return _proxy_fail(404, "task not found")
        return web.json_response({"success": True, "result": result})

    # Google routes

    async def _poll(self, request: web.Request, body: Any) -> web.Response:
        self._google_auth(request)
        try:
            entries = validate.poll_entries(body)
        except Invalid as exc:
            return _google_fail(400, f"Invalid JSON payload: {exc}")
        now, latency = time.monotonic(), self.config.latency
        answer = [self._state.poll_entry(entry, latency, now, self.base_url) for entry in entries]
        return web.json_response({"operations": answer,
                                  "remainingCredits": self.config.credits})

    async def _upload(self, request: web.Request, body: Any) -> web.Response:
        self._google_auth(request)
        try:
            upload = validate.upload(body)
        except Invalid as exc:
            return _google_fail(400, str(exc))
        size = await asyncio.to_thread(image_size, upload.data)
        if size is None:
            return _google_fail(400, "imageInput.rawImageBytes is not a decodable image")
        image = StoredImage(upload.data, upload.mime, *size)
        key = self._state.add_image(image, "CAMa")
        return web.json_response({"mediaGenerationId": {"mediaGenerationId": key},
                                  "width": size[0], "height": size[1]})

    async def _credits(self, request: web.Request, body: Any) -> web.Response:
        self._google_auth(request)
        return web.json_response({"credits": self.config.credits,
                                  "userPaygateTier": "PAYGATE_TIER_TWO"})

    async def _session(self, request: web.Request, body: Any) -> web.Response:
        return web.json_response(self.sessions.session(request.headers.get("cookie")))

    # media (signed links: no auth)

    async def _media_video(self, request: web.Request, body: Any) -> web.StreamResponse:
        now = time.monotonic()
        op = self._state.operations.get(request.match_info["file"].removesuffix(".mp4"))
        if op is None or op.status(self.config.latency, now) != SUCCESSFUL:
            return _google_fail(404, "video not found")
        if op.fetched is None:
            op.fetched = now
        data, size = await self._video_bytes(op), self.config.video_bytes
        return await stream(request, padded_chunks(data, size),
                            length=padded_size(len(data), size), content_type="video/mp4")

    async def _video_bytes(self, op: Operation) -> bytes:
        width, height = op.size
        source = self._state.images.get(op.spec.source) if op.spec.source else None
        if source is not None:
            key: tuple[object, ...] = ("i2v", hashlib.sha256(source.data).digest(), width, height)
            make = functools.partial(_render, source.data, str(op.spec.source), width, height)
        else:
            bucket = f"bucket-{prompt_bucket(op.spec.prompt)}"
            key = ("t2v", bucket, width, height)
            make = functools.partial(_render, None, bucket, width, height)
        return await self._videos.get(key, make)

    async def _media_image(self, request: web.Request, body: Any) -> web.Response:
        key = request.match_info["file"].removesuffix(".png")
        image = self._state.images.get(key)
        if image is not None:
            return web.Response(body=image.data, content_type=image.mime)
        op = self._state.by_media.get(key)
        if op is None:
            return _google_fail(404, "image not found")
        return web.Response(body=await asyncio.to_thread(self._thumbnail, op),
                            content_type="image/png")

    def _thumbnail(self, op: Operation) -> bytes:
        source = self._state.images.get(op.spec.source) if op.spec.source else None
        if source is not None and source.mime == "image/png":
            return source.data
        width, height = op.size
        return make_png(f"bucket-{prompt_bucket(op.spec.prompt)}", width, height)
