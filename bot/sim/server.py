"""FlowSimulator: the captcha proxy and Google's Flow endpoints as a real HTTP server on loopback.

It validates what the bot sends against flow-protocol.md, answers like the real services (with
injectable errors), renders real PNG/MP4 media, and has a small CLI (`serve`) for manual runs.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import functools
import hashlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

from bot.sim import validate
from bot.sim.config import SimConfig
from bot.sim.gemini import GeminiSim
from bot.sim.gemini import env_lines as gemini_env_lines
from bot.sim.google import QUOTA, SUCCESSFUL, google_error, unsafe_error
from bot.sim.httpserver import HttpServer, Request, Response
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
from bot.sim.state import IMAGE_SIZES, VIDEO_COST, Operation, SimState, StoredImage, prompt_bucket
from bot.sim.validate import ImageSpec, Invalid, ProxyCall, VideoSpec

logger = logging.getLogger(__name__)

PROXY = "/api/fix"
POLL = "/v1/video:batchCheckAsyncVideoGenerationStatus"
VIDEO_PREFIX, IMAGE_PREFIX = "/media/video/", "/media/image/"
Route = Callable[[Request, Any], Awaitable[Response]]


@dataclass
class LoggedRequest:
    """One answered request, injected answers included."""

    method: str
    path: str
    status: int
    at: float  # time.monotonic() on arrival
    body: Any  # the parsed JSON body, or None
    ops: int  # number of operations in a poll body, else 0


@dataclass
class _Injection:
    path_contains: str
    status: int
    times: int
    retry_after: float | None
    body: dict[str, Any] | None


class _Reject(Exception):
    def __init__(self, response: Response) -> None:
        super().__init__(response.status)
        self.response = response


def _proxy_fail(status: int, message: str) -> Response:
    return Response.json({"success": False, "message": message}, status)


def _google_fail(status: int, message: str | None = None, reason: str | None = None) -> Response:
    return Response.json(google_error(status, message, reason), status)


def _bearer(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def _parse_body(request: Request) -> Any:
    if not request.body:
        return None
    try:
        return request.json()
    except ValueError:
        return None


def _poll_ops(path: str, body: Any) -> int:
    if path == POLL and isinstance(body, dict) and isinstance(body.get("operations"), list):
        return len(body["operations"])
    return 0


async def _stream(chunks: Iterator[bytes]) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


def _render(image: bytes | None, seed_text: str, width: int, height: int) -> bytes:
    rgb = decode_image(image, width, height) if image is not None else None
    return make_mp4(rgb or gradient_rgb(seed_text, width, height), width, height)


class FlowSimulator:
    """The proxy (under /api/fix) and Google (at the root) on one port."""

    def __init__(self, config: SimConfig | None = None, *, keep_log: int | None = None) -> None:
        self.config = config or SimConfig()
        self.log: list[LoggedRequest] = []
        self._keep_log = keep_log
        self._state = SimState()
        self.sessions = SessionAuthority()
        self.gemini = GeminiSim(self.config, api_key=self.config.gemini_api_key)
        self._videos = Mp4Cache()
        self._injections: list[_Injection] = []
        self._server: HttpServer | None = None
        self._base_url: str | None = None
        self._routes: dict[tuple[str, str], Route] = {
            ("POST", f"{PROXY}/create-image-veo3"): self._create_image,
            ("POST", f"{PROXY}/create-video-veo3"): self._create_video,
            ("GET", f"{PROXY}/task-status"): self._task_status,
            ("POST", POLL): self._poll,
            ("POST", "/v1:uploadUserImage"): self._upload,
            ("GET", "/v1/credits"): self._credits,
            ("GET", SESSION_PATH): self._session,
        }

    # lifecycle and properties

    async def start(self, *, host: str = "127.0.0.1", port: int = 0) -> str:
        self._server = HttpServer(self._handle, host=host, port=port)
        self._base_url = await self._server.start()
        return self._base_url

    async def stop(self) -> None:
        if self._server is not None:
            await self._server.stop()
            self._server = None

    async def __aenter__(self) -> FlowSimulator:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        if self._base_url is None:
            raise RuntimeError("simulator not started")
        return self._base_url

    @property
    def proxy_url(self) -> str:
        return self.base_url + PROXY

    @property
    def api_url(self) -> str:
        return self.base_url

    @property
    def session_url(self) -> str:
        return self.base_url + SESSION_PATH

    # test helpers

    def count(self, path_contains: str, method: str | None = None) -> int:
        """Requests in the log whose path contains the string (and of that method, if given)."""
        return sum(1 for entry in self.log if path_contains in entry.path
                   and (method is None or entry.method == method.upper()))

    def inject(self, path_contains: str, status: int, *, times: int = 1,
               retry_after: float | None = None, body: dict[str, Any] | None = None) -> None:
        """Answers the next `times` requests whose path contains the string with this status."""
        self._injections.append(_Injection(path_contains, status, times, retry_after, body))

    # dispatch

    async def _handle(self, request: Request) -> Response:
        at = time.monotonic()
        body = _parse_body(request)
        response = self._injected(request.path)
        if response is None:
            try:
                response = await self._route(request, body)
            except _Reject as reject:
                response = reject.response
            except Exception:
                logger.exception("simulator failed on %s %s", request.method, request.path)
                response = _google_fail(500)
        self._record(LoggedRequest(request.method, request.path, response.status, at, body,
                                   _poll_ops(request.path, body)))
        return response

    def _record(self, entry: LoggedRequest) -> None:
        self.log.append(entry)
        if self._keep_log is not None and len(self.log) > 2 * self._keep_log:
            del self.log[: -self._keep_log]
        extra = f" ({entry.ops} ops)" if entry.ops else ""
        logger.info("%s %s -> %d%s", entry.method, entry.path, entry.status, extra)

    def _injected(self, path: str) -> Response | None:
        for injection in self._injections:
            if injection.times > 0 and injection.path_contains in path:
                injection.times -= 1
                headers = {}
                if injection.retry_after is not None:
                    headers["Retry-After"] = f"{injection.retry_after:g}"
                body = injection.body if injection.body is not None else google_error(
                    injection.status)
                return Response.json(body, injection.status, headers)
        self._injections = [i for i in self._injections if i.times > 0]
        return None

    async def _route(self, request: Request, body: Any) -> Response:
        answer = await self.gemini.handle(request, body)
        if answer is not None:
            return answer
        route = self._routes.get((request.method, request.path))
        if route is not None:
            return await route(request, body)
        if request.method == "GET" and request.path.startswith(VIDEO_PREFIX):
            return await self._media_video(request.path.removeprefix(VIDEO_PREFIX))
        if request.method == "GET" and request.path.startswith(IMAGE_PREFIX):
            return await self._media_image(request.path.removeprefix(IMAGE_PREFIX))
        if request.path.startswith(PROXY):
            return _proxy_fail(404, f"no route {request.method} {request.path}")
        return _google_fail(404, f"no route {request.method} {request.path}")

    def _proxy_auth(self, request: Request) -> None:
        token = self.config.proxy_token
        if token is not None and _bearer(request) != token:
            raise _Reject(_proxy_fail(401, "Unauthorized: invalid proxy token"))

    def _google_auth(self, request: Request) -> None:
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

    async def _create_image(self, request: Request, body: Any) -> Response:
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

    async def _create_video(self, request: Request, body: Any) -> Response:
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

    def _task(self, kind: str, result: dict[str, Any]) -> Response:
        task_id = self._state.add_task(kind, result, time.monotonic())
        return Response.json({"success": True, "taskId": task_id})

    async def _task_status(self, request: Request, body: Any) -> Response:
        self._proxy_auth(request)
        task_id = request.query.get("taskId", "")
        if not task_id:
            return _proxy_fail(400, "taskId is required")
        result = self._state.task_result(task_id, self.config, time.monotonic())
        if result is None:
            return _proxy_fail(404, "task not found")
        return Response.json({"success": True, "result": result})

    # Google routes

    async def _poll(self, request: Request, body: Any) -> Response:
        self._google_auth(request)
        try:
            entries = validate.poll_entries(body)
        except Invalid as exc:
            return _google_fail(400, f"Invalid JSON payload: {exc}")
        now, latency = time.monotonic(), self.config.latency
        answer = [self._state.poll_entry(entry, latency, now, self.base_url) for entry in entries]
        return Response.json({"operations": answer, "remainingCredits": self.config.credits})

    async def _upload(self, request: Request, body: Any) -> Response:
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
        return Response.json({"mediaGenerationId": {"mediaGenerationId": key},
                              "width": size[0], "height": size[1]})

    async def _credits(self, request: Request, body: Any) -> Response:
        self._google_auth(request)
        return Response.json({"credits": self.config.credits,
                              "userPaygateTier": "PAYGATE_TIER_TWO"})

    async def _session(self, request: Request, body: Any) -> Response:
        return Response.json(self.sessions.session(request.headers.get("cookie")))

    # media (signed links: no auth)

    async def _media_video(self, file_name: str) -> Response:
        op = self._state.operations.get(file_name.removesuffix(".mp4"))
        if op is None or op.status(self.config.latency, time.monotonic()) != SUCCESSFUL:
            return _google_fail(404, "video not found")
        data = await self._video_bytes(op)
        size = self.config.video_bytes
        return Response(stream=_stream(padded_chunks(data, size)),
                         length=padded_size(len(data), size),
                         headers={"Content-Type": "video/mp4"})

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

    async def _media_image(self, file_name: str) -> Response:
        key = file_name.removesuffix(".png")
        image = self._state.images.get(key)
        if image is not None:
            return Response(body=image.data, headers={"Content-Type": image.mime})
        op = self._state.by_media.get(key)
        if op is None:
            return _google_fail(404, "image not found")
        return Response(body=await asyncio.to_thread(self._thumbnail, op),
                        headers={"Content-Type": "image/png"})

    def _thumbnail(self, op: Operation) -> bytes:
        source = self._state.images.get(op.spec.source) if op.spec.source else None
        if source is not None and source.mime == "image/png":
            return source.data
        width, height = op.size
        return make_png(f"bucket-{prompt_bucket(op.spec.prompt)}", width, height)


# CLI


def env_lines(sim: FlowSimulator) -> list[str]:
    """What an operator pastes into the bot's environment to point it at the simulator."""
    lines = [f"FLOW_PROXY_URL={sim.proxy_url}", f"FLOW_API_URL={sim.api_url}"]
    accepted = []
    for name, value in (("FLOW_PROXY_TOKEN", sim.config.proxy_token),
                        ("FLOW_BEARER_TOKEN", sim.config.bearer_token)):
        if value is None:
            accepted.append(name)
        else:
            lines.append(f"{name}={value}")
    accepted.append("FLOW_PROJECT_ID")
    lines.append(f"# any {' / '.join(accepted)} is accepted (tokens must be non-empty)")
    lines.append("# or, for Google's official API (PROVIDER=gemini):")
    return lines + gemini_env_lines(sim.base_url, sim.config.gemini_api_key)


async def serve(*, host: str, port: int, config: SimConfig) -> None:
    """Runs the simulator until cancelled, printing the bot's environment lines first."""
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("bot.sim").setLevel(logging.INFO)
    sim = FlowSimulator(config, keep_log=1000)
    await sim.start(host=host, port=port)
    print(f"# Flow simulator on {sim.base_url} (latency {config.latency:g}s); bot environment:",
          flush=True)
    for line in env_lines(sim):
        print(line, flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await sim.stop()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The simulator's command-line flags (for `python -m bot sim`)."""
    defaults = SimConfig()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--latency", type=float, default=defaults.latency,
                        help="seconds from create-video to SUCCESSFUL")
    parser.add_argument("--task-polls", type=int, default=defaults.task_polls,
                        help="task-status calls answered 'not done' before the result")
    parser.add_argument("--image-latency", type=float, default=defaults.image_latency)
    parser.add_argument("--video-bytes", type=int, default=defaults.video_bytes,
                        help="pad every MP4 to at least this many bytes")
    parser.add_argument("--proxy-token", default=None, help="demand this proxy token")
    parser.add_argument("--bearer-token", default=None, help="demand this Google bearer token")
    parser.add_argument("--credits", type=int, default=defaults.credits)
    parser.add_argument("--gemini-api-key", default=None, help="demand this Gemini API key")


def config_from_args(args: argparse.Namespace) -> SimConfig:
    return SimConfig(latency=args.latency, task_polls=args.task_polls,
                     image_latency=args.image_latency, video_bytes=args.video_bytes,
                     proxy_token=args.proxy_token, bearer_token=args.bearer_token,
                     credits=args.credits, gemini_api_key=args.gemini_api_key)
