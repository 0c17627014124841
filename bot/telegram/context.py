"""Typed handler context: `context.services` instead of string keys into `bot_data`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, cast

from telegram.ext import CallbackContext, ExtBot

from bot.config import Settings
from bot.jobs.model import ProviderName
from bot.jobs.provider import Provider
from bot.jobs.runner import JobRunner
from bot.providers.flow.accounts import Accounts
from bot.telegram.access import AccessControl
from bot.telegram.delivery import TelegramNotifier
from bot.telegram.pacing import Priority
from storage.asks import AskStore
from storage.images import ImageStore
from storage.jobs import JobStore
from storage.user_settings import UserSettingsStore

_SERVICES = "services"


@dataclass
class Services:
    """What the handlers need; opened in `post_init`, closed in `post_shutdown`."""

    settings: Settings
    runner: JobRunner
    jobs: JobStore
    images: ImageStore
    access: AccessControl
    accounts: Accounts
    notifier: TelegramNotifier
    provider_for_account: Callable[[str], Provider]
    provider_name: ProviderName
    #: a given provider of an account (a job stays on the provider it started on)
    provider_named: Callable[[ProviderName, str], Provider]
    #: the questions asked under results (Extend's "how should it go on?")
    asks: AskStore
    #: each user's defaults from /settings (cached: read without awaiting)
    user_settings: UserSettingsStore
    #: `/health`: a fresh run of doctor's checks as a table in the given language
    health_report: Callable[[str], Awaitable[str]] | None = None


class BotContext(CallbackContext[ExtBot[Priority], dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    @property
    def services(self) -> Services:
        return cast(Services, self.bot_data[_SERVICES])


def install_services(bot_data: dict[Any, Any], services: Services) -> None:
    bot_data[_SERVICES] = services


def installed_services(bot_data: dict[Any, Any]) -> Services | None:
    return cast(Services | None, bot_data.get(_SERVICES))
