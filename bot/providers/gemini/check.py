"""Read-only probes of Google's API for `doctor` (`bot.health`): a model look-up, which also
proves the key. `models.get` on the Developer API (`GET /v1beta/models/{model}`) and
`publishers.models.get` on Agent Platform, through google-genai on the app's httpx client, as
the provider calls Google (same endpoint, key or Application Default Credentials). Free: it
generates nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx
from google.auth.exceptions import GoogleAuthError
from google.genai import types

from bot.config import Settings
from bot.jobs.errors import AuthExpired
from bot.providers.gemini.errors import to_upstream
from bot.providers.gemini.interactions import DEVELOPER_ROOT, DEVELOPER_VERSION
from bot.providers.gemini.sdk import sdk_client
from bot.redact import fingerprint, register_secret

AGENT_PLATFORM_ROOT = "https://aiplatform.googleapis.com"


@dataclass(frozen=True)
class ModelFound:
    """What Google says about a model it serves."""

    name: str
    display_name: str | None = None


class ModelLookup:
    """`get(model)` → `ModelFound`, or an `UpstreamError` (404 for a model Google does not serve
    there, `AuthExpired` for a refused key)."""

    def __init__(self, settings: Settings, http: httpx.AsyncClient, *, timeout: float) -> None:
        key = settings.gemini_api_key.get_secret_value() if settings.gemini_api_key else None
        register_secret(key)
        self._credential = fingerprint(key) if key else None
        options = types.HttpOptions(
            base_url=settings.gemini_api_url, timeout=int(timeout * 1000),
            httpx_async_client=http,
            api_version=None if settings.gemini_vertex else DEVELOPER_VERSION)
        self._client, self._unusable = sdk_client(
            vertex=settings.gemini_vertex, api_key=key, project=settings.gemini_project,
            location=settings.gemini_location, options=options)
        self.root = settings.gemini_api_url or (AGENT_PLATFORM_ROOT if settings.gemini_vertex
                                                else DEVELOPER_ROOT)

    async def get(self, model: str) -> ModelFound:
        if self._client is None:
            raise AuthExpired(f"the Gemini provider is not configured: {self._unusable}")
        try:
            found = await self._client.aio.models.get(model=model)
        except GoogleAuthError as exc:  # Application Default Credentials gave no token
            raise AuthExpired(f"Agent Platform credentials gave no token "
                              f"({type(exc).__name__})") from exc
        except Exception as exc:
            error = to_upstream(exc, credential=self._credential)
            if error is None or error is exc:
                raise
            raise error from exc
        return ModelFound(name=found.name or model, display_name=found.display_name)

    async def aclose(self) -> None:
        """The SDK's own resources (the shared httpx client stays open)."""
        if self._client is not None:
            await self._client.aio.aclose()
