"""Read-only probes of the flow provider for `doctor` (`bot.health`): the proxy answers with its
token, Google accepts the bearer (a credits call), and the operator's account as the bot would use
it. Nothing here generates, costs credits or writes anything.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiosqlite
import httpx

from bot.config import Settings
from bot.jobs.errors import BadResponse
from bot.jobs.provider import AccountStatus
from bot.providers.flow import protocol
from bot.providers.flow.errors import status_map
from bot.providers.http import json_or_none, request_json, transport_error
from bot.redact import fingerprint, register_secret
from storage.accounts import OPERATOR, AccountStore
from storage.crypto import KEY_FILE, SecretBox, SecretUnreadable

#: A task id no proxy has made: the answer proves the token, and no task is looked at.
PROBE_TASK = "veo-bot-doctor-probe"


@dataclass(frozen=True)
class OperatorAccount:
    """The operator's Flow account: the environment, overridden field by field by what admins
    sent (`/token`, `/cookie`, `/project`, `/proxytoken`), as `Accounts.view` merges them."""

    bearer_token: str | None
    proxy_token: str | None
    project_id: str | None
    cookie: str | None
    from_database: frozenset[str] = frozenset()  #: the fields an admin's command set
    unreadable: str | None = None  #: why the stored values could not be read, if so


async def probe_proxy(http: httpx.AsyncClient, proxy_url: str, token: str) -> None:
    """`GET {proxy}/task-status` of a task nobody made. The proxy checks the token first (401 or
    403 when refused, raised as such), then answers in its `{"success": …}` envelope (404 "task
    not found" here); an answer without that envelope is not the proxy's (a wrong address)."""
    url = proxy_url.rstrip("/") + protocol.PROXY_TASK_STATUS
    try:
        response = await http.get(url, params={"taskId": PROBE_TASK},
                                  headers={"Authorization": f"Bearer {token}"})
    except httpx.HTTPError as exc:
        raise transport_error(exc, upstream=protocol.UPSTREAM_PROXY) from exc
    status = response.status_code
    if status in (401, 403) or status >= 500:
        raise status_map(upstream=protocol.UPSTREAM_PROXY, credential=fingerprint(token))(response)
    body = json_or_none(response)
    if status < 300 or (isinstance(body, dict) and "success" in body):
        return
    raise BadResponse(f"GET {protocol.PROXY_TASK_STATUS} answered {status} without the proxy's "
                      '{"success": …} answer', status=status)


async def credits(http: httpx.AsyncClient, api_url: str, bearer: str) -> AccountStatus:
    """`GET {FLOW_API_URL}/v1/credits` with the bearer: credits and paygate tier (free)."""
    body = await request_json(
        http, "GET", api_url.rstrip("/") + protocol.GOOGLE_CREDITS,
        upstream=protocol.UPSTREAM_GOOGLE,
        status_map=status_map(upstream=protocol.UPSTREAM_GOOGLE, credential=fingerprint(bearer)),
        headers={"Authorization": f"Bearer {bearer}"})
    return protocol.parse_credits(body)


async def operator_account(settings: Settings) -> OperatorAccount:
    """The operator's account, reading the database without writing to it (no key file is made,
    no schema is migrated): a database or key that is not there yet means the environment only."""
    env = OperatorAccount(bearer_token=_plain(settings.flow_bearer_token),
                          proxy_token=_plain(settings.flow_proxy_token),
                          project_id=settings.flow_project_id or None, cookie=None)
    path = settings.database_path
    key = _plain(settings.bot_secret_key)
    key_file = path.parent / KEY_FILE
    if not path.is_file():
        return env
    try:
        async with _read_only(path) as db:
            if key is None and not key_file.is_file():
                if await _has_stored_operator(db):
                    return _unreadable(env, f"no BOT_SECRET_KEY and no {key_file}")
                return env
            box = SecretBox.open(key=key, folder=path.parent)
            stored = await AccountStore(db, box).get(OPERATOR)
    except SecretUnreadable:
        return _unreadable(env, "they were sealed with another key than BOT_SECRET_KEY "
                                f"(or {key_file})")
    except (sqlite3.Error, OSError, ValueError):  # no accounts table yet, an unreadable file
        return env
    if stored is None:
        return env
    for secret in (stored.bearer_token, stored.cookie, stored.proxy_token):
        register_secret(secret)
    fields = {"bearer_token": stored.bearer_token, "proxy_token": stored.proxy_token,
              "project_id": stored.project_id, "cookie": stored.cookie}
    return OperatorAccount(
        bearer_token=stored.bearer_token or env.bearer_token,
        proxy_token=stored.proxy_token or env.proxy_token,
        project_id=stored.project_id or env.project_id, cookie=stored.cookie,
        from_database=frozenset(name for name, value in fields.items() if value))


@contextlib.asynccontextmanager
async def _read_only(path: Path) -> AsyncIterator[aiosqlite.Connection]:
    db = await aiosqlite.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=2.0)
    try:
        yield db
    finally:
        await db.close()


async def _has_stored_operator(db: aiosqlite.Connection) -> bool:
    async with db.execute("SELECT 1 FROM accounts WHERE id = ? AND (bearer_token IS NOT NULL "
                          "OR cookie IS NOT NULL OR proxy_token IS NOT NULL)",
                          (OPERATOR,)) as cursor:
        return await cursor.fetchone() is not None


def _unreadable(env: OperatorAccount, why: str) -> OperatorAccount:
    return OperatorAccount(env.bearer_token, env.proxy_token, env.project_id, env.cookie,
                           unreadable=why)


def _plain(secret: object) -> str | None:
    value = getattr(secret, "get_secret_value", None)
    return str(value()) if value is not None else None
