"""HTTP to the captcha proxy and to Google Flow: auth, error translation, retries, streaming."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bot.flow import protocol
from bot.flow.errors import (
    AuthExpired,
    BadResponse,
    ResultTooLarge,
    UpstreamError,
    from_response,
    from_transport,
)
from bot.flow.retry import RetryPolicy, with_retries

logger = logging.getLogger(__name__)
MAX_DOWNLOADS = 8


def fingerprint(token: str) -> str:
    """A short, one-way name for a token: safe to keep on errors and compare."""
    return hashlib.sha256(token.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class FlowCredentials:
    """One Google account as the proxy flow needs it. Never logged: see `bot.redact`."""

    bearer_token: str
    proxy_token: str
    project_id: str


class FlowClient:
    """Calls the proxy and Google; every failure comes out as an `UpstreamError`."""

    def __init__(
        self,
        *,
        http: httpx.AsyncClient,
        proxy_url: str,
        api_url: str,
        credentials: Callable[[], Awaitable[FlowCredentials]],
        retry: RetryPolicy,
    ) -> None:
        self._http = http
        self._proxy_url = proxy_url.rstrip("/")
        self._api_url = api_url.rstrip("/")
        self._credentials = credentials
        self._retry = retry
        # A few downloads at a time: the pool's bookkeeping grows with concurrent requests, and
        # the byte path is CPU-bound anyway, so more at once only means more files alive.
        self._downloads = asyncio.Semaphore(MAX_DOWNLOADS)

    @property
    def api_url(self) -> str:
        return self._api_url

    async def credentials(self) -> FlowCredentials:
        return await self._credentials()

    async def proxy_create(self, path: str, google_path: str, body: dict[str, Any]) -> Any:
        """POST a create call through the proxy. Costs credits, so it is not idempotent."""
        creds = await self._credentials()
        payload = {"body_json": body, "flow_auth_token": creds.bearer_token,
                   "flow_url": self._api_url + google_path}
        return await self._json(
            "POST", self._proxy_url + path, upstream=protocol.UPSTREAM_PROXY,
            token=creds.proxy_token, json=payload, idempotent=False,
        )

    async def proxy_task_status(self, task_id: str) -> Any:
        return await self._json(
            "GET", self._proxy_url + protocol.PROXY_TASK_STATUS, upstream=protocol.UPSTREAM_PROXY,
            token=(await self._credentials()).proxy_token, params={"taskId": task_id},
        )

    async def google(self, method: str, path: str, json: Any = None, *,
                     retry: bool = True) -> Any:
        return await self._json(
            method, self._api_url + path, upstream=protocol.UPSTREAM_GOOGLE,
            token=(await self._credentials()).bearer_token, json=json, retry=retry,
        )

    async def download(self, url: str, dest: Path, *, max_bytes: int) -> int:
        """Stream `url` into `dest` chunk by chunk; the whole file is never in memory."""
        async def attempt() -> int:
            async with self._downloads:
                return await self._download_once(url, dest, max_bytes=max_bytes)

        return await with_retries(attempt, policy=self._retry, what="download")

    async def _download_once(self, url: str, dest: Path, *, max_bytes: int) -> int:
        size = 0
        try:
            async with self._http.stream("GET", url) as response:
                if response.status_code >= 400:
                    await response.aread()
                    raise from_response(response, upstream=protocol.UPSTREAM_GOOGLE)
                declared = int(response.headers.get("content-length") or 0)
                if declared > max_bytes:
                    raise ResultTooLarge("the video is too large to upload", url=url, size=declared)
                with dest.open("wb") as file:
                    async for chunk in response.aiter_raw():  # no re-chunking copies
                        size += len(chunk)
                        if size > max_bytes:
                            raise ResultTooLarge("the video is too large to upload", url=url)
                        file.write(chunk)
        except httpx.HTTPError as exc:
            raise from_transport(exc, upstream="the video download") from exc
        except UpstreamError:
            dest.unlink(missing_ok=True)
            raise
        return size

    async def _json(
        self, method: str, url: str, *, upstream: str, token: str, idempotent: bool = True,
        retry: bool = True, **kwargs: Any,
    ) -> Any:
        headers = {"Authorization": f"Bearer {token}"}

        async def attempt() -> Any:
            try:
                response = await self._http.request(method, url, headers=headers, **kwargs)
            except httpx.HTTPError as exc:
                raise from_transport(exc, upstream=upstream) from exc
            except UnicodeEncodeError as exc:  # a header carries ASCII only
                raise AuthExpired(f"the token for {upstream} holds characters a header cannot "
                                  "carry") from exc
            if response.status_code >= 400:
                error = from_response(response, upstream=upstream)
                if isinstance(error, AuthExpired):
                    error.credential = fingerprint(token)
                raise error
            try:
                return response.json()
            except ValueError as exc:
                raise BadResponse(f"{upstream} answered with something that is not JSON") from exc

        if not retry:
            return await attempt()
        return await with_retries(attempt, policy=self._retry, what=f"{method} {upstream}",
                                  idempotent=idempotent)

