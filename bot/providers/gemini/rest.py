"""Our own calls to the two Gemini Developer API endpoints that google-genai 3.x refuses.

SDK 3.x raises "only supported in Gemini Enterprise Agent Platform mode" for `generate_videos`
and `generate_images` on an AI Studio key, before sending anything; the endpoints themselves
(`models/{model}:predictLongRunning`, `models/{model}:predict`) are Google's documented REST API.
Everything else (generateContent, the operation poll, file download) still goes through the SDK.
"""

from __future__ import annotations

from typing import Any

import httpx

from bot.providers.gemini.errors import UPSTREAM, status_map
from bot.providers.gemini.protocol import model_path
from bot.providers.http import request_json
from bot.redact import fingerprint

DEVELOPER_ROOT = "https://generativelanguage.googleapis.com"
DEVELOPER_VERSION = "v1beta"


class DeveloperRest:
    """POSTs JSON to `{root}/v1beta/models/{model}:{method}` with the API key header."""

    def __init__(self, *, http: httpx.AsyncClient, api_key: str, base_url: str | None,
                 timeout: float) -> None:
        self._http = http
        self._api_key = api_key
        self._status_map = status_map(credential=fingerprint(api_key) if api_key else None)
        self._root = (base_url or DEVELOPER_ROOT).rstrip("/")
        self._timeout = timeout

    async def call(self, model: str, method: str, body: dict[str, Any]) -> Any:
        """One attempt; errors come out translated (retries are the caller's decision)."""
        url = f"{self._root}/{DEVELOPER_VERSION}/{model_path(model)}:{method}"
        return await request_json(
            self._http, "POST", url, upstream=UPSTREAM, status_map=self._status_map,
            json=body, headers={"x-goog-api-key": self._api_key}, timeout=self._timeout)
