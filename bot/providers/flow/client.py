"""HTTP to the captcha proxy and to Google Flow: auth, error translation, retries, streaming."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bot.jobs.retry import RetryPolicy, with_retries
from bot.providers.flow import protocol
from bot.providers.flow.errors import status_map
from bot.providers.http import download_capped, request_json
from bot.redact import fingerprint

logger = logging.getLogger(__name__)
MAX_DOWNLOADS = 8


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
                return await download_capped(
                    self._http, url, dest, max_bytes=max_bytes, upstream="the video download",
                    status_map=status_map(upstream=protocol.UPSTREAM_GOOGLE))

        return await with_retries(attempt, policy=self._retry, what="download")

    async def _json(
        self, method: str, url: str, *, upstream: str, token: str, idempotent: bool = True,
        retry: bool = True, **kwargs: Any,
    ) -> Any:
        async def attempt() -> Any:
            return await request_json(
                self._http, method, url, upstream=upstream,
                status_map=status_map(upstream=upstream, credential=fingerprint(token)),
                headers={"Authorization": f"Bearer {token}"}, **kwargs)

        if not retry:
            return await attempt()
        return await with_retries(attempt, policy=self._retry, what=f"{method} {upstream}",
                                  idempotent=idempotent)
