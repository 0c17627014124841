"""Which provider runs a job: one builder per upstream, providers made on first use and kept.

A new upstream is a new subpackage with a `build` function, plus one entry in `PROVIDERS`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from bot.config import Settings
from bot.jobs.model import Job, ProviderName
from bot.jobs.provider import Provider
from bot.jobs.retry import RetryPolicy
from bot.providers import flow, useapi
from bot.providers.flow.accounts import Accounts


@dataclass(frozen=True)
class Wiring:
    """What a provider is built from."""

    settings: Settings
    http: httpx.AsyncClient
    accounts: Accounts  #: Flow accounts: the operator's and users' own
    retry: RetryPolicy


@dataclass(frozen=True)
class Builder:
    build: Callable[[Wiring, str], Provider]  #: (wiring, account) → provider
    per_account: bool  #: one provider per account (its credentials), else one per deploy


PROVIDERS: dict[ProviderName, Builder] = {
    ProviderName.FLOW: Builder(lambda w, account: flow.build(
        w.settings, w.http, w.retry, w.accounts, account), per_account=True),
    ProviderName.GEMINI: Builder(lambda w, _: _gemini(w), per_account=False),
    ProviderName.USEAPI: Builder(lambda w, _: useapi.build(w.settings, w.http, w.retry),
                                 per_account=False),
}


def _gemini(wiring: Wiring) -> Provider:
    # google-genai takes about 0.3 s to import: only a deploy (or a job) that uses it pays.
    from bot.providers import gemini

    return gemini.build(wiring.settings, wiring.http, wiring.retry)


def retry_policy(settings: Settings) -> RetryPolicy:
    return RetryPolicy(attempts=settings.retry_attempts, max_seconds=settings.retry_max_seconds,
                       base_delay=settings.retry_base_delay)


class ProviderRegistry:
    """A job's `provider` field says which upstream it runs on; `default` takes new jobs."""

    def __init__(self, wiring: Wiring, *, default: ProviderName,
                 builders: dict[ProviderName, Builder] | None = None) -> None:
        self._wiring = wiring
        self._builders = builders or PROVIDERS
        self._made: dict[tuple[ProviderName, str], Provider] = {}
        self.default = default

    def for_job(self, job: Job) -> Provider:
        return self.get(job.provider, job.account)

    def for_account(self, account: str) -> Provider:
        """What a new job of this account runs on (PROVIDER)."""
        return self.get(self.default, account)

    def get(self, name: ProviderName, account: str) -> Provider:
        builder = self._builders[name]
        key = (name, account if builder.per_account else "")
        provider = self._made.get(key)
        if provider is None:
            provider = self._made[key] = builder.build(self._wiring, account)
        return provider

    async def aclose(self) -> None:
        for provider in self._made.values():
            close = getattr(provider, "aclose", None)
            if close is not None:
                with contextlib.suppress(Exception):
                    await close()
        self._made.clear()
