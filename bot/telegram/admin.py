"""Accounts and access commands: /token /project /proxytoken /cookie /account /login /logout
/allow /deny /users /health. Secrets are only taken in private chats, and the message holding one is
deleted at once."""

from __future__ import annotations

import logging
import re
import time
from datetime import UTC, datetime
from typing import Any

from telegram import Message, Update
from telegram.constants import ChatType
from telegram.error import TelegramError
from telegram.ext import Application, CommandHandler

from bot import texts
from bot.jobs.errors import UpstreamError
from bot.jobs.model import ProviderName
from bot.jobs.provider import AccountStatus
from bot.redact import mask, register_secret
from bot.telegram.context import BotContext
from bot.telegram.replies import lang, reply
from storage.accounts import OPERATOR, user_account_id

logger = logging.getLogger(__name__)
#: command → (account field, what the confirmation calls it)
SECRET_FIELDS = {"token": "bearer_token", "proxytoken": "proxy_token", "cookie": "cookie"}
MAX_SECRET = 4096
MAX_LISTED = 50
LOGIN_KEYS = {"token": "bearer_token", "cookie": "cookie", "project": "project_id",
              "proxy": "proxy_token"}


async def operator_secret(update: Update, context: BotContext) -> None:
    """/token, /proxytoken, /cookie and /project from an admin in a private chat."""
    message = update.effective_message
    user = update.effective_user
    assert message is not None and user is not None and message.text is not None
    command = message.text.split()[0].lstrip("/").split("@")[0].lower()
    value = (context.args or [""])[0].strip()
    register_secret(value)
    if not await _private_and_deleted(update, message, secret=command != "project"):
        return
    if await _not_admin(update, context):
        return
    if not value or not _plausible(value, project=command == "project"):
        await reply(update, f"usage_{command}")
        return
    if command == "project":
        await context.services.accounts.update(OPERATOR, project_id=value)
        await reply(update, "project_saved", project=value)
        return
    await _save_secret(update, context, OPERATOR, SECRET_FIELDS[command], value)


async def _save_secret(update: Update, context: BotContext, account: str, field: str,
                       value: str) -> None:
    accounts = context.services.accounts
    changes: dict[str, Any] = {field: value}
    await accounts.update(account, **changes)
    if field == "cookie" and not await accounts.renew(account):
        await reply(update, "cookie_dead")
        return
    resumed = await _resume(context, account)
    shown = accounts.view(account)
    if field == "cookie":
        await reply(update, "cookie_saved", masked=mask(shown.bearer_token or ""),
                    expires=_when(update, shown.bearer_expires_at), resumed=resumed)
    else:
        what = texts.text(lang(update), f"field_{field}")
        await reply(update, "secret_saved", what=what, masked=mask(value), resumed=resumed)


async def _resume(context: BotContext, account: str) -> int:
    context.services.notifier.token_renewed(account)
    return await context.services.runner.resume_waiting(account)


async def account(update: Update, context: BotContext) -> None:
    """/account: the masked token, its expiry, credits and tier, and the jobs running on it."""
    user = update.effective_user
    assert user is not None
    services = context.services
    account_id = services.accounts.account_for(user.id)
    running = await services.jobs.count_active(account_id)
    if services.provider_name is ProviderName.USEAPI:
        await _useapi_account(update, context, account_id, running)
        return
    if account_id == OPERATOR and not services.access.is_admin(user.id):
        await reply(update, "account_operator", jobs=running)
        return
    view = services.accounts.view(account_id)
    credits, tier = await _credits(context, account_id)
    renewal = "renewal_cookie" if view.cookie else "renewal_manual"
    name = texts.text(lang(update), "account_operator_name" if account_id == OPERATOR
                      else "account_own_name")
    await reply(update, "account_view", name=name,
                masked=mask(view.bearer_token) if view.bearer_token else "—",
                expires=_when(update, view.bearer_expires_at),
                renewal=texts.text(lang(update), renewal), credits=credits, tier=tier,
                jobs=running)


async def _useapi_account(update: Update, context: BotContext, account_id: str,
                          running: int) -> None:
    """/account with PROVIDER=useapi: one Google account on useapi.net serves everyone, so
    users and admins alike see its health, Flow credits and plan tier."""
    try:
        status = await context.services.provider_for_account(account_id).account_status()
    except UpstreamError as exc:
        logger.info("useapi.net account status unavailable: %s", exc)
        status = AccountStatus(health=exc.detail)
    status = status or AccountStatus()
    credits = "?" if status.credits is None else texts.number(lang(update), status.credits)
    await reply(update, "account_useapi", health=status.health or "?", credits=credits,
                tier=status.tier or "?", jobs=running)


async def _credits(context: BotContext, account_id: str) -> tuple[str, str]:
    try:
        status = await context.services.provider_for_account(account_id).account_status()
    except (UpstreamError, ValueError) as exc:
        logger.info("credits of account %s unavailable: %s", account_id, exc)
        status = None
    if status is None or status.credits is None:
        return "?", "?"
    return str(status.credits), status.tier or "?"


async def login(update: Update, context: BotContext) -> None:
    """/login token|cookie=… project=… proxy=…: the user's own Google account."""
    message = update.effective_message
    user = update.effective_user
    assert message is not None and user is not None
    for arg in context.args or []:
        register_secret(arg.partition("=")[2] or arg)
    if not await _private_and_deleted(update, message, secret=True):
        return
    fields = _login_fields(context.args or [])
    if fields is None:
        await reply(update, "login_usage")
        return
    account_id = user_account_id(user.id)
    accounts = context.services.accounts
    await accounts.update(account_id, owner_id=user.id, **fields)
    if "cookie" in fields and not await accounts.renew(account_id):
        await accounts.remove(account_id)
        await reply(update, "cookie_dead")
        return
    await _resume(context, account_id)
    await reply(update, "login_done", masked=mask(accounts.view(account_id).bearer_token or ""))


def _plausible(value: str, *, project: bool = False) -> bool:
    """Secrets travel in HTTP headers: printable ASCII only (a pasted masked `ya29.…abcd` is
    not a token). A project id is a short UUID-like word."""
    if project:
        return re.fullmatch(r"[A-Za-z0-9_.\-]{1,100}", value) is not None
    return len(value) <= MAX_SECRET and re.fullmatch(r"[\x21-\x7e]+", value) is not None


def _login_fields(args: list[str]) -> dict[str, str] | None:
    fields: dict[str, str] = {}
    for arg in args:
        key, sep, value = arg.partition("=")
        if not sep and arg.startswith("ya29."):
            key, value = "token", arg
        if key.lower() not in LOGIN_KEYS or not value:
            return None
        if not _plausible(value, project=key.lower() == "project"):
            return None
        fields[LOGIN_KEYS[key.lower()]] = value
    has_credential = "bearer_token" in fields or "cookie" in fields
    if not has_credential or "project_id" not in fields or "proxy_token" not in fields:
        return None
    return fields


async def logout(update: Update, context: BotContext) -> None:
    """/logout: erase the user's own account."""
    user = update.effective_user
    assert user is not None
    removed = await context.services.accounts.remove(user_account_id(user.id))
    await reply(update, "logout_done" if removed else "logout_none")


async def allow(update: Update, context: BotContext) -> None:
    """/allow <id> (admins)."""
    await _decide(update, context, allowed=True)


async def deny(update: Update, context: BotContext) -> None:
    """/deny <id> (admins)."""
    await _decide(update, context, allowed=False)


async def _not_admin(update: Update, context: BotContext) -> bool:
    """True (and the refusal sent) when the sender is not an admin."""
    user = update.effective_user
    if user is not None and context.services.access.is_admin(user.id):
        return False
    await reply(update, "admins_only")
    return True


async def _decide(update: Update, context: BotContext, *, allowed: bool) -> None:
    user = update.effective_user
    assert user is not None
    access = context.services.access
    if await _not_admin(update, context):
        return
    args = context.args or []
    if len(args) != 1 or not re.fullmatch(r"[0-9]{1,15}", args[0]):
        await reply(update, "usage_allow" if allowed else "usage_deny")
        return
    target = int(args[0])
    if not allowed and access.is_admin(target):
        await reply(update, "deny_admin", user_id=target)
        return
    await access.decide(target, allowed=allowed, by=user.id)
    logger.info("admin %d %s user %d", user.id, "allowed" if allowed else "denied", target)
    await reply(update, "allowed_done" if allowed else "denied_done", user_id=target)


async def users(update: Update, context: BotContext) -> None:
    """/users (admins): who is let in and who is shut out."""
    if await _not_admin(update, context):
        return
    admins, allowed, denied = context.services.access.listing()
    await reply(update, "users_list", admins=_ids(admins), allowed=_ids(allowed),
                denied=_ids(denied))


async def health(update: Update, context: BotContext) -> None:
    """/health (admins): doctor's checks, run now, as a table."""
    if await _not_admin(update, context):
        return
    report = context.services.health_report
    if report is None:
        await reply(update, "health_unavailable")
        return
    message = update.effective_message
    assert message is not None
    await message.reply_text(await report(lang(update)))


async def _private_and_deleted(update: Update, message: Message, *, secret: bool) -> bool:
    """Secrets never stay in a chat: delete the message; refuse outside a private chat."""
    chat = update.effective_chat
    private = chat is not None and chat.type == ChatType.PRIVATE
    if secret or not private:
        try:
            await message.delete()
        except TelegramError as exc:
            logger.info("could not delete a message holding a secret: %s", exc)
    if not private:
        await message.chat.send_message(texts.text(lang(update), "secret_in_group"))
    return private


def _ids(ids: list[int]) -> str:
    """At most MAX_LISTED ids, so the reply stays within Telegram's 4096 characters."""
    shown = ", ".join(str(i) for i in ids[:MAX_LISTED]) or "—"
    return shown + (f" (+{len(ids) - MAX_LISTED})" if len(ids) > MAX_LISTED else "")


def _when(update: Update, moment: float | None) -> str:
    if moment is None:
        return texts.text(lang(update), "expires_unknown")
    stamp = datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%d %H:%M UTC")
    left = texts.text(lang(update), "in_time", left=texts.duration(moment - time.time()))
    return f"{stamp} ({left})"


def register(application: Application) -> None:  # type: ignore[type-arg]
    application.add_handlers([
        CommandHandler(["token", "proxytoken", "cookie", "project"], operator_secret),
        CommandHandler("account", account),
        CommandHandler("login", login),
        CommandHandler("logout", logout),
        CommandHandler("allow", allow),
        CommandHandler("deny", deny),
        CommandHandler("users", users),
        CommandHandler("health", health),
    ])
