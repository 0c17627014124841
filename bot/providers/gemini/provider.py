"""`GeminiProvider`: the provider interface spoken through Google's official Gemini API.

google-genai 3.x (`client.aio`) carries every call on Vertex AI (`vertex=True`: express mode with
an API key, or a project and location), and on the Developer API (an AI Studio key) every call but
the two it refuses there: `:predictLongRunning` (Veo) and Imagen `:predict`, which
`bot.providers.gemini.rest` sends itself. The SDK runs on the app's httpx client, so there is one
HTTP stack, no hidden SDK retries (ours decide), and transport errors are plain httpx errors.

Handles the engine saves: a video's `task_id` is the operation name; an image's `task_id` and
`media_id` are `gemini-image:<sha256>.<ext>`, a file under `media_dir` (see `gemini_media`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import httpx
from google import genai
from google.auth.exceptions import GoogleAuthError
from google.genai import types
from google.genai.client import AsyncClient

from bot.jobs.errors import (
    AccessDenied,
    AuthExpired,
    BadResponse,
    QuotaExhausted,
    RequestRejected,
    ResultLost,
    ResultTooLarge,
    TransientError,
    UpstreamError,
)
from bot.jobs.model import JobKind, ProviderName
from bot.jobs.provider import (
    Accepted,
    AccountStatus,
    GenerationRequest,
    RenderState,
    RenderStatus,
)
from bot.jobs.retry import RetryPolicy, with_retries
from bot.providers.gemini import protocol
from bot.providers.gemini.errors import UPSTREAM, status_map, to_upstream
from bot.providers.gemini.media import MediaStore, StoredImage, copy_capped
from bot.providers.gemini.rest import DEVELOPER_ROOT, DEVELOPER_VERSION, DeveloperRest
from bot.providers.http import download_capped
from bot.redact import fingerprint, register_secret

logger = logging.getLogger(__name__)
T = TypeVar("T")

DEFAULT_IMAGE_MODEL = "gemini-2.5-flash-image"
DEFAULT_VIDEO_MODEL = "veo-3.1-fast-generate-preview"
#: Errors of one operation poll that are the account's, not the operation's: they stop the batch.
_ACCOUNT_ERRORS = (AuthExpired, AccessDenied, QuotaExhausted)


class GeminiProvider:
    """Images with a Gemini image model (or Imagen), videos with Veo, through google-genai."""

    name = ProviderName.GEMINI
    supported_options: frozenset[str]
    image_options: frozenset[str]
    shareable_links = False  # a file URI needs the API key; a Vertex video is a local file

    def __init__(
        self, *, api_key: str | None, media_dir: Path, http: httpx.AsyncClient,
        base_url: str | None = None, vertex: bool = False, project: str | None = None,
        location: str | None = None, image_model: str = DEFAULT_IMAGE_MODEL,
        video_model: str = DEFAULT_VIDEO_MODEL, timeout: float = 60.0,
        retry: RetryPolicy | None = None, poll_concurrency: int = 8,
    ) -> None:
        register_secret(api_key)
        self._key_print = fingerprint(api_key) if api_key else None
        self._video_options = (protocol.VERTEX_VIDEO_OPTIONS if vertex
                               else protocol.VIDEO_OPTIONS)
        self.supported_options = self._video_options
        self.image_options = (frozenset() if protocol.is_imagen(image_model)
                              else protocol.IMAGE_OPTIONS)
        self._image_model = image_model
        self._video_model = video_model
        self._retry = retry or RetryPolicy()
        self._media = MediaStore(media_dir)
        self._http = http
        self._api_key = api_key
        self._base_url = base_url.rstrip("/") if base_url else None
        self._poll_slots = asyncio.Semaphore(poll_concurrency)
        options = types.HttpOptions(
            base_url=base_url, timeout=int(timeout * 1000), httpx_async_client=http,
            api_version=None if vertex else DEVELOPER_VERSION)
        self._client, self._unusable = _sdk_client(
            vertex=vertex, api_key=api_key, project=project, location=location, options=options)
        self._rest = None if vertex else DeveloperRest(http=http, api_key=api_key or "",
                                                       base_url=base_url, timeout=timeout)

    @property
    def _sdk(self) -> AsyncClient:
        if self._client is None:
            raise AuthExpired(f"the Gemini provider is not configured: {self._unusable}")
        return self._client.aio

    async def aclose(self) -> None:
        """Close the SDK's own resources (the shared httpx client stays open)."""
        if self._client is not None:
            await self._client.aio.aclose()

    # the Provider protocol

    async def upload_image(self, data: bytes, *, mime: str) -> str:
        """No upload exists: the picture is kept on disk and sent inline with the video request."""
        return await self._media.put_image(data)

    async def submit(self, request: GenerationRequest) -> str:
        imagen = request.kind is JobKind.IMAGE and protocol.is_imagen(self._image_model)
        protocol.refuse_unsupported(request, video_options=self._video_options, imagen=imagen)
        if request.kind is JobKind.IMAGE:
            picture = await self._call("image generation", lambda: self._picture(request),
                                       idempotent=False)
            return await self._media.put_image(picture.data)
        image = await self._reference(request)
        name = await self._call("video submission", lambda: self._start_video(request, image),
                                idempotent=False)
        logger.info("gemini: video operation %s started", name)
        return name

    async def accepted(self, task_id: str, kind: JobKind) -> Accepted | None:
        if kind is not JobKind.IMAGE:
            return Accepted(render=[{"name": task_id}])
        stored = await self._media.image(task_id)
        if stored is None:
            raise ResultLost("the finished image is no longer on disk")
        return Accepted(media_id=task_id, image_bytes=stored.data)

    async def check(self, renders: Sequence[dict[str, Any]]) -> list[RenderStatus]:
        """Polls each operation (there is no batch endpoint), at most `poll_concurrency` at once."""
        results = await asyncio.gather(*(self._check_one(entry) for entry in renders),
                                       return_exceptions=True)
        return _settle(results)

    async def renew_auth(self, failed: AuthExpired) -> bool:
        """An API key cannot be renewed from here: the operator sets GEMINI_API_KEY anew."""
        return False

    async def account_status(self) -> AccountStatus | None:
        """The Gemini API does not tell a balance or tier."""
        return None

    async def download(self, url: str, dest: Path, *, max_bytes: int) -> int:
        parked = self._media.video_path(url)
        if parked is not None:
            return await self._copy_parked(parked, url, dest, max_bytes)
        if not (url.startswith(("https://", "http://")) and "/files/" in url):
            raise BadResponse("the video's address is not a Gemini file")
        return await self._call("video download",
                                lambda: self._download_once(url, dest, max_bytes))

    # images

    async def _picture(self, request: GenerationRequest) -> protocol.Picture:
        model, aspect = self._image_model, protocol.ASPECT_RATIO[request.aspect]
        if not protocol.is_imagen(model):
            config = types.GenerateContentConfig(
                response_modalities=["IMAGE"], image_config=types.ImageConfig(aspect_ratio=aspect),
                seed=request.options.seed)
            answer = await self._sdk.models.generate_content(
                model=model, contents=request.prompt, config=config)
            return protocol.picture_from_content(answer)
        if self._rest is not None:
            body = protocol.predict_body(request.prompt, request.aspect)
            return protocol.picture_from_predictions(await self._rest.call(model, "predict", body))
        images = await self._sdk.models.generate_images(
            model=model, prompt=request.prompt,
            config=types.GenerateImagesConfig(number_of_images=1, aspect_ratio=aspect))
        return protocol.picture_from_imagen(images)

    # videos

    async def _reference(self, request: GenerationRequest) -> StoredImage | None:
        handle = request.reference_media_id
        if request.kind is JobKind.VIDEO and handle is None:
            return None
        if handle is None or not self._media.is_image(handle):
            raise RequestRejected("this picture was not made or sent through the Gemini provider; "
                                  "please send the picture itself")
        image = await self._media.image(handle)
        if image is None:
            raise RequestRejected("this picture is no longer kept; please send it again")
        return image

    async def _start_video(self, request: GenerationRequest, image: StoredImage | None) -> str:
        if self._rest is not None:
            body = protocol.predict_body(request.prompt, request.aspect, image, request.options)
            answer = await self._rest.call(self._video_model, "predictLongRunning", body)
            return protocol.operation_name(answer)
        source = types.GenerateVideosSource(
            prompt=request.prompt,
            image=types.Image(image_bytes=image.data, mime_type=image.mime) if image else None)
        operation = await self._sdk.models.generate_videos(
            model=self._video_model, source=source,
            config=protocol.video_config(request.aspect, request.options))
        if not operation.name:
            raise BadResponse("the video submission answer lacks the operation 'name'")
        return operation.name

    async def _check_one(self, entry: dict[str, Any]) -> RenderStatus:
        name = entry.get("name")
        if not isinstance(name, str) or not name:
            return RenderStatus(RenderState.FAILED, error="malformed render entry")
        async with self._poll_slots:
            operation = await self._once(
                lambda: self._sdk.operations.get(
                    types.GenerateVideosOperation.model_validate({"name": name})))
        seen = protocol.outcome(operation)
        if seen.video is not None:  # Vertex AI answers the video inline: park it on disk
            return RenderStatus(RenderState.DONE, url=await self._media.put_video(name, seen.video))
        return RenderStatus(seen.state, url=seen.uri, error=seen.error)

    async def _download_once(self, url: str, dest: Path, max_bytes: int) -> int:
        """The file streamed to disk with the key; Google's root maps onto GEMINI_API_URL."""
        source = url
        if self._base_url and url.startswith(DEVELOPER_ROOT):
            source = self._base_url + url.removeprefix(DEVELOPER_ROOT)
        try:
            return await self._once(lambda: download_capped(
                self._http, source, dest, max_bytes=max_bytes, upstream=UPSTREAM,
                status_map=status_map(credential=self._key_print),
                headers={"x-goog-api-key": self._api_key or ""}))
        except ResultTooLarge as exc:  # name the file as Google does, not as fetched here
            raise ResultTooLarge(str(exc), url=url, size=exc.size) from exc

    async def _copy_parked(self, parked: Path, url: str, dest: Path, max_bytes: int) -> int:
        try:
            return await asyncio.to_thread(copy_capped, parked, dest, max_bytes=max_bytes, url=url)
        except FileNotFoundError as exc:
            dest.unlink(missing_ok=True)
            raise ResultLost("the finished video is no longer on disk") from exc

    async def _once(self, call: Callable[[], Awaitable[T]]) -> T:
        """One attempt, no retries (the poller's next tick, or `_call`'s loop, is the retry).
        A refusal names the key by its fingerprint, never the key itself."""
        if self._unusable is not None:  # no key: jobs wait for one, like an expired token
            raise AuthExpired(f"the Gemini provider is not configured: {self._unusable}",
                              credential=self._key_print)
        return await _translated(call, credential=self._key_print)

    async def _call(self, what: str, call: Callable[[], Awaitable[T]], *,
                    idempotent: bool = True) -> T:
        return await with_retries(lambda: self._once(call), policy=self._retry,
                                  what=f"gemini {what}", idempotent=idempotent)


def _sdk_client(*, vertex: bool, api_key: str | None, project: str | None,
                location: str | None, options: types.HttpOptions
                ) -> tuple[genai.Client | None, str | None]:
    """The SDK client, or None and why not. Without a key the Developer API is not tried (the
    SDK would otherwise fall back on GOOGLE_API_KEY from the environment)."""
    if not vertex and not api_key:
        return None, "no API key is set (GEMINI_API_KEY)"
    try:
        return genai.Client(vertexai=vertex, api_key=api_key or None, project=project,
                            location=location, http_options=options), None
    except (ValueError, GoogleAuthError) as exc:  # Vertex AI without a key, project or ADC
        return None, f"Vertex AI needs GEMINI_API_KEY or GEMINI_PROJECT and credentials ({exc})"


async def _translated(call: Callable[[], Awaitable[T]], *, credential: str | None) -> T:
    """Run one SDK or REST call; whatever it raises comes out as an `UpstreamError`."""
    try:
        return await call()
    except Exception as exc:
        error = to_upstream(exc, credential=credential)
        if error is None or error is exc:
            raise
        raise error from exc


def _settle(results: Sequence[RenderStatus | BaseException]) -> list[RenderStatus]:
    """Statuses in order. An account-wide or transient error fails the whole poll (the poller
    backs off or stops every job alike); any other error fails only its own operation."""
    errors = [r for r in results if isinstance(r, BaseException)]
    for kinds in (_ACCOUNT_ERRORS, (TransientError,)):
        for error in errors:
            if isinstance(error, kinds):
                raise error
    for error in errors:
        if not isinstance(error, UpstreamError):
            raise error
    return [r if isinstance(r, RenderStatus) else RenderStatus(RenderState.FAILED, error=str(r))
            for r in results]
