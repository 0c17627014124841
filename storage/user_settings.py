"""`UserSettingsStore`: each user's defaults from /settings, one row per user, with the whole
table cached in memory (loaded at start) so the hot path reads them without awaiting."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiosqlite

from bot.jobs.model import Aspect


@dataclass(frozen=True)
class UserSettings:
    """A user's saved defaults; None: not set (the bot's own default applies)."""

    aspect: Aspect | None = None
    video_model: str | None = None
    duration: int | None = None  #: seconds
    resolution: str | None = None
    language: str | None = None  #: "en", "vi"; None: from Telegram's `language_code`

    @property
    def empty(self) -> bool:
        return self == UserSettings()


#: The names `set` takes: the fields of `UserSettings`, the columns of `user_settings`.
FIELDS = frozenset(field.name for field in dataclasses.fields(UserSettings))
NONE = UserSettings()


class UserSettingsStore:
    """Typed access to the `user_settings` table; `get` answers from the cache."""

    def __init__(self, db: aiosqlite.Connection, *,
                 clock: Callable[[], float] = time.time) -> None:
        self._db = db
        self._clock = clock
        self._cache: dict[int, UserSettings] = {}

    async def load(self) -> int:
        """Read every row into the cache; return how many users have settings."""
        async with self._db.execute(
                "SELECT user_id, aspect, video_model, duration, resolution, language "
                "FROM user_settings") as cursor:
            rows = await cursor.fetchall()
        self._cache = {int(row[0]): _record(row) for row in rows}
        return len(self._cache)

    def get(self, user_id: int) -> UserSettings:
        return self._cache.get(user_id, NONE)

    def language(self, user_id: int) -> str | None:
        """The user's saved language, if any (a lookup on every reply)."""
        return self.get(user_id).language

    async def set(self, user_id: int, name: str, value: Any) -> UserSettings:
        """Save one field (None clears it) in one commit; return the user's settings."""
        if name not in FIELDS:
            raise ValueError(f"no setting named {name!r}")
        changed = dataclasses.replace(self.get(user_id), **{name: value})
        stored = str(value) if isinstance(value, Aspect) else value
        # `name` is one of FIELDS (checked above), never user text.
        await self._db.execute(
            f"INSERT INTO user_settings (user_id, {name}, updated_at) VALUES (?, ?, ?) "
            f"ON CONFLICT (user_id) DO UPDATE SET {name} = excluded.{name}, "
            f"updated_at = excluded.updated_at", (user_id, stored, self._clock()))
        await self._db.commit()
        self._cache[user_id] = changed
        return changed

    async def reset(self, user_id: int) -> None:
        """Forget every default of the user."""
        await self._db.execute("DELETE FROM user_settings WHERE user_id = ?", (user_id,))
        await self._db.commit()
        self._cache.pop(user_id, None)


def _record(row: aiosqlite.Row) -> UserSettings:
    aspect = row[1]
    known = aspect in {member.value for member in Aspect}
    return UserSettings(aspect=Aspect(aspect) if known else None, video_model=row[2],
                        duration=None if row[3] is None else int(row[3]), resolution=row[4],
                        language=row[5])
