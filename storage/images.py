"""`ImageStore`: which chat message holds which upstream mediaId (for replies and the button)."""

from __future__ import annotations

import time
from dataclasses import dataclass

import aiosqlite


@dataclass(frozen=True)
class ImageRef:
    chat_id: int
    message_id: int
    media_id: str
    owner_id: int
    job_id: int | None


class ImageStore:
    def __init__(self, db: aiosqlite.Connection) -> None:
        self._db = db

    async def remember(
        self, *, chat_id: int, message_id: int, media_id: str, owner_id: int,
        job_id: int | None = None,
    ) -> None:
        await self._db.execute(
            """INSERT OR REPLACE INTO images (chat_id, message_id, media_id, owner_id, job_id,
               created_at) VALUES (?,?,?,?,?,?)""",
            (chat_id, message_id, media_id, owner_id, job_id, time.time()),
        )
        await self._db.commit()

    async def lookup(self, chat_id: int, message_id: int) -> ImageRef | None:
        async with self._db.execute(
            "SELECT chat_id, message_id, media_id, owner_id, job_id FROM images "
            "WHERE chat_id = ? AND message_id = ?", (chat_id, message_id),
        ) as cursor:
            row = await cursor.fetchone()
        return ImageRef(*row) if row else None

    async def by_job(self, job_id: int) -> ImageRef | None:
        async with self._db.execute(
            "SELECT chat_id, message_id, media_id, owner_id, job_id FROM images "
            "WHERE job_id = ? ORDER BY created_at LIMIT 1", (job_id,),
        ) as cursor:
            row = await cursor.fetchone()
        return ImageRef(*row) if row else None
