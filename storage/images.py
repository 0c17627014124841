"""`ImageStore`: which chat message holds which upstream mediaId (for replies and the button),
and which of a user's photos came as one album (for a later reply to any of them)."""

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


@dataclass(frozen=True)
class AlbumPhoto:
    """One photo of an album a user sent: its message and the file id of its largest size."""

    chat_id: int
    message_id: int
    media_group_id: str
    file_id: str


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

    async def remember_album_photo(self, photo: AlbumPhoto) -> None:
        await self._db.execute(
            """INSERT OR REPLACE INTO album_photos (chat_id, message_id, media_group_id, file_id,
               created_at) VALUES (?,?,?,?,?)""",
            (photo.chat_id, photo.message_id, photo.media_group_id, photo.file_id, time.time()),
        )
        await self._db.commit()

    async def album_of(self, chat_id: int, message_id: int) -> list[AlbumPhoto]:
        """Every photo of the album this message belongs to, in message order (none if it
        is not a photo of a known album)."""
        async with self._db.execute(
            "SELECT chat_id, message_id, media_group_id, file_id FROM album_photos "
            "WHERE chat_id = ? AND media_group_id = (SELECT media_group_id FROM album_photos "
            "WHERE chat_id = ? AND message_id = ?) ORDER BY message_id",
            (chat_id, chat_id, message_id),
        ) as cursor:
            rows = await cursor.fetchall()
        return [AlbumPhoto(*row) for row in rows]
