"""The checks behind `python -m bot doctor`: can this deploy work right now, and if not, what is
the one thing to do?

`run_checks(settings, http)` returns one `CheckResult` per check: the settings a job needs
(Telegram token, who may use the bot, each configured provider's credentials), the database
(writable, schema version), Telegram (`getMe`, and no webhook set elsewhere: long polling gets
nothing while one is set), and what each configured provider (PROVIDER, FALLBACK_PROVIDER) says
of its credentials, plan and models (`bot.health_providers`). It only reads: nothing generates,
spends credits or writes; the network checks run concurrently, each call under its own timeout;
secrets come back masked. The start-up check and the periodic canary can run it as it is.

`liveness=True` is the Docker HEALTHCHECK's form: every local check, Telegram, and PROVIDER's
credentials as its upstream answers them (flow: proxy + credits; useapi: `GET /accounts` and the
account's health; gemini: both model look-ups, which are its key check) — at most four small
GETs, so it can run every few minutes. It leaves out FALLBACK_PROVIDER and the slow-changing
details (useapi's credits, plan and models), which a full `doctor` run reports.

`doctor()` is the command: it reads the settings itself (an invalid variable is a failed check,
not a traceback), prints one line per check (or `--json`) and returns 0 only when all pass.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import sqlite3
import sys
from collections.abc import Awaitable
from pathlib import Path
from typing import Any, TextIO

import aiosqlite
import httpx

from bot import config
from bot.config import Settings
from bot.health_providers import credentials, network
from bot.health_result import (
    DEFAULT_TIMEOUT,
    CheckResult,
    failed,
    from_error,
    given,
    passed,
    within,
)
from bot.jobs.errors import UpstreamError, UpstreamUnavailable
from bot.jobs.model import ProviderName
from bot.providers.flow import check as flow_check
from bot.providers.http import transport_error
from bot.redact import redact, register_secret
from storage.db import MIGRATIONS

__all__ = ["DEFAULT_TIMEOUT", "CheckResult", "doctor", "load_settings", "run_checks"]

BOT_TOKEN = re.compile(r"^\d+:[A-Za-z0-9_-]+$")
_WRITABLE = ("make it writable by the user that runs the bot (uid 10001 in the Docker image), "
             "or point DATABASE_PATH elsewhere")
_TOKEN_REFUSED = ("copy the token again from @BotFather (/mybots → your bot → API Token) into "
                  "TELEGRAM_BOT_TOKEN")


# the checks


async def run_checks(settings: Settings, http: httpx.AsyncClient, *, liveness: bool = False,
                     wait: float = DEFAULT_TIMEOUT) -> list[CheckResult]:
    """Every check of a valid configuration, in a fixed order: the local ones, then Telegram,
    then each provider. Pure: reads only; the network checks run concurrently."""
    _register_secrets(settings)
    providers = configured_providers(settings, liveness=liveness)
    operator = (await flow_check.operator_account(settings)
                if ProviderName.FLOW in providers else None)
    token = token_check(settings)
    found = [token, users_check(settings)]
    ready: list[ProviderName] = []
    for provider in providers:
        found.append(credentials(settings, provider, operator))
        if found[-1].ok:
            ready.append(provider)
    found.append(await database_check(settings))
    calls: list[tuple[str, Awaitable[list[CheckResult]]]] = []
    if token.ok:
        calls.append(("Telegram", _telegram(settings, http, wait)))
    calls += [(str(provider), network(settings, http, provider, operator=operator,
                                      liveness=liveness, wait=wait))
              for provider in ready]
    for answers in await asyncio.gather(*(_guarded(name, call) for name, call in calls)):
        found.extend(answers)
    return [result.redacted() for result in found]


def configured_providers(settings: Settings, *, liveness: bool = False) -> list[ProviderName]:
    """PROVIDER, and FALLBACK_PROVIDER when set (and not for liveness)."""
    providers = [settings.provider]
    fallback = settings.fallback_provider
    if not liveness and fallback is not None and fallback is not settings.provider:
        providers.append(fallback)
    return providers


def token_check(settings: Settings) -> CheckResult:
    name, token = "TELEGRAM_BOT_TOKEN", settings.telegram_bot_token
    create = ("create a bot with @BotFather in Telegram (/newbot) and set TELEGRAM_BOT_TOKEN to "
              "the token it gives (123456789:AA…)")
    if token is None or not token.get_secret_value().strip():
        return failed(name, "not set", create)
    if not given(token):
        return failed(name, "still the .env.example placeholder", create)
    if not BOT_TOKEN.match(token.get_secret_value().strip()):
        return failed(name, "does not look like a bot token (digits, a colon, then letters)",
                      _TOKEN_REFUSED)
    return passed(name, "set")


def users_check(settings: Settings) -> CheckResult:
    allowed, admins = settings.allowed_user_ids, settings.admin_user_ids
    if not allowed and not admins:
        return failed("users", "ALLOWED_USER_IDS and ADMIN_USER_IDS are both empty: the bot "
                               "refuses everyone",
                      "set ADMIN_USER_IDS to your own Telegram user id (the bot's refusal "
                      "shows it; or ask @userinfobot) and ALLOWED_USER_IDS to the others', "
                      "comma-separated")
    return passed("users", f"{_count(len(allowed | admins), 'user')} may use the bot, "
                           f"{_count(len(admins), 'admin')}")


async def database_check(settings: Settings) -> CheckResult:
    """Writable (a write lock taken and released: nothing is written) and a schema this bot
    knows. A database not created yet only needs a writable folder."""
    name, known = "database", len(MIGRATIONS)
    path = settings.database_path if settings.database_path.is_absolute() \
        else Path.cwd() / settings.database_path
    if path.is_dir():
        return failed(name, f"DATABASE_PATH={path} is a folder",
                      "set DATABASE_PATH to a file, e.g. data/bot.sqlite3")
    if not path.exists():
        folder = _existing_parent(path)
        if not os.access(folder, os.W_OK | os.X_OK):
            return failed(name, f"cannot create {path}: {folder} is not writable", _WRITABLE)
        return passed(name, f"{path} does not exist yet: the bot creates it at start-up")
    if not os.access(path.parent, os.W_OK | os.X_OK):
        return failed(name, f"{path.parent} is not writable (the journal and the files waiting "
                            "for delivery live there)", _WRITABLE)
    try:
        db = await aiosqlite.connect(f"{path.resolve().as_uri()}?mode=rw", uri=True,
                                     timeout=5.0)
        try:
            async with db.execute("PRAGMA user_version") as cursor:
                row = await cursor.fetchone()
            await db.execute("BEGIN IMMEDIATE")
            await db.rollback()
        finally:
            await db.close()
    except sqlite3.DatabaseError as exc:
        if "not a database" in str(exc):
            return failed(name, f"{path} is not an SQLite database",
                          "point DATABASE_PATH at the bot's database, or at a new file")
        return failed(name, f"cannot write {path}: {exc}", _WRITABLE)
    version = int(row[0]) if row else 0
    if version > known:
        return failed(name, f"{path} has schema version {version}, newer than this bot's "
                            f"{known}: a newer version of the bot wrote it",
                      "run the newer version of the bot, or restore a backup made for this one")
    schema = (f"schema {version}, current" if version == known
              else f"schema {version}: the bot brings it to {known} at start-up")
    return passed(name, f"{path} is writable, {schema}")


# Telegram


class _BotApiRefused(Exception):
    def __init__(self, code: int, description: str) -> None:
        super().__init__(f"{code} {description}")
        self.code = code


async def _telegram(settings: Settings, http: httpx.AsyncClient,
                    wait: float) -> list[CheckResult]:
    """`getMe` (the token) and `getWebhookInfo` at once."""
    root = settings.telegram_api_url
    token = settings.telegram_bot_token.get_secret_value().strip() \
        if settings.telegram_bot_token else ""
    me: Any
    hook: Any
    me, hook = await asyncio.gather(_bot_api(http, root, token, "getMe", wait),
                                    _bot_api(http, root, token, "getWebhookInfo", wait),
                                    return_exceptions=True)
    name = "Telegram: bot token"
    if isinstance(me, BaseException):
        return [_telegram_failure(name, me, root)]
    username = me.get("username") if isinstance(me, dict) else None
    found = [passed(name, f"{root} accepts it: @{username}")]
    if isinstance(hook, BaseException):
        return [*found, _telegram_failure("Telegram: webhook", hook, root)]
    return [*found, _webhook(hook, root)]


async def _bot_api(http: httpx.AsyncClient, root: str, token: str, method: str,
                   wait: float) -> Any:
    """One Bot API call; its URL holds the token, so no error names it (only `root`)."""
    try:
        response = await within(http.post(f"{root}/bot{token}/{method}"), url=root,
                                seconds=wait)
    except httpx.HTTPError as exc:
        raise transport_error(exc, upstream="the Bot API") from exc
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise _BotApiRefused(response.status_code, "the answer is not the Bot API's JSON")
    if body.get("ok") is not True:
        raise _BotApiRefused(int(body.get("error_code") or response.status_code),
                             str(body.get("description") or ""))
    return body.get("result")


def _telegram_failure(name: str, exc: BaseException, root: str) -> CheckResult:
    if isinstance(exc, _BotApiRefused):
        if exc.code in (401, 404):
            return failed(name, f"Telegram refused TELEGRAM_BOT_TOKEN ({exc})", _TOKEN_REFUSED)
        if exc.code >= 500 or exc.code == 429:
            return failed(name, f"{root} answered {exc}", "Telegram is having trouble: run "
                                                         "doctor again in a few minutes")
        return failed(name, f"{root} answered {exc}",
                      "check TELEGRAM_API_URL: it should be https://api.telegram.org or your "
                      "own Bot API server")
    if isinstance(exc, UpstreamError):
        return from_error(name, exc, url=root, variable="TELEGRAM_API_URL",
                          refused=_TOKEN_REFUSED)
    raise exc


def _webhook(info: Any, root: str) -> CheckResult:
    name = "Telegram: webhook"
    url = info.get("url") if isinstance(info, dict) else None
    if not url:
        waiting = info.get("pending_update_count") if isinstance(info, dict) else None
        note = f" ({_count(waiting, 'update')} waiting)" if isinstance(waiting, int) and \
            waiting > 0 else ""
        return passed(name, f"none set: long polling receives the updates{note}")
    host = re.sub(r"^[a-z]+://([^/:?#]+).*$", r"\1", str(url))  # the path may hold a secret
    error = info.get("last_error_message")
    said = f"; its last error: {error}" if error else ""
    return failed(name, f"a webhook to {host} is set: Telegram refuses getUpdates while one is "
                        f"set, so this bot (long polling) receives nothing{said}",
                  "stop whatever set it (another deploy or program with this token), then "
                  f"delete it: curl {root}/bot<TELEGRAM_BOT_TOKEN>/deleteWebhook")


# the settings


def load_settings(env_file: str | None = ".env") -> tuple[Settings | None, list[CheckResult]]:
    """The settings and a check saying where they came from; or None and one failed check per
    invalid variable (`bot.config.load_settings`'s sentences: named, with what to write)."""
    try:
        settings = config.load_settings(_env_file=env_file)
    except config.ConfigError as exc:
        return None, [_invalid(sentence) for sentence in exc.sentences]
    where = (f"the environment and {Path(env_file).resolve()}"
             if env_file and Path(env_file).is_file()
             else f"the environment (no .env in {Path.cwd()})")
    return settings, [passed("settings", f"read from {where}")]


def _invalid(sentence: str) -> CheckResult:
    """`NAME=value in .env is not valid: <fix>.` as a check named by the variable."""
    what, said, fix = sentence.partition(" is not valid: ")
    variable = re.match(r"[A-Z][A-Z0-9_]*\b", what)
    name = f"setting {variable.group(0)}" if variable else "settings"
    if not said:
        return failed(name, sentence.removesuffix("."),
                      "check .env and the environment (.env.example explains each variable)")
    return failed(name, f"{what} is not valid", fix.removesuffix("."))


# the command


def doctor(*, as_json: bool = False, liveness: bool = False,
           timeout: float = DEFAULT_TIMEOUT, out: TextIO | None = None) -> int:
    """`python -m bot doctor`: print the checks; 0 only when every one passed."""
    out = out or sys.stdout
    settings, results = load_settings()
    if settings is not None:
        results += asyncio.run(_run(settings, liveness=liveness, wait=timeout))
    results = [result.redacted() for result in results]
    everything_ok = all(result.ok for result in results)
    if as_json:
        document = {"ok": everything_ok, "liveness": liveness,
                    "provider": str(settings.provider) if settings else None,
                    "fallback_provider": (str(settings.fallback_provider)
                                          if settings and settings.fallback_provider else None),
                    "checks": [result.as_dict() for result in results]}
        text = json.dumps(document, ensure_ascii=False, indent=2)
    else:
        text = render(results)
    if hasattr(out, "reconfigure"):
        out.reconfigure(errors="replace")  # ✓ and ✗ on a terminal that cannot show them
    print(redact(text), file=out, flush=True)
    return 0 if everything_ok else 1


def render(results: list[CheckResult]) -> str:
    """One line per check, and under each failure the one thing to do."""
    lines = []
    for result in results:
        lines.append(f"{'✓' if result.ok else '✗'} {result.name}: {result.detail}")
        if not result.ok and result.fix:
            lines.append(f"    → {result.fix}")
    failures = sum(not result.ok for result in results)
    lines.append(f"{failures} of {_count(len(results), 'check')} failed." if failures
                 else f"All {_count(len(results), 'check')} passed.")
    return "\n".join(lines)


async def _run(settings: Settings, *, liveness: bool, wait: float) -> list[CheckResult]:
    async with httpx.AsyncClient(timeout=httpx.Timeout(wait)) as http:
        return await run_checks(settings, http, liveness=liveness, wait=wait)


# helpers


async def _guarded(name: str, call: Awaitable[list[CheckResult]]) -> list[CheckResult]:
    """A check that crashed is a failed check, not a crashed doctor (a healthcheck must answer).
    Its own timeouts bound it; this one is the last resort."""
    try:
        return await call
    except UpstreamUnavailable as exc:  # NoAnswer too
        return [failed(name, str(exc), "check the address and this machine's network")]
    except Exception as exc:
        return [failed(name, f"the check itself failed ({type(exc).__name__}: {exc})",
                       "run doctor again; if it persists, report it with this line")]


def _register_secrets(settings: Settings) -> None:
    for secret in settings.secrets():  # whatever their shape: a malformed one is quoted back
        register_secret(secret, configured=True)


def _existing_parent(path: Path) -> Path:
    folder = path.resolve().parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return folder


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"
