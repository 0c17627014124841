"""The engine's composition: the database, the stores, the providers, the poller and the runner,
built around whichever front's notifier (Telegram or the terminal)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import aiosqlite
import httpx

from bot.config import Settings
from bot.jobs.failover import Failover, Healthy, always_healthy
from bot.jobs.notifier import Notifier
from bot.jobs.poller import BatchPoller
from bot.jobs.runner import JobRunner, ProviderFor, RunnerConfig
from bot.providers.flow.accounts import Accounts
from bot.providers.registry import ProviderRegistry, Wiring, retry_policy
from bot.redact import register_secret
from storage.access import AccessStore
from storage.accounts import AccountStore
from storage.crypto import SecretBox
from storage.db import connect
from storage.images import ImageStore
from storage.jobs import JobStore

#: builds the front's notifier from the stores and the provider of each job (its buttons)
NotifierFactory = Callable[[JobStore, ImageStore, ProviderFor], Notifier]


@dataclass
class Engine:
    """Everything a front drives: storage, accounts, providers and the job runner."""

    db: aiosqlite.Connection
    http: httpx.AsyncClient
    jobs: JobStore
    images: ImageStore
    access: AccessStore
    accounts: Accounts
    providers: ProviderRegistry
    poller: BatchPoller
    runner: JobRunner

    async def close(self) -> None:
        await self.runner.stop()
        await self.poller.close()
        await self.providers.aclose()
        await self.http.aclose()
        await self.db.close()


async def open_engine(settings: Settings, make_notifier: NotifierFactory, *,
                      healthy: Healthy = always_healthy) -> Engine:
    """Open the database and build the engine around the given notifier (not started yet);
    `healthy` is the health canary's word on each provider (jobs move off a failing one)."""
    for secret in (settings.flow_bearer_token, settings.flow_proxy_token,
                   settings.telegram_bot_token, settings.bot_secret_key,
                   settings.gemini_api_key, settings.useapi_token):
        register_secret(secret.get_secret_value() if secret else None)
    db = await connect(settings.database_path)
    key = settings.bot_secret_key.get_secret_value() if settings.bot_secret_key else None
    box = SecretBox.open(key=key, folder=settings.database_path.parent)
    http = httpx.AsyncClient(timeout=httpx.Timeout(settings.http_timeout, connect=10.0),
                             limits=httpx.Limits(max_connections=100, max_keepalive_connections=50))
    jobs, images = JobStore(db), ImageStore(db)
    accounts = Accounts(store=AccountStore(db, box), settings=settings, http=http)
    await accounts.load()
    providers = ProviderRegistry(Wiring(settings, http, accounts, retry_policy(settings)),
                                 default=settings.provider)
    poller = BatchPoller(interval=settings.flow_poll_interval, backoff=retry_policy(settings))
    config = RunnerConfig(
        files_dir=settings.files_dir, poll_interval=settings.flow_poll_interval,
        max_jobs_per_user=settings.max_jobs_per_user, submit_timeout=settings.submit_timeout,
        render_timeout=settings.render_timeout, max_upload_bytes=settings.max_upload_bytes,
        progress_every=max(settings.progress_edit_interval, settings.flow_poll_interval),
        health_check_interval=settings.health_check_interval,
        files_keep=settings.files_keep_days * 86400)
    notifier = make_notifier(jobs, images, providers.for_job)
    runner = JobRunner(store=jobs, provider_for=providers.for_job, poller=poller,
                       notifier=notifier, config=config,
                       failover=Failover(settings.fallback_provider, healthy))
    return Engine(db, http, jobs, images, AccessStore(db), accounts, providers, poller, runner)
