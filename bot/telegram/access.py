"""`AccessControl`: who may use the bot — the environment's lists plus admins' /allow and /deny."""

from __future__ import annotations

from bot.config import Settings
from storage.access import AccessStore


class AccessControl:
    def __init__(self, *, settings: Settings, store: AccessStore) -> None:
        self._settings = settings
        self._store = store
        self._decisions: dict[int, bool] = {}

    async def load(self) -> None:
        self._decisions = await self._store.decisions()

    def is_admin(self, user_id: int) -> bool:
        return user_id in self._settings.admin_user_ids

    def is_allowed(self, user_id: int) -> bool:
        """Admins always; then an admin's decision; then the environment's list."""
        if self.is_admin(user_id):
            return True
        decision = self._decisions.get(user_id)
        if decision is not None:
            return decision
        return user_id in self._settings.allowed_user_ids

    async def decide(self, user_id: int, *, allowed: bool, by: int) -> None:
        await self._store.decide(user_id, allowed=allowed, by=by)
        self._decisions[user_id] = allowed

    def listing(self) -> tuple[list[int], list[int], list[int]]:
        """(admins, allowed users, denied users), sorted."""
        allowed = {uid for uid in self._settings.allowed_user_ids
                   if self._decisions.get(uid, True)}
        allowed |= {uid for uid, ok in self._decisions.items() if ok}
        denied = {uid for uid, ok in self._decisions.items() if not ok}
        admins = set(self._settings.admin_user_ids)
        return sorted(admins), sorted(allowed - admins), sorted(denied - admins)
