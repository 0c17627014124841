"""`AccountStore`: upstream accounts (the operator's and users' own), secrets sealed at rest."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import aiosqlite

from storage.crypto import SecretBox

OPERATOR = "default"


@dataclass(frozen=True)
class StoredAccount:
    """Plain values, in memory only; on disk the three secrets are sealed."""

    id: str
    owner_id: int | None = None
    bearer_token: str | None = None
    bearer_expires_at: float | None = None
    cookie: str | None = None
    project_id: str | None = None
    proxy_token: str | None = None


def user_account_id(user_id: int) -> str:
    return f"user:{user_id}"


class AccountStore:
    def __init__(self, db: aiosqlite.Connection, box: SecretBox) -> None:
        self._db = db
        self._box = box

    async def get(self, account_id: str) -> StoredAccount | None:
        rows = await self._select("WHERE id = ?", (account_id,))
        return rows[0] if rows else None

    async def all(self) -> list[StoredAccount]:
        return await self._select("ORDER BY id", ())

    async def _select(self, where: str, params: tuple[object, ...]) -> list[StoredAccount]:
        async with self._db.execute(
            "SELECT id, owner_id, bearer_token, bearer_expires_at, cookie, project_id, proxy_token"
            f" FROM accounts {where}", params,
        ) as cursor:
            rows = await cursor.fetchall()
        return [self._to_account(tuple(row)) for row in rows]

    def _to_account(self, row: tuple[Any, ...]) -> StoredAccount:
        return StoredAccount(
            id=row[0], owner_id=row[1], bearer_token=self._box.unseal(row[2]),
            bearer_expires_at=row[3], cookie=self._box.unseal(row[4]), project_id=row[5],
            proxy_token=self._box.unseal(row[6]))

    async def save(self, account: StoredAccount) -> None:
        await self._db.execute(
            """INSERT OR REPLACE INTO accounts (id, owner_id, bearer_token, bearer_expires_at,
               cookie, project_id, proxy_token, updated_at) VALUES (?,?,?,?,?,?,?,?)""",
            (account.id, account.owner_id, self._box.seal(account.bearer_token),
             account.bearer_expires_at, self._box.seal(account.cookie), account.project_id,
             self._box.seal(account.proxy_token), time.time()),
        )
        await self._db.commit()

    async def delete(self, account_id: str) -> bool:
        cursor = await self._db.execute("DELETE FROM accounts WHERE id = ?", (account_id,))
        await self._db.commit()
        return cursor.rowcount > 0
