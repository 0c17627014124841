"""Albums without Telegram: the collector on a virtual clock, album membership in SQLite (across a
reopening, and from a database of the previous schema), and the `--ref` flag of a prompt."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import aiosqlite
import pytest

from bot.telegram.albums import MAX_ITEMS, AlbumCollector
from bot.telegram.prompts import parse_command
from storage.db import MIGRATIONS, connect, migrate
from storage.images import AlbumPhoto, ImageStore

WAIT = 0.8


class VirtualSleep:
    """`asyncio.sleep` on a clock that moves only when the test says so."""

    def __init__(self) -> None:
        self.now = 0.0
        self._sleepers: list[tuple[float, asyncio.Future[None]]] = []

    async def __call__(self, seconds: float) -> None:
        woken: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._sleepers.append((self.now + seconds, woken))
        await woken

    async def advance(self, seconds: float) -> None:
        """Let started tasks reach their sleep, move the clock, and let every sleeper that is
        due run on to its end (or its next sleep)."""
        await _settle()
        self.now += seconds
        for due, woken in self._sleepers:
            if due <= self.now and not woken.done():
                woken.set_result(None)
        self._sleepers = [(due, woken) for due, woken in self._sleepers if not woken.done()]
        await _settle()


async def _settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


@pytest.fixture
def clock() -> VirtualSleep:
    return VirtualSleep()


@pytest.fixture
def albums(clock: VirtualSleep) -> AlbumCollector[str]:
    return AlbumCollector(wait=WAIT, sleep=clock)


def start(albums: AlbumCollector[str], key: object, position: int,
          item: str) -> asyncio.Task[list[str] | None]:
    return asyncio.ensure_future(albums.collect(key, position, item))


async def test_the_last_part_gets_the_whole_album_in_message_order(
        clock: VirtualSleep, albums: AlbumCollector[str]) -> None:
    second = start(albums, "g", 12, "second")
    first = start(albums, "g", 11, "first")  # updates may be handled out of order
    third = start(albums, "g", 13, "third")
    await clock.advance(WAIT)
    assert await third == ["first", "second", "third"]
    assert await first is None and await second is None
    assert albums.pending == 0


async def test_every_part_restarts_the_quiet_window(
        clock: VirtualSleep, albums: AlbumCollector[str]) -> None:
    first = start(albums, "g", 1, "a")
    await clock.advance(0.5)
    second = start(albums, "g", 2, "b")
    await clock.advance(0.5)  # 1.0 s after the first part, 0.5 s after the second
    assert await first is None and not second.done()
    await clock.advance(WAIT - 0.5)
    assert await second == ["a", "b"]


async def test_a_part_after_the_quiet_window_is_an_album_of_its_own(
        clock: VirtualSleep, albums: AlbumCollector[str]) -> None:
    early = start(albums, "g", 1, "a")
    await clock.advance(WAIT)
    late = start(albums, "g", 2, "b")
    await clock.advance(WAIT)
    assert await early == ["a"] and await late == ["b"]


async def test_albums_of_different_chats_are_collected_apart(
        clock: VirtualSleep, albums: AlbumCollector[str]) -> None:
    mine = [start(albums, (1, "g"), 1, "mine-1"), start(albums, (1, "g"), 2, "mine-2")]
    theirs = start(albums, (2, "g"), 1, "theirs")
    await clock.advance(WAIT)
    assert await mine[1] == ["mine-1", "mine-2"] and await theirs == ["theirs"]


async def test_a_part_delivered_twice_counts_once(
        clock: VirtualSleep, albums: AlbumCollector[str]) -> None:
    parts = [start(albums, "g", 1, "a"), start(albums, "g", 1, "a again"),
             start(albums, "g", 2, "b")]
    await clock.advance(WAIT)
    assert await parts[2] == ["a again", "b"]


async def test_an_album_keeps_at_most_telegrams_ten_parts(
        clock: VirtualSleep, albums: AlbumCollector[str]) -> None:
    parts = [start(albums, "g", n, str(n)) for n in range(MAX_ITEMS + 2)]
    await clock.advance(WAIT)
    assert await parts[-1] == [str(n) for n in range(MAX_ITEMS)]


async def test_a_cancelled_last_part_leaves_nothing_behind(
        clock: VirtualSleep, albums: AlbumCollector[str]) -> None:
    first, last = start(albums, "g", 1, "a"), start(albums, "g", 2, "b")
    await clock.advance(0)
    last.cancel()
    await clock.advance(WAIT)
    assert await first is None and last.cancelled()
    assert albums.pending == 0


async def test_the_real_sleep_by_default() -> None:
    albums: AlbumCollector[int] = AlbumCollector(wait=0.05)
    results = await asyncio.gather(*(albums.collect("g", n, n) for n in (3, 1, 2)))
    assert sorted(results, key=str) == [None, None, [1, 2, 3]]


# --- album membership in SQLite


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[aiosqlite.Connection]:
    connection = await connect(tmp_path / "bot.sqlite3")
    yield connection
    await connection.close()


def photo(message_id: int, group: str = "g1", chat_id: int = 7) -> AlbumPhoto:
    return AlbumPhoto(chat_id, message_id, group, f"file-{chat_id}-{message_id}")


async def test_any_photo_of_an_album_finds_the_whole_album_in_order(
        db: aiosqlite.Connection) -> None:
    store = ImageStore(db)
    for remembered in (photo(12), photo(11), photo(20, group="g2"), photo(11, chat_id=8)):
        await store.remember_album_photo(remembered)
    assert await store.album_of(7, 12) == [photo(11), photo(12)]
    assert await store.album_of(7, 11) == [photo(11), photo(12)]
    assert await store.album_of(7, 20) == [photo(20, group="g2")]
    assert await store.album_of(7, 99) == []
    assert await store.album_of(9, 11) == []


async def test_album_membership_survives_a_reopening(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    first = await connect(path)
    await ImageStore(first).remember_album_photo(photo(1))
    await ImageStore(first).remember_album_photo(photo(2))
    await first.close()
    second = await connect(path)
    try:
        assert await ImageStore(second).album_of(7, 2) == [photo(1), photo(2)]
    finally:
        await second.close()


async def test_a_database_of_the_previous_schema_gains_the_album_table(tmp_path: Path) -> None:
    db = await aiosqlite.connect(tmp_path / "old.sqlite3")
    try:
        for number, script in enumerate(MIGRATIONS[:-1], start=1):
            await db.executescript(f"BEGIN; {script}; PRAGMA user_version = {number}; COMMIT;")
        assert await migrate(db) == len(MIGRATIONS)
        await ImageStore(db).remember_album_photo(photo(1))
        assert await ImageStore(db).album_of(7, 1) == [photo(1)]
    finally:
        await db.close()


# --- the --ref flag


@pytest.mark.parametrize("caption", [
    "/video a cat and a hat --ref", "/video --ref a cat and a hat", "/video a cat --REF and a hat",
    "/video@veo_test_bot a cat and a hat --refs",
])
def test_ref_anywhere_asks_for_references_and_leaves_the_prompt(caption: str) -> None:
    parsed = parse_command(caption)
    assert parsed.references and parsed.prompt == "a cat and a hat" and parsed.error is None


def test_ref_goes_with_the_aspect_and_the_options() -> None:
    parsed = parse_command("/video 9:16 a cat --neg blurry --ref --seed 4")
    assert parsed.references and parsed.prompt == "a cat" and parsed.aspect == "portrait"
    assert parsed.options.negative_prompt == "blurry" and parsed.options.seed == 4


def test_without_ref_the_pictures_are_frames_and_line_breaks_stay() -> None:
    parsed = parse_command("/animate first line\nsecond line")
    assert not parsed.references and parsed.prompt == "first line\nsecond line"
