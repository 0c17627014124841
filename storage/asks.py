"""`AskStore`: the questions the bot asked under a result (e.g. Extend's "how should it go
on?"), so that a reply to one makes the job it was asked for, after a restart too."""

from __future__ import annotations

import time
from dataclasses import dataclass

import aiosqlite


@dataclass(frozen=True)
class Ask:
    chat_id: int
    message_id: int  #: the question's message
    job_id: int  #: the result it is about
    action: str  #: what a reply makes (`bot.jobs.model.Action`)
    owner_id: int  #: who pressed the button


class AskStore:
    def __init__(self, db: aiosqlite.Connection) -> None:
        self._db = db

    async def remember(self, ask: Ask) -> None:
        await self._db.execute(
            "INSERT OR REPLACE INTO asks (chat_id, message_id, job_id, action, owner_id, "
            "created_at) VALUES (?,?,?,?,?,?)",
            (ask.chat_id, ask.message_id, ask.job_id, ask.action, ask.owner_id, time.time()))
        await self._db.commit()

    async def lookup(self, chat_id: int, message_id: int) -> Ask | None:
        async with self._db.execute(
            "SELECT chat_id, message_id, job_id, action, owner_id FROM asks "
            "WHERE chat_id = ? AND message_id = ?", (chat_id, message_id),
        ) as cursor:
            row = await cursor.fetchone()
        return Ask(*row) if row else None
