"""The user's language and the one-line reply every handler uses."""

from __future__ import annotations

from telegram import Update

from bot import texts


def lang(update: Update) -> str:
    user = update.effective_user
    return texts.language_of(user.language_code if user else None)


async def reply(update: Update, key: str, **values: object) -> None:
    message = update.effective_message
    if message is not None:
        await message.reply_text(texts.text(lang(update), key, **values))
