"""/settings: a user's defaults (aspect, video model, duration, resolution, language) on one
message whose inline keyboard is edited in place; and `defaults_for`, what a new job takes of
them. Only what the job's provider (and model) can make is offered or applied.

Callback data: `set:<owner id>:<menu>` opens a menu, `set:<owner id>:<menu>:<value>` saves a
value (`-`: back to the default), `set:<owner id>:home` and `set:<owner id>:reset`. Menus: `a`
aspect, `m` video model, `d` duration, `r` resolution, `l` language.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from dataclasses import dataclass
from typing import Any

from telegram import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot import texts
from bot.jobs.model import Aspect, JobKind, Options, ProviderName
from bot.jobs.provider import Provider
from bot.providers import catalog
from bot.providers.catalog import Cost, Kind, ModelInfo, Platform
from bot.telegram.context import BotContext, Services
from bot.telegram.replies import lang
from storage.user_settings import UserSettings

logger = logging.getLogger(__name__)
PREFIX = "set"
CALLBACK = re.compile(rf"^{PREFIX}:([0-9]{{1,20}}):(home|reset|[amdrl])(?::([\w.-]{{1,40}}))?$")
CLEAR = "-"  #: the value that clears a setting (the bot's default, or Telegram's language)
MAX_CALLBACK = 64  #: bytes Telegram keeps of a button's callback_data
DEFAULT_ASPECT = Aspect.LANDSCAPE  #: what a command without an aspect made before /settings
LANGUAGES = ("en", "vi")
#: menu letter → the `UserSettings` field it sets
MENUS = {"a": "aspect", "m": "video_model", "d": "duration", "r": "resolution", "l": "language"}
#: providers whose models are fixed by the provider itself: no model to pick
FIXED_MODELS = frozenset({ProviderName.FLOW})
_ROW = {"a": 3, "m": 1, "d": 4, "r": 4, "l": 2}  #: buttons per row in each menu
_NOT_MODIFIED = "message is not modified"


# --- what a provider offers, and what a job takes -------------------------------------------

@dataclass(frozen=True)
class Choices:
    """What the provider a user's jobs go to offers their defaults."""

    provider: ProviderName
    aspects: tuple[Aspect, ...]
    models: tuple[ModelInfo, ...]  #: empty: the provider's model is not the user's to pick
    configured: str  #: the provider's configured video model
    supported: frozenset[str]  #: the `Options` fields the provider honours for videos

    def model(self, saved: str | None) -> str:
        """The video model a job uses: the saved one when offered, else the configured one."""
        return saved if saved is not None and self.offers_model(saved) else self.configured

    def offers_model(self, name: str) -> bool:
        return any(info.name == name for info in self.models)

    def durations(self, model: str) -> tuple[int, ...]:
        return tuple(self._values(model, "duration"))

    def resolutions(self, model: str) -> tuple[str, ...]:
        return tuple(self._values(model, "resolution"))

    def _values(self, model: str, option: str) -> tuple[Any, ...]:
        """What the model takes for `option`, as the catalog lists it; nothing when the model
        or the provider does not take the option, or the catalog lists no values."""
        info = catalog.lookup(self.provider, model)
        if info is None or option not in info.options or option not in self.supported:
            return ()
        values: tuple[Any, ...] = info.durations if option == "duration" else info.resolutions
        return values


def platform_of(name: ProviderName, *, vertex: bool) -> Platform:
    """Where the provider's models are served (the catalog's platforms)."""
    if name is ProviderName.GEMINI:
        return catalog.gemini_platform(vertex)
    return Platform(name.value)


def choices_of(provider: Provider, platform: Platform) -> Choices:
    models = () if provider.name in FIXED_MODELS else tuple(
        catalog.models_of(provider.name, Kind.VIDEO, platform))
    aspects = tuple(aspect for aspect in Aspect if aspect in provider.aspects)
    return Choices(provider.name, aspects, models, provider.video_model,
                   provider.supported_options)


@dataclass(frozen=True)
class JobDefaults:
    """The saved defaults a new job takes: each one the job's provider and model can make."""

    aspect: Aspect | None = None
    model: str | None = None
    duration: int | None = None
    resolution: str | None = None

    def options(self, given: Options) -> Options:
        """The command's options, with the defaults for what it did not set."""
        return dataclasses.replace(
            given, duration=self.duration if given.duration is None else given.duration,
            resolution=self.resolution if given.resolution is None else given.resolution)


def defaults_for(saved: UserSettings, choices: Choices, kind: JobKind) -> JobDefaults:
    """What of `saved` a job of `kind` on that provider takes (a value it cannot take is
    ignored, never refused): the aspect for every job, the rest for videos only."""
    aspect = saved.aspect if saved.aspect in choices.aspects else None
    if kind not in (JobKind.VIDEO, JobKind.ANIMATE):
        return JobDefaults(aspect)
    model = choices.model(saved.video_model)
    duration = saved.duration if saved.duration in choices.durations(model) else None
    resolution = saved.resolution if saved.resolution in choices.resolutions(model) else None
    return JobDefaults(aspect, model if model != choices.configured else None, duration,
                       resolution)


def user_choices(services: Services, user_id: int,
                 provider: ProviderName | None = None) -> Choices:
    """What the provider of the user's jobs (or the given one) offers them."""
    account = services.accounts.account_for(user_id)
    if provider is None:
        found, name = services.provider_for_account(account), services.provider_name
    else:
        found, name = services.provider_named(provider, account), provider
    return choices_of(found, platform_of(name, vertex=services.settings.gemini_vertex))


# --- the message: the current values and a keyboard -----------------------------------------

@dataclass(frozen=True)
class View:
    text: str
    keyboard: InlineKeyboardMarkup


def view(language: str, owner: int, saved: UserSettings, choices: Choices, *,
         telegram_language: str, menu: str | None = None) -> View:
    """The settings message: the current values, then the main keyboard or one menu."""
    lines = [texts.text(language, "settings_title"),
             *summary(language, saved, choices, telegram_language=telegram_language)]
    if menu is None:
        return View("\n".join(lines), main_keyboard(language, owner, saved, choices))
    lines += ["", texts.text(language, f"settings_choose_{MENUS[menu]}")]
    return View("\n".join(lines), menu_keyboard(language, owner, menu, saved, choices))


def summary(language: str, saved: UserSettings, choices: Choices, *,
            telegram_language: str) -> list[str]:
    """One line per setting the provider offers (or the user saved)."""
    model = choices.model(saved.video_model)
    ratio = saved.aspect.ratio if saved.aspect is not None else None
    lines = [_line(language, "aspect", ratio, saved.aspect in choices.aspects,
                   DEFAULT_ASPECT.ratio)]
    if choices.models or saved.video_model:
        lines.append(_line(language, "video_model", saved.video_model,
                           choices.offers_model(saved.video_model or ""), choices.configured))
    own = texts.text(language, "settings_model_own")
    durations, resolutions = choices.durations(model), choices.resolutions(model)
    if durations or saved.duration:
        seconds = None if saved.duration is None else texts.text(
            language, "settings_seconds", seconds=saved.duration)
        lines.append(_line(language, "duration", seconds, saved.duration in durations, own))
    if resolutions or saved.resolution:
        lines.append(_line(language, "resolution", saved.resolution,
                           saved.resolution in resolutions, own))
    lines.append(_language_line(language, saved, telegram_language))
    return lines


def _line(language: str, name: str, value: str | None, offered: bool, default: str) -> str:
    if value is None:
        shown = texts.text(language, "settings_default", value=default)
    elif offered:
        shown = value
    else:
        shown = texts.text(language, "settings_unavailable", value=value, default=default)
    return texts.text(language, f"settings_{name}", value=shown)


def _language_line(language: str, saved: UserSettings, telegram_language: str) -> str:
    if saved.language in LANGUAGES:
        shown = texts.text(language, f"language_{saved.language}")
    else:
        shown = texts.text(language, "settings_from_telegram",
                           language=texts.text(language, f"language_{telegram_language}"))
    return texts.text(language, "settings_language", value=shown)


def main_keyboard(language: str, owner: int, saved: UserSettings,
                  choices: Choices) -> InlineKeyboardMarkup:
    """A button per menu the provider offers, then language and reset."""
    model = choices.model(saved.video_model)
    offered = {"a": bool(choices.aspects), "m": bool(choices.models),
               "d": bool(choices.durations(model)), "r": bool(choices.resolutions(model))}
    menus = [_button(texts.text(language, f"settings_button_{MENUS[menu]}"), owner, menu)
             for menu, shown in offered.items() if shown]
    rows = [menus[index:index + 2] for index in range(0, len(menus), 2)]
    rows.append([_button(texts.text(language, "settings_button_language"), owner, "l"),
                 _button(texts.text(language, "settings_button_reset"), owner, "reset")])
    return InlineKeyboardMarkup(rows)


def menu_keyboard(language: str, owner: int, menu: str, saved: UserSettings,
                  choices: Choices) -> InlineKeyboardMarkup:
    """One button per value (✓ on the current one), then the default and back."""
    current = getattr(saved, MENUS[menu])
    token = None if current is None else str(current)
    buttons = [_button(_checked(label, value == token), owner, menu, value)
               for value, label in options(language, menu, saved, choices)]
    per_row = _ROW[menu]
    rows = [buttons[index:index + per_row] for index in range(0, len(buttons), per_row)]
    default = "settings_button_from_telegram" if menu == "l" else "settings_button_default"
    rows.append([_button(_checked(texts.text(language, default), token is None), owner, menu,
                         CLEAR),
                 _button(texts.text(language, "settings_button_back"), owner, "home")])
    return InlineKeyboardMarkup(rows)


def options(language: str, menu: str, saved: UserSettings,
            choices: Choices) -> list[tuple[str, str]]:
    """(value as in callback data, label) of each value the menu offers."""
    model = choices.model(saved.video_model)
    if menu == "a":
        return [(aspect.value, aspect.ratio) for aspect in choices.aspects]
    if menu == "m":
        return [(info.name, model_label(language, info, choices.configured))
                for info in choices.models]
    if menu == "d":
        return [(str(seconds), texts.text(language, "settings_seconds", seconds=seconds))
                for seconds in choices.durations(model)]
    if menu == "r":
        return [(resolution, resolution) for resolution in choices.resolutions(model)]
    return [(code, texts.text(language, f"language_{code}")) for code in LANGUAGES]


def model_label(language: str, info: ModelInfo, configured: str) -> str:
    """`veo-3.1-fast · 10 credits (default)`: the model, its cost where known."""
    parts = [info.name]
    if info.cost is not None:
        parts.append(cost_label(language, info.cost))
    label = " · ".join(parts)
    if info.name == configured:
        label += " " + texts.text(language, "settings_default_mark")
    return label


def cost_label(language: str, cost: Cost) -> str:
    if cost.free:
        return texts.text(language, "settings_cost_free")
    if cost.credits is not None:
        return texts.text(language, "settings_cost_credits",
                          credits=texts.number(language, cost.credits))
    return cost.price or ""


def _checked(label: str, current: bool) -> str:
    return f"✓ {label}" if current else label


def _button(label: str, owner: int, menu: str, value: str | None = None) -> InlineKeyboardButton:
    data = f"{PREFIX}:{owner}:{menu}" if value is None else f"{PREFIX}:{owner}:{menu}:{value}"
    assert len(data.encode()) <= MAX_CALLBACK, data
    return InlineKeyboardButton(label, callback_data=data)


def value_of(menu: str, token: str, saved: UserSettings, choices: Choices) -> tuple[bool, Any]:
    """(offered, value to save) of a tapped value: only what the menu offers now is saved."""
    if token == CLEAR:
        return True, None
    if token not in {value for value, _ in options("en", menu, saved, choices)}:
        return False, None
    if menu == "a":
        return True, Aspect(token)
    return True, int(token) if menu == "d" else token


# --- the handlers ---------------------------------------------------------------------------

async def settings_command(update: Update, context: BotContext) -> None:
    """/settings: the user's defaults, with a keyboard to change them."""
    user, message = update.effective_user, update.effective_message
    assert user is not None and message is not None
    shown = _view(update, context, user.id, None)
    await message.reply_text(shown.text, reply_markup=shown.keyboard)


async def settings_tap(update: Update, context: BotContext) -> None:
    """A tap on a /settings keyboard: open a menu or save a value, editing that message."""
    query = update.callback_query
    assert query is not None and query.data is not None
    matched = CALLBACK.match(query.data)
    assert matched is not None  # the handler's pattern
    owner, menu, token = int(matched[1]), matched[2], matched[3]
    if query.from_user.id != owner:
        await query.answer(texts.text(lang(update), "settings_not_yours"), show_alert=True)
        return
    toast = await _apply_tap(context, owner, menu, token)
    await query.answer(texts.text(lang(update), toast) if toast else None)
    shown = _view(update, context, owner, menu if token is None and menu in MENUS else None)
    await _edit(query, shown)


async def _apply_tap(context: BotContext, owner: int, menu: str, token: str | None) -> str | None:
    """Save what the tap says; the key of the short answer, if any."""
    store = context.services.user_settings
    if menu == "reset":
        await store.reset(owner)
        return "settings_reset_done"
    if token is None or menu not in MENUS:
        return None
    saved = store.get(owner)
    offered, value = value_of(menu, token, saved, user_choices(context.services, owner))
    if not offered:
        return "settings_stale"
    await store.set(owner, MENUS[menu], value)
    logger.info("user %d set %s to %s", owner, MENUS[menu], value)
    return "settings_saved"


def _view(update: Update, context: BotContext, owner: int, menu: str | None) -> View:
    user = update.effective_user
    assert user is not None
    services = context.services
    return view(lang(update), owner, services.user_settings.get(owner),
                user_choices(services, owner),
                telegram_language=texts.language_of(user.language_code), menu=menu)


async def _edit(query: CallbackQuery, shown: View) -> None:
    """The same message, edited in place (a tap on what is already shown changes nothing)."""
    try:
        await query.edit_message_text(shown.text, reply_markup=shown.keyboard)
    except BadRequest as exc:
        if _NOT_MODIFIED not in str(exc).lower():  # gone, or not a settings message at all
            logger.warning("settings message not edited: %s", exc)


def register(application: Application) -> None:  # type: ignore[type-arg]
    application.add_handlers([
        CommandHandler("settings", settings_command),
        CallbackQueryHandler(settings_tap, pattern=CALLBACK),
    ])
