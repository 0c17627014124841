"""`AccessStore`: who admins let in or shut out, on top of the environment's lists."""

from __future__ import annotations

import time

import aiosqlite


class AccessStore:
    def __init__(self, db: aiosqlite.Connection) -> None:
        self._db = db

    async def decisions(self) -> dict[int, bool]:
        """user id → allowed (True) or denied (False)."""
        async with self._db.execute("SELECT user_id, allowed FROM access") as cursor:
            rows = await cursor.fetchall()
        return {int(row[0]): bool(row[1]) for row in rows}

    async def decide(self, user_id: int, *, allowed: bool, by: int) -> None:
        await self._db.execute(
            "INSERT OR REPLACE INTO access (user_id, allowed, changed_by, changed_at) "
            "VALUES (?,?,?,?)", (user_id, int(allowed), by, time.time()))
        await self._db.commit()
