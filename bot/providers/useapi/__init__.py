"""useapi.net: a maintained gateway that drives the operator's own Google Flow account
(images with Nano Banana, videos with Veo 3.1 or Omni Flash)."""

from __future__ import annotations

import httpx

from bot.config import Settings
from bot.jobs.retry import RetryPolicy
from bot.providers.useapi.client import UseapiClient
from bot.providers.useapi.provider import UseapiProvider


def build(settings: Settings, http: httpx.AsyncClient, retry: RetryPolicy) -> UseapiProvider:
    """One provider per deploy; built always (without a token every call asks for one)."""
    token = settings.useapi_token.get_secret_value() if settings.useapi_token else None
    client = UseapiClient(http=http, base_url=settings.useapi_url, token=token, retry=retry)
    return UseapiProvider(client=client, email=settings.useapi_email,
                          image_model=settings.useapi_image_model,
                          video_model=settings.useapi_video_model)
