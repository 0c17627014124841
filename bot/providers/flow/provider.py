"""`FlowProvider`: the provider interface spoken through the captcha proxy and Google Flow."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any

from bot.jobs.errors import AuthExpired, BadResponse, RequestRejected
from bot.jobs.model import COMMON_ASPECTS, Action, ImageRole, JobKind, ProviderName
from bot.jobs.provider import Accepted, AccountStatus, GenerationRequest, RenderStatus
from bot.providers import catalog
from bot.providers.flow import protocol
from bot.providers.flow.client import FlowClient
from bot.redact import fingerprint

logger = logging.getLogger(__name__)


async def _cannot_renew(stale: str | None) -> bool:
    return False


class FlowProvider:
    """Submits through the proxy, polls Google directly with whole operation entries."""

    name = ProviderName.FLOW
    supported_options = frozenset({"seed"})
    image_options = frozenset({"seed"})
    shareable_links = True
    pictures: Mapping[ImageRole, int] = MappingProxyType({ImageRole.FRAMES: 1})
    aspects = COMMON_ASPECTS
    image_model = protocol.IMAGE_MODEL
    video_model = protocol.T2V_MODEL

    def __init__(self, *, client: FlowClient,
                 renew: Callable[[str | None], Awaitable[bool]] = _cannot_renew) -> None:
        self._client = client
        self._renew = renew

    def offers(self, kind: JobKind, model: str | None) -> frozenset[Action]:
        """The seed's protocol has no extend or upscale: a result can only be made again."""
        return catalog.AGAIN_ONLY

    async def upload_image(self, data: bytes, *, mime: str) -> str:
        body = await self._client.google("POST", protocol.GOOGLE_UPLOAD,
                                         protocol.upload_body(data, mime))
        holder = body.get("mediaGenerationId") if isinstance(body, dict) else None
        media_id = holder.get("mediaGenerationId") if isinstance(holder, dict) else holder
        if not isinstance(media_id, str) or not media_id:
            raise BadResponse("the upload answer lacks 'mediaGenerationId'")
        return media_id

    async def submit(self, request: GenerationRequest) -> str:
        if request.extra_media_ids or (request.media_ids
                                       and request.image_role is ImageRole.REFERENCES):
            raise RequestRejected("Flow through the captcha proxy animates one picture as the "
                                  "first frame; it takes no last frame or reference pictures")
        project = (await self._client.credentials()).project_id
        if request.kind is JobKind.IMAGE:
            google_path = protocol.image_url(project)
            body = protocol.image_body(request.prompt, request.aspect, project,
                                       request.options.seed)
            answer = await self._client.proxy_create(protocol.PROXY_CREATE_IMAGE, google_path, body)
        else:
            ref = request.reference_media_id
            body = protocol.video_body(request.prompt, request.aspect, project, ref,
                                       request.options.seed)
            answer = await self._client.proxy_create(
                protocol.PROXY_CREATE_VIDEO, protocol.video_path(ref), body)
        return protocol.parse_task_id(answer)

    async def accepted(self, task_id: str, kind: JobKind) -> Accepted | None:
        answer = await self._client.proxy_task_status(task_id)
        bearer = (await self._client.credentials()).bearer_token
        result = protocol.parse_task_result(answer, credential=fingerprint(bearer))
        if result is None:
            return None
        if kind is JobKind.IMAGE:
            return protocol.parse_accepted_image(result)
        return protocol.parse_accepted_video(result)

    async def check(self, renders: Sequence[dict[str, Any]]) -> list[RenderStatus]:
        # No retry loop here: the poller's next tick is the retry, with its own backoff.
        body = await self._client.google("POST", protocol.GOOGLE_POLL,
                                         {"operations": list(renders)}, retry=False)
        return protocol.parse_poll(body, expected=len(renders))

    async def download(self, url: str, dest: Path, *, max_bytes: int) -> int:
        return await self._client.download(url, dest, max_bytes=max_bytes)

    async def renew_auth(self, failed: AuthExpired) -> bool:
        """A refused bearer may be renewed from the session cookie; a refused proxy token not."""
        proxy_token = (await self._client.credentials()).proxy_token
        if failed.credential is not None and failed.credential == fingerprint(proxy_token):
            return False
        return await self._renew(failed.credential)

    async def account_status(self) -> AccountStatus | None:
        return protocol.parse_credits(await self._client.google("GET", protocol.GOOGLE_CREDITS))
