"""HTTP to useapi.net: the token and a named User-Agent on every API call, error translation,
retries, and downloads of signed result links (which never see the token)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx

from bot.jobs.errors import AuthExpired, BadResponse, ResultLost, UpstreamError
from bot.jobs.retry import RetryPolicy, with_retries
from bot.providers.http import download_capped, request_json, status_map_of
from bot.providers.useapi.errors import (
    Missing,
    StillRunning,
    describe_body,
    from_status,
    status_map,
)
from bot.redact import fingerprint, register_secret

#: useapi's edge refuses some library defaults: say who we are.
USER_AGENT = "veo-bot/0.1"
MAX_DOWNLOADS = 8


class UseapiClient:
    """Calls the API under `base_url`; every failure comes out as an `UpstreamError`."""

    def __init__(self, *, http: httpx.AsyncClient, base_url: str, token: str | None,
                 retry: RetryPolicy) -> None:
        register_secret(token)
        self._http = http
        self._base = base_url.rstrip("/")
        self._token = token
        self._credential = fingerprint(token) if token else None
        self._retry = retry
        self._downloads = asyncio.Semaphore(MAX_DOWNLOADS)

    @property
    def credential(self) -> str | None:
        """The token's fingerprint, as a 401 names it."""
        return self._credential

    async def get(self, path: str, *, retry: bool = True, missing: Missing = "account") -> Any:
        """An idempotent read; `retry=False` for one attempt (the poller's tick retries)."""
        return await self._json("GET", path, retry=retry, missing=missing)

    async def create(self, path: str, body: dict[str, Any]) -> Any:
        """A generation: costs credits, so never sent again after an unclear failure (a timeout,
        a dropped connection after sending, a 5xx other than 503). A 429 or a 503 is sent
        again after the pause asked for: nothing was created. A 408 names a job that goes on:
        its record (at least `jobid`) is the answer."""
        try:
            return await self._json("POST", path, json=body, idempotent=False)
        except StillRunning as exc:
            if exc.jobid is None:
                raise
            return {"jobid": exc.jobid, "status": "started"}

    async def upload(self, path: str, data: bytes, *, mime: str) -> Any:
        """The picture's exact bytes with their type (an upload charges nothing)."""
        return await self._json("POST", path, content=data, content_type=mime)

    async def download(self, url: str, dest: Path, *, max_bytes: int) -> int:
        """Stream a signed result link to `dest`, WITHOUT the token: it goes to the API only."""
        if not url.startswith(("https://", "http://")):
            raise BadResponse("the result link is not an http(s) address")

        async def attempt() -> int:
            async with self._downloads:
                return await download_capped(
                    self._http, url, dest, max_bytes=max_bytes, upstream="the result download",
                    status_map=status_map_of(_download_error),
                    headers={"User-Agent": USER_AGENT})

        return await with_retries(attempt, policy=self._retry, what="useapi download")

    async def _json(self, method: str, path: str, *, idempotent: bool = True, retry: bool = True,
                    missing: Missing = "account", content_type: str = "application/json",
                    **kwargs: Any) -> Any:
        token = self._token
        if not token:
            raise AuthExpired("no useapi.net API token is set (USEAPI_TOKEN)")
        headers = {"Authorization": f"Bearer {token}", "User-Agent": USER_AGENT,
                   "Accept": "application/json"}
        if "content" in kwargs:
            headers["Content-Type"] = content_type
        answers = status_map(credential=self._credential, missing=missing)

        async def attempt() -> Any:
            return await request_json(self._http, method, self._base + path,
                                      upstream="useapi.net", status_map=answers,
                                      headers=headers, **kwargs)

        if not retry:
            return await attempt()
        return await with_retries(attempt, policy=self._retry, what=f"useapi {method} {path}",
                                  idempotent=idempotent)


def _download_error(status: int, body: Any, *, retry_after: float | None = None
                    ) -> UpstreamError:
    """A signed link refuses (401, 403) or forgets (404, 410) once it has expired: the result
    is gone; a 5xx or a 429 is worth another try."""
    if status in (401, 403, 404, 410):
        said = describe_body(body).message
        return ResultLost(f"the result link answered {status} (expired?)"
                          + (f": {said}" if said else ""), status=status)
    return from_status(status, body, retry_after=retry_after, missing="job")
