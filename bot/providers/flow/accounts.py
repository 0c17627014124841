"""`Accounts`: which Flow account a user's jobs run on, its live credentials, and renewing them.

The operator's account comes from the environment, overridden field by field by what admins send
(`/token`, `/cookie`, …). Users who `/login` get an account of their own. With a session cookie
the bearer token renews itself a few minutes before it expires and once after any 401.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import httpx

from bot.config import Settings
from bot.jobs.errors import AuthExpired, UpstreamError
from bot.providers.flow.client import FlowCredentials
from bot.providers.flow.session import fetch_session_token
from bot.redact import fingerprint, register_secret
from storage.accounts import OPERATOR, AccountStore, StoredAccount, user_account_id

logger = logging.getLogger(__name__)


class Accounts:
    def __init__(self, *, store: AccountStore, settings: Settings, http: httpx.AsyncClient,
                 clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self._settings = settings
        self._http = http
        self._clock = clock
        self._cache: dict[str, StoredAccount] = {}
        self._own: set[int] = set()
        self._locks: dict[str, asyncio.Lock] = {}

    async def load(self) -> None:
        """Warm the cache: the operator's record and every user's own account."""
        for account in await self._store.all():
            self._remember(account)

    def account_for(self, user_id: int) -> str:
        return user_account_id(user_id) if user_id in self._own else OPERATOR

    def has_own(self, user_id: int) -> bool:
        return user_id in self._own

    def view(self, account_id: str) -> StoredAccount:
        """The account as it stands (operator: environment merged with admin overrides)."""
        stored = self._cache.get(account_id) or StoredAccount(id=account_id)
        if account_id != OPERATOR:
            return stored
        env = self._settings
        return StoredAccount(
            id=OPERATOR,
            bearer_token=stored.bearer_token or _plain(env.flow_bearer_token),
            bearer_expires_at=stored.bearer_expires_at if stored.bearer_token else None,
            cookie=stored.cookie, project_id=stored.project_id or env.flow_project_id,
            proxy_token=stored.proxy_token or _plain(env.flow_proxy_token))

    async def credentials(self, account_id: str) -> FlowCredentials:
        """Live credentials; renews first when the token is about to expire and a cookie is set."""
        account = self.view(account_id)
        expires = account.bearer_expires_at
        margin = self._settings.token_renew_margin
        if account.cookie and (not account.bearer_token
                               or (expires is not None and expires - self._clock() < margin)):
            # Many calls may notice at once; naming the token they saw renews it only once.
            seen = fingerprint(account.bearer_token) if account.bearer_token else None
            await self.renew(account_id, seen)
            account = self.view(account_id)
        if not account.bearer_token:
            raise AuthExpired("no Google bearer token is set for this account")
        return FlowCredentials(account.bearer_token, account.proxy_token or "",
                               account.project_id or "")

    async def renew(self, account_id: str, stale: str | None = None) -> bool:
        """Mint a fresh bearer token from the session cookie; False when there is no way to.

        `stale` fingerprints the refused token: if it was replaced meanwhile (a burst of 401s,
        an admin's /token), the replacement is the answer and nothing is fetched.
        """
        lock = self._locks.setdefault(account_id, asyncio.Lock())
        async with lock:
            account = self.view(account_id)
            if stale and account.bearer_token and fingerprint(account.bearer_token) != stale:
                return True
            if not account.cookie:
                return False
            try:
                token = await fetch_session_token(self._http, self._settings.flow_session_url,
                                                  account.cookie)
            except UpstreamError as exc:
                logger.warning("account %s: token renewal failed: %s", account_id, exc)
                return False
            await self.update(account_id, bearer_token=token.access_token,
                              bearer_expires_at=token.expires_at)
            logger.info("account %s: bearer token renewed from the session cookie", account_id)
            return True

    async def update(self, account_id: str, *, owner_id: int | None = None,
                     **fields: Any) -> StoredAccount:
        """Store new values for some fields (a new bearer token without a known expiry)."""
        for name in ("bearer_token", "cookie", "proxy_token"):
            register_secret(fields.get(name))
        if "bearer_token" in fields and "bearer_expires_at" not in fields:
            fields["bearer_expires_at"] = None
        current = self._cache.get(account_id) or StoredAccount(id=account_id, owner_id=owner_id)
        account = replace(current, **fields)
        await self._store.save(account)
        self._remember(account)
        return account

    async def remove(self, account_id: str) -> bool:
        self._cache.pop(account_id, None)
        if account_id.startswith("user:"):
            self._own.discard(int(account_id.removeprefix("user:")))
        return await self._store.delete(account_id)

    def _remember(self, account: StoredAccount) -> None:
        for secret in (account.bearer_token, account.cookie, account.proxy_token):
            register_secret(secret)
        self._cache[account.id] = account
        if account.owner_id is not None and account.id == user_account_id(account.owner_id):
            self._own.add(account.owner_id)


def _plain(secret: Any) -> str | None:
    return secret.get_secret_value() if secret is not None else None
