"""Google Labs Flow through a captcha proxy, polled with a `ya29` bearer (the seed's protocol)."""

from __future__ import annotations

import httpx

from bot.config import Settings
from bot.jobs.retry import RetryPolicy
from bot.providers.flow.accounts import Accounts
from bot.providers.flow.client import FlowClient, FlowCredentials
from bot.providers.flow.provider import FlowProvider


def build(settings: Settings, http: httpx.AsyncClient, retry: RetryPolicy, accounts: Accounts,
          account: str) -> FlowProvider:
    """The provider of one account, with that account's live credentials and renewal."""
    async def credentials() -> FlowCredentials:
        return await accounts.credentials(account)

    async def renew(stale: str | None) -> bool:
        return await accounts.renew(account, stale)

    client = FlowClient(http=http, proxy_url=settings.flow_proxy_url,
                        api_url=settings.flow_api_url, credentials=credentials, retry=retry)
    return FlowProvider(client=client, renew=renew)
