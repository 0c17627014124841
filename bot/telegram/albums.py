"""`AlbumCollector`: gathers the messages of one album (Telegram sends one message per picture,
sharing a `media_group_id`) until the group has been quiet for a moment, then hands the whole
group, in message order, to exactly one of the handlers that delivered its parts.

It knows nothing of Telegram: a group is any hashable key, an item anything with a position.
Each part's handler awaits `collect`; the last one to arrive gets the group, the others `None`.
This relies on updates being handled concurrently (`Application.concurrent_updates`), as ours are:
one by one, the first part would be handed over alone.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")
Sleep = Callable[[float], Awaitable[object]]

#: Telegram's own limit on the items of an album; more under one key means a buggy sender.
MAX_ITEMS = 10


@dataclass
class _Group(Generic[T]):
    items: dict[int, T] = field(default_factory=dict)  #: by position (a duplicate replaces)
    latest: int = 0  #: counts arrivals: whoever wakes up still holding the latest one wins


class AlbumCollector(Generic[T]):
    """Collects the parts of each album for `wait` seconds after its last part arrived."""

    def __init__(self, *, wait: float, sleep: Sleep = asyncio.sleep) -> None:
        self._wait = wait
        self._sleep = sleep
        self._groups: dict[Hashable, _Group[T]] = {}

    async def collect(self, key: Hashable, position: int, item: T) -> list[T] | None:
        """Add `item` to the album `key`; after a quiet `wait`, the whole album ordered by
        position to the last part's caller, None to every earlier one."""
        group = self._groups.setdefault(key, _Group())
        if len(group.items) < MAX_ITEMS or position in group.items:
            group.items[position] = item
        group.latest += 1
        arrival = group.latest
        try:
            await self._sleep(self._wait)
        except asyncio.CancelledError:
            if self._groups.get(key) is group and group.latest == arrival:
                del self._groups[key]  # nobody else would ever hand this album over
            raise
        if self._groups.get(key) is not group or group.latest != arrival:
            return None  # a later part arrived: its caller hands the album over
        del self._groups[key]
        return [group.items[position] for position in sorted(group.items)]

    @property
    def pending(self) -> int:
        """Albums still being collected."""
        return len(self._groups)
