"""`JobStore`: jobs as rows; every state transition is one committed write."""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Iterable
from typing import Any

import aiosqlite

from bot.jobs.model import (
    Aspect,
    ExtraImage,
    ImageRole,
    Job,
    JobKind,
    JobState,
    NewJob,
    Options,
    ProviderName,
)

_JSON_FIELDS = frozenset({"render"})
_ENUM_FIELDS = {"kind": JobKind, "aspect": Aspect, "state": JobState,
                "provider": ProviderName, "image_role": ImageRole,
                "first_provider": ProviderName}


class JobStore:
    """Typed access to the `jobs` table. Returns `Job` records, never rows."""

    def __init__(self, db: aiosqlite.Connection, *, clock: Any = time.time) -> None:
        self._db = db
        self._clock = clock

    async def add(self, new: NewJob) -> Job:
        """Insert the job in state QUEUED. A job already stored for `new.update_id` (a replayed
        update), or an unfinished one of the same parent and button (a double tap), is returned
        instead: nothing new is made."""
        now = self._clock()
        cursor = await self._db.execute(
            """INSERT INTO jobs (user_id, chat_id, kind, prompt, aspect, state, created_at,
               updated_at, reference_media_id, source_path, reply_to_message_id, language,
               account, provider, options, extra_images, image_role, update_id, model,
               parent_id, origin)
               VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)
               ON CONFLICT DO NOTHING""",
            (new.user_id, new.chat_id, new.kind.value, new.prompt, new.aspect.value,
             JobState.QUEUED.value, now, now, new.reference_media_id, new.source_path,
             new.reply_to_message_id, new.language, new.account, new.provider,
             _to_column("options", new.options), _to_column("extra_images", new.extra_images),
             str(new.image_role), new.update_id, new.model, new.parent_id, new.origin),
        )
        await self._db.commit()
        if cursor.rowcount == 0:
            existing = await self._existing(new)
            assert existing is not None, "a conflict names a stored job"
            return existing
        job_id = cursor.lastrowid
        assert job_id is not None
        return await self.get(job_id)

    async def get(self, job_id: int) -> Job:
        job = await self.find(job_id)
        if job is None:
            raise KeyError(f"job {job_id} does not exist")
        return job

    async def find(self, job_id: int) -> Job | None:
        rows = await self._select("WHERE id = ?", (job_id,))
        return rows[0] if rows else None

    async def _existing(self, new: NewJob) -> Job | None:
        if new.update_id is not None:
            found = await self.find_by_update(new.update_id)
            if found is not None:
                return found
        terminal = [state.value for state in JobState if state.terminal]
        rows = await self._select(
            f"WHERE parent_id = ? AND origin = ? AND state NOT IN "
            f"({','.join('?' * len(terminal))})", (new.parent_id, new.origin, *terminal))
        return rows[0] if rows else None

    async def find_by_update(self, update_id: int) -> Job | None:
        """The job a chat update asked for, if it was stored."""
        rows = await self._select("WHERE update_id = ?", (update_id,))
        return rows[0] if rows else None

    async def update(self, job: Job, **changes: Any) -> Job:
        """Write `changes` (and `updated_at`) in one commit; return the updated record."""
        changes["updated_at"] = self._clock()
        columns = ", ".join(f"{name} = ?" for name in changes)
        values = [_to_column(name, value) for name, value in changes.items()]
        await self._db.execute(f"UPDATE jobs SET {columns} WHERE id = ?", (*values, job.id))
        await self._db.commit()
        return job.replace(**changes)

    async def unfinished(self) -> list[Job]:
        terminal = [state.value for state in JobState if state.terminal]
        marks = ",".join("?" * len(terminal))
        return await self._select(f"WHERE state NOT IN ({marks}) ORDER BY id", terminal)

    async def owing(self) -> list[Job]:
        """Every finished job whose owner has not been told its end yet, oldest first."""
        terminal = [state.value for state in JobState if state.terminal]
        marks = ",".join("?" * len(terminal))
        return await self._select(
            f"WHERE word_owed = 1 AND state IN ({marks}) ORDER BY id", terminal)

    async def count_videos_since(self, user_id: int, since: float) -> int:
        """Videos a user asked for since `since`, not counting ones refused before submission."""
        async with self._db.execute(
            "SELECT count(*) FROM jobs WHERE user_id = ? AND kind NOT IN ('image', 'image_upscale')"
            " AND created_at >= ?"
            " AND NOT (state IN ('failed', 'cancelled') AND task_id IS NULL)",
            (user_id, since),
        ) as cursor:
            row = await cursor.fetchone()
        return int(row[0]) if row else 0

    async def count_active(self, account: str) -> int:
        terminal = [state.value for state in JobState if state.terminal]
        async with self._db.execute(
            f"SELECT count(*) FROM jobs WHERE account = ? AND state NOT IN "
            f"({','.join('?' * len(terminal))})", (account, *terminal),
        ) as cursor:
            row = await cursor.fetchone()
        return int(row[0]) if row else 0

    async def for_user(self, user_id: int, *, limit: int = 10) -> list[Job]:
        return await self._select("WHERE user_id = ? ORDER BY id DESC LIMIT ?", (user_id, limit))

    async def _select(self, where: str, params: Iterable[Any]) -> list[Job]:
        async with self._db.execute(f"SELECT * FROM jobs {where}", tuple(params)) as cursor:
            rows = await cursor.fetchall()
        return [_to_job(row) for row in rows]


def _to_column(name: str, value: Any) -> Any:
    if name == "options":
        return json.dumps(value.as_dict()) if value.named() else None
    if name == "extra_images":
        return json.dumps([dataclasses.asdict(image) for image in value]) if value else None
    if name in _JSON_FIELDS and value is not None:
        return json.dumps(value, separators=(",", ":"))
    if name in _ENUM_FIELDS and value is not None:
        return str(value)
    return value


def _to_job(row: aiosqlite.Row) -> Job:
    data = dict(row)
    for name, enum in _ENUM_FIELDS.items():
        if data[name] is not None:
            data[name] = enum(data[name])
    for name in _JSON_FIELDS:
        if data[name] is not None:
            data[name] = json.loads(data[name])
    data["options"] = Options.from_dict(json.loads(data["options"]) if data["options"] else None)
    data["extra_images"] = tuple(ExtraImage(**image)
                                 for image in json.loads(data["extra_images"] or "[]"))
    data["word_owed"] = bool(data["word_owed"])
    return Job(**data)
