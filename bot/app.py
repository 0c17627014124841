"""The composition root of the chat bot: the engine, the Telegram notifier and the PTB app."""

from __future__ import annotations

import asyncio
import logging
import re
import signal
from collections.abc import Callable

from telegram import BotCommand
from telegram.error import InvalidToken, NetworkError
from telegram.ext import Application, ContextTypes

from bot import texts
from bot.config import Settings, is_placeholder, missing_credentials
from bot.engine import Engine, open_engine
from bot.health_canary import Canary, for_settings
from bot.jobs.model import ProviderName
from bot.jobs.notifier import Notifier
from bot.jobs.runner import ProviderFor
from bot.providers.catalog import retired_settings
from bot.telegram import handlers
from bot.telegram.access import AccessControl
from bot.telegram.context import BotContext, Services, install_services, installed_services
from bot.telegram.delivery import TelegramNotifier
from bot.telegram.inbox import InboxPoller
from bot.telegram.pacing import TelegramPacer
from storage.asks import AskStore
from storage.crypto import SecretBox
from storage.images import ImageStore
from storage.inbox import InboxStore
from storage.jobs import JobStore
from storage.user_settings import UserSettingsStore

logger = logging.getLogger(__name__)
COMMANDS = (("image", "make an image"), ("animate", "reply to an image: make it move"),
            ("video", "make a video from text"), ("status", "your last jobs"),
            ("cancel", "cancel a job"), ("account", "the Google account your jobs use"),
            ("settings", "your defaults: aspect, model, duration, language"),
            ("help", "what I can do"))
POLL_TIMEOUT = 10  #: seconds a getUpdates long poll waits for news
_INBOX = "inbox"
_CANARY = "health_canary"


def build_application(settings: Settings) -> Application:  # type: ignore[type-arg]
    """The Telegram bot: PTB `Application` with our handlers; resources open in post_init.
    It has no `Updater`: `InboxPoller` fetches updates (see `start_bot`)."""
    if settings.telegram_bot_token is None:
        raise SystemExit("TELEGRAM_BOT_TOKEN is not set: get one from @BotFather.")
    root = settings.telegram_api_url
    application = (
        Application.builder()
        .token(settings.telegram_bot_token.get_secret_value())
        .base_url(f"{root}/bot")
        .base_file_url(f"{root}/file/bot")
        .context_types(ContextTypes(context=BotContext))
        .concurrent_updates(True)
        .rate_limiter(TelegramPacer(chat_interval=settings.telegram_chat_interval,
                                    global_rate=settings.telegram_global_rate,
                                    global_burst=settings.telegram_global_rate / 2))
        .updater(None)
        .post_init(_post_init)
        .post_stop(_post_stop)
        .build()
    )
    application.bot_data["settings"] = settings
    handlers.register(application)
    return application


async def _post_init(application: Application) -> None:  # type: ignore[type-arg]
    settings: Settings = application.bot_data["settings"]
    pacer: TelegramPacer = application.bot.rate_limiter
    notifiers: list[TelegramNotifier] = []

    def notifier(jobs: JobStore, images: ImageStore, provider_for: ProviderFor) -> Notifier:
        notifiers.append(TelegramNotifier(
            bot=application.bot, jobs=jobs, images=images,
            edit_interval=settings.progress_edit_interval, contended=pacer.contended,
            admin_ids=settings.admin_user_ids, provider_for=provider_for))
        return notifiers[0]

    async def tell_admins(text: Callable[[str], str]) -> None:
        await notifiers[0].tell_admins(text)

    canary = application.bot_data[_CANARY] = for_settings(settings, tell=tell_admins)
    engine = await open_engine(settings, notifier, healthy=canary.provider_healthy)
    application.bot_data["engine"] = engine
    access = AccessControl(settings=settings, store=engine.access)
    await access.load()
    user_settings = UserSettingsStore(engine.db)
    await user_settings.load()
    notifiers[0].languages = user_settings.language  # admins' notices in their language
    install_services(application.bot_data, Services(
        settings, engine.runner, engine.jobs, engine.images, access, engine.accounts,
        notifiers[0], engine.providers.for_account, settings.provider, engine.providers.get,
        AskStore(engine.db), user_settings=user_settings, health_report=canary.report))
    # Updates may carry secrets: sealed with the key the engine just opened (or created).
    box = SecretBox.open(key=settings.bot_secret_key.get_secret_value()
                         if settings.bot_secret_key else None,
                         folder=settings.database_path.parent)
    application.bot_data[_INBOX] = InboxPoller(
        application=application, inbox=InboxStore(engine.db, box), jobs=engine.jobs)
    resumed = await engine.runner.start()
    logger.info("bot started; %d unfinished jobs resumed", resumed)
    await _report_retired_models(settings, notifiers[0])
    canary.start()  # doctor's checks now (in the background) and every HEALTH_CHECK_INTERVAL
    if not settings.allowed_user_ids and not settings.admin_user_ids:
        logger.warning("ALLOWED_USER_IDS and ADMIN_USER_IDS are empty: everyone is refused")
    await application.bot.set_my_commands([BotCommand(name, about) for name, about in COMMANDS])


async def _report_retired_models(settings: Settings, notifier: TelegramNotifier) -> None:
    """A configured model Google retired fails every job: say so at start, in the log and to
    the admins, rather than through users' failed jobs."""
    for problem in retired_settings(settings):
        logger.warning("%s", problem.sentence)
        await notifier.tell_admins(f"⚠️ {problem.sentence}.")


async def _post_stop(application: Application) -> None:  # type: ignore[type-arg]
    """Runs after updates stop and before the bot (its HTTP client and rate limiter) shuts
    down: last edits can go out."""
    services = installed_services(application.bot_data)
    engine: Engine | None = application.bot_data.pop("engine", None)
    canary: Canary | None = application.bot_data.pop(_CANARY, None)
    if canary is not None:
        await canary.stop()
    if engine is not None:
        await engine.runner.stop()
    if services is not None:
        await services.notifier.close(drain=2.0)
    if engine is not None:
        await engine.close()


async def start_bot(application: Application,  # type: ignore[type-arg]
                    *, poll_timeout: int = POLL_TIMEOUT) -> None:
    """PTB's `run_polling` start-up with our inbox for its `Updater`: initialize, post_init (the
    engine: unfinished jobs resume, owed words go out), start, then the updates a previous run
    left unhandled, then long polling."""
    await application.initialize()
    if application.post_init is not None:
        await application.post_init(application)
    await application.start()
    inbox: InboxPoller = application.bot_data[_INBOX]
    replayed = await inbox.start(long_poll=poll_timeout)
    if replayed:
        logger.info("%d updates received before the stop were handled again", replayed)


async def stop_bot(application: Application) -> None:  # type: ignore[type-arg]
    """A graceful stop (SIGTERM), in PTB's order: polling stops (updates still being handled get
    a grace, the rest stay in the inbox), then stop, post_stop, shutdown."""
    inbox: InboxPoller | None = application.bot_data.pop(_INBOX, None)
    if inbox is not None:
        await inbox.stop()
    if application.running:
        await application.stop()
        if application.post_stop is not None:
            await application.post_stop(application)
    await application.shutdown()
    if application.post_shutdown is not None:
        await application.post_shutdown(application)


async def _serve(application: Application) -> None:  # type: ignore[type-arg]
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(number, stopping.set)
    try:
        await start_bot(application)
        await stopping.wait()
    finally:
        await stop_bot(application)


def run_bot(settings: Settings) -> int:
    """`python -m bot`: long polling until Ctrl+C / SIGTERM; returns the exit code.

    A start-up that cannot work (no token, a token Telegram refuses, Telegram out of reach) ends
    in one sentence naming the variable; the caller registered every secret for redaction first.
    """
    token = settings.telegram_bot_token.get_secret_value() if settings.telegram_bot_token else ""
    if not token or is_placeholder(token):
        placeholder = " (it is still a replace-me placeholder)" if token else ""
        logger.error(texts.cli("run_no_token", placeholder=placeholder))
        return 2
    _warn_missing_credentials(settings)
    application = build_application(settings)
    # A failed start is said in one sentence below; PTB's own records of it (with their
    # tracebacks) and ours are for DEBUG only.
    ptb = logging.getLogger("telegram.ext")
    quiet = _StartFailureFilter()
    if not logging.getLogger().isEnabledFor(logging.DEBUG):
        ptb.addFilter(quiet)
    try:
        asyncio.run(_serve(application))
    except InvalidToken:
        logger.debug("Telegram's answer to the start-up", exc_info=True)
        shape = "" if _BOT_TOKEN.fullmatch(token) else texts.cli("run_token_shape")
        logger.error(texts.cli("run_token_refused", url=settings.telegram_api_url, shape=shape))
        return 1
    except NetworkError as exc:
        logger.debug("Telegram's answer to the start-up", exc_info=True)
        logger.error(texts.cli("run_unreachable", url=settings.telegram_api_url,
                               reason=str(exc) or type(exc).__name__))
        return 1
    except Exception:
        logger.exception("the bot stopped on an error")  # redacted like every log record
        return 1
    finally:
        ptb.removeFilter(quiet)
    return 0


_BOT_TOKEN = re.compile(r"\d{5,}:[A-Za-z0-9_-]{35}")


class _StartFailureFilter(logging.Filter):
    """Drops PTB's "… Aborting" records: `run_bot` reports that failure in one sentence."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "Aborting" not in str(record.msg)


def _warn_missing_credentials(settings: Settings) -> None:
    missing = missing_credentials(settings, settings.provider)
    if missing:
        gemini = settings.provider == ProviderName.GEMINI
        fix = texts.cli("run_fix_gemini" if gemini else "run_fix_flow")
        logger.warning(texts.cli("run_missing_credentials", provider=settings.provider,
                                 names=texts.listing(missing), fix=fix))
