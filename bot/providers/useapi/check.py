"""Read-only probes of useapi.net for `doctor` (`bot.health`): the token, the attached Google
accounts and their health (`GET /accounts`), one account's credits, tier and the video models its
plan may use (`GET /accounts/{email}`). Nothing here generates or costs credits.

`GET /accounts/{email}` lists the plan's video models by Flow's `displayName`; useapi.net's
"Generate Videos" page names each of its models by that same display name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from bot.jobs.errors import BadResponse
from bot.jobs.retry import RetryPolicy
from bot.providers.useapi import protocol
from bot.providers.useapi.client import UseapiClient

#: useapi.net's video model → Flow's display name in `models.videoModels[].displayName`.
VIDEO_DISPLAY_NAMES = {
    "veo-3.1-fast": "Veo 3.1 - Fast",
    "veo-3.1-lite": "Veo 3.1 - Lite",
    "veo-3.1-lite-low-priority": "Veo 3.1 - Lite Lower Priority",
    "veo-3.1-quality": "Veo 3.1 - Quality",
    "omni-flash": "Gemini Omni Flash",
}
HEALTHY = "OK"


@dataclass(frozen=True)
class AccountSummary:
    """One attached Google account as `GET /accounts` lists it."""

    email: str
    health: str  #: "OK", or the error that broke the account's Google session
    error: str | None = None

    @property
    def healthy(self) -> bool:
        return self.health == HEALTHY


@dataclass(frozen=True)
class AccountDetail:
    """`GET /accounts/{email}`: health, Flow credits and tier, and the plan's video models."""

    email: str
    health: str
    credits: int | None
    tier: str | None
    video_models: frozenset[str] | None  #: display names; None when the answer lists none


def probe_client(http: httpx.AsyncClient, *, base_url: str, token: str) -> UseapiClient:
    """A client for one-attempt reads (doctor reports a failure; it does not retry)."""
    return UseapiClient(http=http, base_url=base_url, token=token,
                        retry=RetryPolicy(attempts=1))


async def accounts(client: UseapiClient) -> list[AccountSummary]:
    """Every attached account (also proves the token: 401 when useapi refuses it)."""
    body = await client.get(protocol.ACCOUNTS, retry=False)
    if not isinstance(body, dict):
        raise BadResponse("the accounts answer is not a map of accounts")
    return [AccountSummary(str(email), _text(summary.get("health")) or "unknown",
                           _text(summary.get("error")))
            for email, summary in sorted(body.items()) if isinstance(summary, dict)]


async def account(client: UseapiClient, email: str) -> AccountDetail:
    """One account's detail (404, raised as `AccountDisconnected`, when it is not attached)."""
    body = await client.get(protocol.account_path(email), retry=False)
    if not isinstance(body, dict):
        raise BadResponse("the account answer is not an object")
    status = protocol.parse_account(body)
    return AccountDetail(email, _text(body.get("health")) or "unknown", status.credits,
                         status.tier, _video_models(body.get("models")))


def plan_allows(detail: AccountDetail, model: str) -> bool | None:
    """Whether the account's plan lists the video model; None when that cannot be told (the
    answer lists no models, or the model's display name is not known)."""
    name = VIDEO_DISPLAY_NAMES.get(model)
    if name is None or detail.video_models is None:
        return None
    return name.casefold() in {listed.casefold() for listed in detail.video_models}


def _video_models(models: Any) -> frozenset[str] | None:
    listed = models.get("videoModels") if isinstance(models, dict) else None
    if not isinstance(listed, list):
        return None
    return frozenset(str(entry["displayName"]) for entry in listed
                     if isinstance(entry, dict) and entry.get("displayName"))


def _text(value: Any) -> str | None:
    return str(value) if isinstance(value, str | int) and str(value) else None
