"""Google's official API: Gemini image models, Omni videos (Interactions API) and Veo 3.1 on
Agent Platform."""

from __future__ import annotations

import httpx

from bot.config import Settings
from bot.jobs.retry import RetryPolicy
from bot.providers.gemini.provider import GeminiProvider


def build(settings: Settings, http: httpx.AsyncClient, retry: RetryPolicy) -> GeminiProvider:
    """One provider per deploy; built always (without a key every call asks for one)."""
    key = settings.gemini_api_key.get_secret_value() if settings.gemini_api_key else None
    return GeminiProvider(
        api_key=key, media_dir=settings.gemini_media_dir, http=http,
        base_url=settings.gemini_api_url, vertex=settings.gemini_vertex,
        project=settings.gemini_project, location=settings.gemini_location,
        image_model=settings.gemini_image_model, video_model=settings.gemini_video_model,
        timeout=settings.http_timeout, retry=retry)
