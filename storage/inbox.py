"""`InboxStore`: chat updates as rows, stored before Telegram is told they arrived and marked
handled once processed, so a crash at any moment leaves each one either handled or still here.
An update may carry a secret (`/token ya29.…`): its JSON is sealed, and dropped once handled."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import aiosqlite

from storage.crypto import SecretBox, SecretUnreadable

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Received:
    """One stored update: its id and its Bot API JSON."""

    update_id: int
    payload: dict[str, Any]


class InboxStore:
    """Typed access to the `inbox` table. A handled row stays (until `prune`) so that an update
    Telegram sends again, because its confirmation was lost in a crash, is known as seen."""

    def __init__(self, db: aiosqlite.Connection, box: SecretBox, *,
                 clock: Callable[[], float] = time.time) -> None:
        self._db = db
        self._box = box
        self._clock = clock

    async def receive(self, updates: Sequence[Received]) -> list[Received]:
        """Store the updates in one commit; return those never seen before, in order."""
        fresh = []
        now = self._clock()
        for update in updates:
            cursor = await self._db.execute(
                "INSERT INTO inbox (update_id, payload, received_at) VALUES (?,?,?)"
                " ON CONFLICT (update_id) DO NOTHING",
                (update.update_id,
                 self._box.seal(json.dumps(update.payload, separators=(",", ":"))), now))
            if cursor.rowcount:
                fresh.append(update)
        await self._db.commit()
        return fresh

    async def pending(self) -> list[Received]:
        """Every stored update not handled yet, oldest first (one sealed with another key is
        dropped: it cannot be read any more)."""
        async with self._db.execute(
            "SELECT update_id, payload FROM inbox WHERE handled_at IS NULL ORDER BY update_id",
        ) as cursor:
            rows = await cursor.fetchall()
        pending = []
        for update_id, sealed in rows:
            try:
                plain = self._box.unseal(sealed)
            except SecretUnreadable:
                logger.warning("update %d was stored under another key; dropped", update_id)
                await self.handled(update_id)
                continue
            assert plain is not None
            pending.append(Received(int(update_id), json.loads(plain)))
        return pending

    async def handled(self, update_id: int) -> None:
        """The update was processed: only its id is kept (Telegram may send it again)."""
        await self._db.execute(
            "UPDATE inbox SET handled_at = ?, payload = NULL WHERE update_id = ?",
            (self._clock(), update_id))
        await self._db.commit()

    async def prune(self, *, older_than: float) -> int:
        """Forget handled updates received more than `older_than` seconds ago; return how many.
        Telegram keeps an unconfirmed update for 24 hours, so a day and more is safe."""
        cursor = await self._db.execute(
            "DELETE FROM inbox WHERE handled_at IS NOT NULL AND received_at < ?",
            (self._clock() - older_than,))
        await self._db.commit()
        return cursor.rowcount
