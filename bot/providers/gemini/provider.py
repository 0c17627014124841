"""`GeminiProvider`: the provider interface spoken through Google's official Gemini API.

Videos: Gemini Omni through the Interactions API, which we speak as REST ourselves
(`bot.providers.gemini.interactions`), on the Developer API or Agent Platform; Veo 3.1 on Agent
Platform (`GEMINI_VERTEX=true`) through google-genai's `generate_videos` (`:predictLongRunning`,
polled with `:fetchPredictOperation`). Images: a Gemini image model's `generateContent` through
google-genai. The SDK runs on the app's httpx client with no `retry_options`: its tenacity policy
is then one attempt (`retry_args(None)`), and since it is handed an httpx client it never takes
its aiohttp path (whose connection errors it would resend). So retries are ours alone.

A job's own `model` (a user's pick) wins over the configured one; either way a model the catalog
(`bot.providers.catalog`) does not know, knows is retired, or knows is not served on this
platform fails the job before any request. Omni models go through the Interactions API, Veo
models through `predictLongRunning` on Agent Platform.

Extend and upscale (Omni only; upscale on the models the catalog says offer it): one create with
`video_config.task` and `previous_interaction_id` (`protocol.follow_up_body`), sent once like any
paid create; Google's answer that the source is gone becomes `SourceExpired`. Gemini image models
have no upscale.

Handles the engine saves: an Omni video's `task_id` is the interaction id (render
`{"interaction": id}`, `media_id` `gemini-interaction:<id>` once done), a Veo video's the
operation name (render `{"name": …}`); an image's `task_id` and `media_id` are
`gemini-image:<sha256>.<ext>`, a file under `media_dir`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar

import httpx
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
from bot.jobs.model import COMMON_ASPECTS, Action, ImageRole, JobKind, ProviderName
from bot.jobs.provider import (
    Accepted,
    AccountStatus,
    GenerationRequest,
    RenderState,
    RenderStatus,
)
from bot.jobs.retry import RetryPolicy, with_retries
from bot.providers import catalog
from bot.providers.catalog import Api, Kind, Platform
from bot.providers.gemini import protocol
from bot.providers.gemini.errors import (
    UPSTREAM,
    is_gone,
    source_expired,
    status_map,
    to_upstream,
)
from bot.providers.gemini.interactions import (
    DEVELOPER_ROOT,
    DEVELOPER_VERSION,
    Interactions,
    agent_platform_base,
    developer_base,
    key_auth,
)
from bot.providers.gemini.media import MediaStore, StoredImage, copy_capped
from bot.providers.gemini.sdk import sdk_client
from bot.providers.http import download_capped
from bot.redact import fingerprint, register_secret

logger = logging.getLogger(__name__)
T = TypeVar("T")

DEFAULT_IMAGE_MODEL = catalog.DEFAULT_IMAGE
#: Errors of one render poll that are the account's, not the render's: they stop the batch.
_ACCOUNT_ERRORS = (AuthExpired, AccessDenied, QuotaExhausted)


class GeminiProvider:
    """Images with a Gemini image model, videos with Omni (or Veo on Agent Platform)."""

    name = ProviderName.GEMINI
    supported_options: frozenset[str]
    image_options: frozenset[str]
    shareable_links = False  # a file URI needs the API key; an inline video is a local file
    pictures: Mapping[ImageRole, int] = MappingProxyType({ImageRole.FRAMES: 2,
                                                         ImageRole.REFERENCES: 3})
    aspects = COMMON_ASPECTS  #: Omni's and Veo's 16:9 and 9:16

    def __init__(
        self, *, api_key: str | None, media_dir: Path, http: httpx.AsyncClient,
        base_url: str | None = None, vertex: bool = False, project: str | None = None,
        location: str | None = None, image_model: str = DEFAULT_IMAGE_MODEL,
        video_model: str | None = None, timeout: float = 60.0,
        retry: RetryPolicy | None = None, poll_concurrency: int = 8,
    ) -> None:
        register_secret(api_key)
        self._key_print = fingerprint(api_key) if api_key else None
        self._platform = catalog.gemini_platform(vertex)
        self._image_model = catalog.normalized(image_model)
        self._video_model = catalog.normalized(
            video_model or catalog.default_model(Kind.VIDEO, self._platform))
        self.image_model, self.video_model = self._image_model, self._video_model
        self.supported_options = _video_options(self._video_model)
        self.image_options = _image_options(self._image_model)
        self._retry = retry or RetryPolicy()
        self._media = MediaStore(media_dir)
        self._http = http
        self._api_key = api_key
        self._base_url = base_url.rstrip("/") if base_url else None
        self._timeout = timeout
        self._poll_slots = asyncio.Semaphore(poll_concurrency)
        options = types.HttpOptions(
            base_url=base_url, timeout=int(timeout * 1000), httpx_async_client=http,
            api_version=None if vertex else DEVELOPER_VERSION)
        self._client, self._unusable = sdk_client(
            vertex=vertex, api_key=api_key, project=project, location=location, options=options)
        self._interactions = self._interactions_client()

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

    def offers(self, kind: JobKind, model: str | None) -> frozenset[Action]:
        default = self.video_model if kind.makes_video else self.image_model
        return catalog.offers("gemini", model or default, kind)

    async def upload_image(self, data: bytes, *, mime: str) -> str:
        """No upload exists: the picture is kept on disk and sent inline with the video request."""
        return await self._media.put_image(data)

    async def submit(self, request: GenerationRequest) -> str:
        if request.kind is JobKind.IMAGE_UPSCALE:
            raise RequestRejected("Gemini image models have no upscale")
        kind = Kind.VIDEO if request.kind.makes_video else Kind.IMAGE
        model = self._model(request, kind)
        self._refuse_retired(kind, model)  # before anything is sent
        protocol.refuse_unsupported(request, video_options=_video_options(model),
                                    image_options=_image_options(model))
        if kind is Kind.IMAGE:
            picture = await self._paid("image generation", kind, model,
                                       lambda: self._picture(request, model))
            return await self._media.put_image(picture.data)
        if request.kind.from_result:
            return await self._follow_up(request, model)
        pictures = await self._pictures(request)
        protocol.refuse_values(request.options, model, catalog.lookup("gemini", model))
        api = catalog.video_api(model)
        if api is Api.INTERACTIONS:
            return await self._start_interaction(request, pictures, model)
        if api is Api.PREDICT_LONG_RUNNING and self._platform is Platform.AGENT_PLATFORM:
            return await self._start_veo(request, pictures, model)
        why = ("no Veo is left on the Gemini Developer API"
               if api is Api.PREDICT_LONG_RUNNING else "it makes no videos")
        default = catalog.default_model(Kind.VIDEO, self._platform)
        raise RequestRejected(f"the video model {model} cannot be called here "
                              f"({why}); the operator should set GEMINI_VIDEO_MODEL={default}")

    async def accepted(self, task_id: str, kind: JobKind) -> Accepted | None:
        if kind.makes_video:
            key = "name" if "/operations/" in task_id else "interaction"
            return Accepted(render=[{key: task_id}])
        stored = await self._media.image(task_id)
        if stored is None:
            raise ResultLost("the finished image is no longer on disk")
        return Accepted(media_id=task_id, image_bytes=stored.data)

    async def check(self, renders: Sequence[dict[str, Any]]) -> list[RenderStatus]:
        """Polls each render (there is no batch endpoint), at most `poll_concurrency` at once."""
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
        source = self._file_source(url)
        return await self._call("video download",
                                lambda: self._download_once(url, source, dest, max_bytes))

    # models

    def _model(self, request: GenerationRequest, kind: Kind) -> str:
        """The job's own model when it names one (a catalog model of this provider and kind),
        else the configured one."""
        if request.model is None:
            return self._image_model if kind is Kind.IMAGE else self._video_model
        model = catalog.normalized(request.model)
        info = catalog.lookup("gemini", model)
        if info is None:
            raise RequestRejected(f"the model {model} is not one the Gemini provider knows")
        if info.kind is not kind:
            raise RequestRejected(f"the model {model} makes {info.kind.value}s, "
                                  f"not {kind.value}s")
        return model

    def _refuse_retired(self, kind: Kind, model: str) -> None:
        """A retired model fails the job at once, naming the date and the replacement."""
        found = catalog.problem("gemini", model, kind, self._platform,
                                catalog.gemini_variable(kind))
        if found is None:
            return
        if found.retired_on is not None:
            raise catalog.retired_error(found)
        raise RequestRejected(found.sentence)

    async def _paid(self, what: str, kind: Kind, model: str,
                    call: Callable[[], Awaitable[T]]) -> T:
        """A call that costs money: never repeated after an unclear failure; Google's "no longer
        available" names the model as retired."""
        try:
            return await self._call(what, call, idempotent=False)
        except RequestRejected as exc:
            if not is_gone(exc):
                raise
            raise catalog.gone_error(model, kind, self._platform,
                                     catalog.gemini_variable(kind)) from exc

    # images

    async def _picture(self, request: GenerationRequest, model: str) -> protocol.Picture:
        config = types.GenerateContentConfig(
            response_modalities=["IMAGE"],
            image_config=types.ImageConfig(aspect_ratio=protocol.ASPECT_RATIO[request.aspect]),
            seed=request.options.seed)
        answer = await self._sdk.models.generate_content(
            model=model, contents=request.prompt, config=config)
        return protocol.picture_from_content(answer)

    # videos

    async def _pictures(self, request: GenerationRequest) -> list[StoredImage]:
        """The job's pictures, first one first, read from disk."""
        if request.kind is JobKind.ANIMATE and not request.media_ids:
            raise RequestRejected("this video needs a picture; please send the picture itself")
        return [await self._picture_of(handle) for handle in request.media_ids]

    async def _picture_of(self, handle: str) -> StoredImage:
        if not self._media.is_image(handle):
            raise RequestRejected("this picture was not made or sent through the Gemini provider; "
                                  "please send the picture itself")
        image = await self._media.image(handle)
        if image is None:
            raise RequestRejected("this picture is no longer kept; please send it again")
        return image

    def _delivery(self) -> protocol.Delivery:
        """Agent Platform sends a uri only to a bucket: there the video comes inline."""
        return (protocol.Delivery.INLINE if self._platform is Platform.AGENT_PLATFORM
                else protocol.Delivery.URI)

    async def _start_interaction(self, request: GenerationRequest,
                                 pictures: Sequence[StoredImage], model: str) -> str:
        body = protocol.interaction_body(model=model, prompt=request.prompt,
                                         aspect=request.aspect, options=request.options,
                                         pictures=pictures, task=_task(request, pictures),
                                         delivery=self._delivery())
        return await self._create("video submission", model, body)

    async def _create(self, what: str, model: str, body: dict[str, Any]) -> str:
        """One paid create on the Interactions API; its id is the task id."""
        answer = await self._paid(what, Kind.VIDEO, model, lambda: self._api().create(body))
        interaction = protocol.interaction_id(answer)
        logger.info("gemini: interaction %s started (%s, %s)", interaction, model, what)
        return interaction

    async def _follow_up(self, request: GenerationRequest, model: str) -> str:
        """An extend or upscale of an Omni video this provider made, by its interaction."""
        task = (protocol.VideoTask.EXTEND if request.kind is JobKind.EXTEND
                else protocol.VideoTask.UPSCALE)
        _refuse_follow_up(request, model, task)
        interaction = protocol.interaction_of(request.reference_media_id)
        if interaction is None:
            raise RequestRejected("this video was not made with Gemini Omni through this bot, "
                                  "so it cannot be extended or upscaled here")
        body = protocol.follow_up_body(model=model, task=task, interaction=interaction,
                                       prompt=request.prompt, options=request.options,
                                       delivery=self._delivery())
        try:
            return await self._create(f"video {task.value}", model, body)
        except RequestRejected as exc:
            gone = source_expired(exc)
            if gone is None:
                raise
            raise gone from exc

    async def _start_veo(self, request: GenerationRequest,
                         pictures: Sequence[StoredImage], model: str) -> str:
        source, config = protocol.veo_request(request.prompt, request.aspect, request.options,
                                              pictures, _task(request, pictures))

        async def start() -> types.GenerateVideosOperation:
            return await self._sdk.models.generate_videos(model=model, source=source,
                                                          config=config)

        operation = await self._paid("video submission", Kind.VIDEO, model, start)
        if not operation.name:
            raise BadResponse("the video submission answer lacks the operation 'name'")
        logger.info("gemini: video operation %s started", operation.name)
        return operation.name

    async def _check_one(self, entry: dict[str, Any]) -> RenderStatus:
        interaction, name = entry.get("interaction"), entry.get("name")
        if isinstance(interaction, str) and interaction:
            async with self._poll_slots:
                answer = await self._once(lambda: self._api().get(interaction))
            return await self._status(interaction, protocol.interaction_outcome(answer),
                                      protocol.video_handle(interaction))
        if isinstance(name, str) and name:
            async with self._poll_slots:
                operation = await self._once(
                    lambda: self._sdk.operations.get(
                        types.GenerateVideosOperation.model_validate({"name": name})))
            return await self._status(name, protocol.outcome(operation))
        return RenderStatus(RenderState.FAILED, error="malformed render entry")

    async def _status(self, key: str, seen: protocol.Outcome,
                      handle: str | None = None) -> RenderStatus:
        """`handle` is the result's `media_id` once done (an Omni video's interaction)."""
        media_id = handle if seen.state is RenderState.DONE else None
        if seen.video is not None:  # an inline video: parked on disk until the download
            return RenderStatus(RenderState.DONE, url=await self._media.put_video(key, seen.video),
                                media_id=media_id)
        return RenderStatus(seen.state, url=seen.uri, error=seen.error, media_id=media_id)

    # files

    def _file_source(self, url: str) -> str:
        """Where a Gemini file is fetched: Google's root maps onto GEMINI_API_URL. The key goes
        to Google's host (or GEMINI_API_URL) only, never to another host an answer names."""
        if "/files/" not in url:
            raise BadResponse("the video's address is not a Gemini API file")
        if url.startswith(DEVELOPER_ROOT + "/"):
            return self._base_url + url.removeprefix(DEVELOPER_ROOT) if self._base_url else url
        if self._base_url and url.startswith(self._base_url + "/"):
            return url
        raise BadResponse("the video's address is not on the Gemini API's host")

    async def _download_once(self, url: str, source: str, dest: Path, max_bytes: int) -> int:
        """The file streamed to disk with the key."""
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

    # plumbing

    def _interactions_client(self) -> Interactions | None:
        """The Interactions API where this deploy calls it: the Developer API with the key, or
        Agent Platform where the SDK would call it (its root, version, project and location)
        with the key (express mode) or a bearer token from the SDK's credentials."""
        answers = status_map(credential=self._key_print)
        if self._platform is Platform.DEVELOPER:
            if not self._api_key:
                return None
            return Interactions(http=self._http, base=developer_base(self._base_url),
                                auth=key_auth(self._api_key), status_map=answers,
                                timeout=self._timeout)
        if self._client is None:
            return None
        api = self._client._api_client  # the SDK's resolved endpoint and credentials
        base = agent_platform_base(str(api._http_options.base_url or ""),
                                   api._http_options.api_version or "", api.project, api.location)
        auth = key_auth(api.api_key) if api.api_key else self._bearer
        return Interactions(http=self._http, base=base, auth=auth, status_map=answers,
                            timeout=self._timeout)

    async def _bearer(self) -> dict[str, str]:
        """An access token from the application default credentials, as the SDK gets one."""
        if self._client is None:
            raise AuthExpired(f"the Gemini provider is not configured: {self._unusable}")
        try:
            token = str(await self._client._api_client._async_access_token())
        except (GoogleAuthError, RuntimeError, ValueError) as exc:
            raise AuthExpired(f"Agent Platform credentials gave no token ({type(exc).__name__})"
                              ) from exc
        register_secret(token)
        return {"Authorization": f"Bearer {token}"}

    def _api(self) -> Interactions:
        if self._interactions is None:
            raise AuthExpired(f"the Gemini provider is not configured: {self._unusable}",
                              credential=self._key_print)
        return self._interactions

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
    backs off or stops every job alike); any other error fails only its own render."""
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


def _video_options(model: str) -> frozenset[str]:
    """The options a video model honours: its row's, else its family's."""
    info = catalog.lookup("gemini", model)
    if info is not None:
        return info.options
    return (catalog.OMNI_OPTIONS if catalog.video_api(model) is Api.INTERACTIONS
            else catalog.VEO_OPTIONS)


def _image_options(model: str) -> frozenset[str]:
    info = catalog.lookup("gemini", model)
    return info.options if info is not None else catalog.IMAGE_OPTIONS


def _refuse_follow_up(request: GenerationRequest, model: str, task: protocol.VideoTask) -> None:
    """Only Omni extends or upscales here, and only where the catalog says the model does."""
    if catalog.video_api(model) is not Api.INTERACTIONS:
        raise RequestRejected(f"{model} cannot {task.value} a video here; Gemini Omni can")
    offered = catalog.offers("gemini", model, request.kind)
    if task is protocol.VideoTask.EXTEND:
        if Action.EXTEND not in offered:
            raise RequestRejected(f"{model} does not extend videos")
        seconds = request.options.duration
        if seconds is not None and seconds not in protocol.EXTENSION_SECONDS:
            raise RequestRejected(f"an extension is 3 to 10 seconds, not {seconds}")
        protocol.refuse_values(request.options, model, catalog.lookup("gemini", model))
        return
    if not offered & catalog.VIDEO_UPSCALES.keys():
        raise RequestRejected(f"{model} does not upscale videos; gemini-omni-1.2-flash does")


def _task(request: GenerationRequest, pictures: Sequence[StoredImage]) -> protocol.VideoTask:
    """What the pictures are for: frames (one starts the video, a second ends it) or
    references."""
    if not pictures:
        return protocol.VideoTask.TEXT_TO_VIDEO
    if request.image_role is ImageRole.REFERENCES:
        return protocol.VideoTask.REFERENCE_TO_VIDEO
    return protocol.VideoTask.IMAGE_TO_VIDEO
