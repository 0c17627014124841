"""Google Labs Flow through a captcha proxy, polled with a `ya29` bearer (the seed's protocol)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.providers.flow.client import FlowClient, FlowCredentials
from bot.providers.flow.provider import FlowProvider

if TYPE_CHECKING:
    from bot.providers.registry import Wiring


def build(wiring: Wiring, account: str) -> FlowProvider:
    """The provider of one account, with that account's live credentials and renewal."""
    async def credentials() -> FlowCredentials:
        return await wiring.accounts.credentials(account)

    async def renew(stale: str | None) -> bool:
        return await wiring.accounts.renew(account, stale)

    settings = wiring.settings
    client = FlowClient(http=wiring.http, proxy_url=settings.flow_proxy_url,
                        api_url=settings.flow_api_url, credentials=credentials,
                        retry=wiring.retry)
    return FlowProvider(client=client, renew=renew)
