"""Our own calls to the Interactions API (Omni videos), through the one HTTP path.

Spoken as REST rather than through google-genai's interactions client, which retries a create up
to 4 times on 408/409/429/5xx by default (a paid generation sent five times) and raises error
classes of its own. Each call here is ONE attempt; the provider decides about retries.

Where it lives (as the SDK builds it, `google/genai/_gaos/google_genai.py`): the Developer API at
`{root}/v1beta/interactions`; Agent Platform at `{root}/v1beta1/interactions` with an express-mode
key, or `{root}/v1beta1/projects/{project}/locations/{location}/interactions` with a project.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

import httpx

from bot.providers.gemini.errors import UPSTREAM
from bot.providers.http import StatusMap, request_json

DEVELOPER_ROOT = "https://generativelanguage.googleapis.com"
DEVELOPER_VERSION = "v1beta"
AGENT_PLATFORM_VERSION = "v1beta1"

#: The headers that authenticate one call (an API key, or a fresh bearer token).
Auth = Callable[[], Awaitable[dict[str, str]]]


class Interactions:
    """`POST {base}/interactions` and `GET {base}/interactions/{id}`."""

    def __init__(self, *, http: httpx.AsyncClient, base: str, auth: Auth, status_map: StatusMap,
                 timeout: float) -> None:
        self._http = http
        self._url = f"{base.rstrip('/')}/interactions"
        self._auth = auth
        self._status_map = status_map
        self._timeout = timeout

    @property
    def url(self) -> str:
        return self._url

    async def create(self, body: dict[str, Any]) -> Any:
        """Start an interaction (a paid generation: the caller never repeats an unclear one)."""
        return await request_json(self._http, "POST", self._url, upstream=UPSTREAM,
                                  status_map=self._status_map, json=body,
                                  headers=await self._auth(), timeout=self._timeout)

    async def get(self, interaction_id: str) -> Any:
        """One look at an interaction; an unknown id answers 400."""
        url = f"{self._url}/{quote(interaction_id, safe='')}"
        return await request_json(self._http, "GET", url, upstream=UPSTREAM,
                                  status_map=self._status_map, headers=await self._auth(),
                                  timeout=self._timeout)


def developer_base(base_url: str | None) -> str:
    """`{GEMINI_API_URL or Google's root}/v1beta`."""
    return f"{(base_url or DEVELOPER_ROOT).rstrip('/')}/{DEVELOPER_VERSION}"


def agent_platform_base(root: str, version: str, project: str | None,
                        location: str | None) -> str:
    """The SDK's rule: a project path only when both project and location are known."""
    base = f"{root.rstrip('/')}/{version or AGENT_PLATFORM_VERSION}"
    if project and location:
        base += f"/projects/{project}/locations/{location}"
    return base


def key_auth(api_key: str) -> Auth:
    async def headers() -> dict[str, str]:
        return {"x-goog-api-key": api_key}
    return headers
