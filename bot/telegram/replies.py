"""The user's language and the one-line reply every handler uses."""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar

from telegram import Update

from bot import texts

#: user id → the language saved in /settings (None: none saved). Set by the gate for the rest of
#: one update's handling: each update is handled in its own task, so it is that update's alone.
_SAVED_LANGUAGE: ContextVar[Callable[[int], str | None] | None] = ContextVar(
    "saved_language", default=None)


def use_saved_languages(lookup: Callable[[int], str | None]) -> None:
    """From here on in this update's handling, a language saved in /settings wins."""
    _SAVED_LANGUAGE.set(lookup)


def lang(update: Update) -> str:
    """The user's language: the one saved in /settings, else Telegram's `language_code`."""
    user = update.effective_user
    if user is None:
        return texts.language_of(None)
    saved = _SAVED_LANGUAGE.get()
    chosen = saved(user.id) if saved is not None else None
    if chosen is not None and chosen in texts.TEXTS:
        return chosen
    return texts.language_of(user.language_code)


async def reply(update: Update, key: str, **values: object) -> None:
    message = update.effective_message
    if message is not None:
        await message.reply_text(texts.text(lang(update), key, **values))
