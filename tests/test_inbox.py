"""`InboxPoller` over the fake Bot API and a real SQLite inbox: every update is committed before the
`getUpdates` that confirms it, handled once, and replayed after a stop that cut its handler off."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
from cryptography.fernet import Fernet
from telegram import Update
from telegram.ext import Application, ContextTypes, MessageHandler, filters

from bot.jobs.model import JobKind, NewJob
from bot.sim.media import make_png
from bot.sim.telegram import FakeTelegram
from bot.telegram.inbox import POLLING_GLITCH, InboxPoller
from storage.crypto import SecretBox
from storage.db import connect
from storage.inbox import InboxStore, Received
from storage.jobs import JobStore
from tests.conftest import USER
from tests.doubles import until

SECRET = "ya29.inbox.test-secret-bearer-9876"


def confirmed(fake: FakeTelegram, update_id: int) -> bool:
    """Telegram was told the update arrived (a getUpdates with a higher offset)."""
    return any(int(call.get("offset") or 0) > update_id for call in fake.calls("getUpdates"))


async def eventually(predicate: Callable[[], bool | Awaitable[bool]], *, what: str) -> None:
    """`until`, with room for a loaded machine (the suite runs on four workers)."""
    await until(predicate, timeout=10.0, what=what)


class ConfirmationWatch(InboxStore):
    """An inbox that notes, at each commit, the highest offset Telegram was already sent."""

    def __init__(self, db: aiosqlite.Connection, box: SecretBox, fake: FakeTelegram) -> None:
        super().__init__(db, box)
        self._fake = fake
        self.confirmed_at_commit: dict[int, int] = {}  #: update id -> offset sent before commit

    async def receive(self, updates: Sequence[Received]) -> list[Received]:
        fresh = await super().receive(updates)
        sent = max((int(c.get("offset") or 0) for c in self._fake.calls("getUpdates")), default=0)
        for update in updates:
            self.confirmed_at_commit[update.update_id] = sent
        return fresh


@dataclass
class Rig:
    """A PTB application without an Updater, one message handler, and the poller."""

    fake: FakeTelegram
    db: aiosqlite.Connection
    inbox: ConfirmationWatch
    jobs: JobStore
    handled: list[int] = field(default_factory=list)  #: update ids, in the order handled
    gate: asyncio.Event | None = None  #: when set, the handler waits for it
    gated: set[int] | None = None  #: ... for these update ids only (None: all)
    pollers: list[tuple[Application, InboxPoller]] = field(  # type: ignore[type-arg]
        default_factory=list)

    async def start(self) -> InboxPoller:
        application = (Application.builder().token(self.fake.token)
                       .base_url(f"{self.fake.url}/bot").base_file_url(f"{self.fake.url}/file/bot")
                       .updater(None).concurrent_updates(True).build())
        application.add_handler(MessageHandler(filters.ALL, self._handle))
        await application.initialize()
        poller = InboxPoller(application=application, inbox=self.inbox, jobs=self.jobs,
                             retry_delay=0.01, max_retry_delay=0.02)
        self.pollers.append((application, poller))
        await poller.start(long_poll=1)
        return poller

    async def stop(self, grace: float = 1.0) -> None:
        application, poller = self.pollers[-1]
        await poller.stop(grace=grace)
        await application.shutdown()

    async def _handle(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if self.gate is not None and (self.gated is None or update.update_id in self.gated):
            await self.gate.wait()
        self.handled.append(update.update_id)

    async def pending(self) -> list[int]:
        return [received.update_id for received in await self.inbox.pending()]

    async def stored(self) -> bool:
        return bool(await self.pending())


@pytest.fixture
async def rig(tmp_path: Path, telegram: FakeTelegram) -> AsyncIterator[Rig]:
    db = await connect(tmp_path / "bot.sqlite3")
    box = SecretBox(Fernet.generate_key())
    rig = Rig(telegram, db, ConfirmationWatch(db, box, telegram), JobStore(db))
    yield rig
    for application, poller in rig.pollers:
        await poller.stop(grace=0)
        await application.shutdown()  # nothing happens if it was shut down already
    await db.close()


async def test_an_update_is_committed_before_telegram_is_told_it_arrived(rig: Rig) -> None:
    await rig.start()
    rig.fake.send_text(USER, "first")
    rig.fake.send_text(USER, "second")
    await eventually(lambda: len(rig.handled) == 2, what="both updates handled")
    assert sorted(rig.handled) == [1, 2]
    committed = rig.inbox.confirmed_at_commit
    assert committed.keys() == {1, 2}
    assert all(sent <= update_id for update_id, sent in committed.items()), committed
    await eventually(lambda: confirmed(rig.fake, 2), what="the next getUpdates confirming them")
    assert await rig.pending() == []


async def test_a_stop_that_cuts_a_handler_off_leaves_its_update_for_the_next_start(
        rig: Rig) -> None:
    rig.gate = asyncio.Event()  # the handler never ends before the stop
    await rig.start()
    rig.fake.send_text(USER, "/video cut off")
    await eventually(lambda: confirmed(rig.fake, 1), what="the update confirmed to Telegram")
    await rig.stop(grace=0.05)
    assert rig.handled == [] and await rig.pending() == [1]

    rig.gate = None
    await rig.start()  # Telegram will not send it again: the inbox does
    await eventually(lambda: rig.handled == [1], what="the update handled after the restart")
    assert await rig.pending() == []
    await asyncio.sleep(0.1)
    assert rig.handled == [1]


async def test_an_update_telegram_sends_again_is_not_handled_twice(rig: Rig) -> None:
    # Telegram never gets the confirmation: the bot stops while the next poll is held.
    unconfirmed = rig.fake.hold("getUpdates", when=lambda p: int(p.get("offset") or 0) > 1)
    await rig.start()
    rig.fake.send_text(USER, "/image once")
    await eventually(lambda: rig.handled == [1], what="the update handled")
    await asyncio.wait_for(unconfirmed.reached.wait(), 2)
    await rig.stop()

    await rig.start()  # the first poll gets update 1 again
    await eventually(lambda: len(rig.fake.calls("getUpdates")) >= 3, what="polling again")
    await asyncio.sleep(0.1)
    assert rig.handled == [1]


async def test_a_stored_update_whose_job_exists_is_not_handled_again(rig: Rig) -> None:
    await rig.inbox.receive([Received(7, {"update_id": 7})])
    job = await rig.jobs.add(NewJob(USER, USER, JobKind.VIDEO, "made before the crash",
                                    update_id=7))
    assert await rig.start() is not None
    await asyncio.sleep(0.05)
    assert rig.handled == [] and await rig.pending() == []
    assert (await rig.jobs.find_by_update(7)) == job


async def test_a_polling_glitch_is_logged_and_polling_goes_on(
        rig: Rig, caplog: pytest.LogCaptureFixture) -> None:
    rig.fake.inject("getUpdates", 502, "Bad Gateway", times=2)
    with caplog.at_level(logging.ERROR):
        await rig.start()
        rig.fake.send_text(USER, "after the glitch")
        await eventually(lambda: rig.handled == [1], what="the update handled")
    glitches = [r for r in caplog.records if r.getMessage() == POLLING_GLITCH]
    assert len(glitches) == 2 and glitches[0].exc_info is not None


async def test_an_update_is_sealed_at_rest_and_dropped_once_handled(
        rig: Rig, tmp_path: Path) -> None:
    rig.gate = asyncio.Event()
    await rig.start()
    rig.fake.send_text(USER, f"/token {SECRET}")
    await eventually(rig.stored, what="the update stored")

    def on_disk() -> bytes:
        return b"".join(path.read_bytes() for path in tmp_path.glob("bot.sqlite3*"))

    assert SECRET.encode() not in on_disk()
    stored: Any = (await rig.inbox.pending())[0].payload
    assert stored["message"]["text"] == f"/token {SECRET}"
    rig.gate.set()
    await eventually(lambda: rig.handled == [1], what="the update handled")
    async with rig.db.execute("SELECT payload FROM inbox") as cursor:
        assert [tuple(row) for row in await cursor.fetchall()] == [(None,)]


async def test_the_parts_of_an_album_are_marked_handled_and_replayed_together(rig: Rig) -> None:
    # Only the last part's handler makes the album's job: here it is cut off by the stop.
    rig.gate, rig.gated = asyncio.Event(), {2}
    await rig.start()
    rig.fake.send_album(USER, [make_png("first"), make_png("last")], caption="/animate")
    await eventually(lambda: rig.handled == [1], what="the first part handled")
    await rig.stop(grace=0.05)
    assert await rig.pending() == [1, 2]  # the first part waits for the last one

    rig.gate = None
    await rig.start()
    await eventually(lambda: sorted(rig.handled) == [1, 1, 2], what="the album handled again")
    assert await rig.pending() == []


def album_part(update_id: int) -> Received:
    return Received(update_id, {"update_id": update_id, "message": {
        "message_id": update_id, "date": 0, "chat": {"id": USER, "type": "private"},
        "media_group_id": "album-1", "photo": []}})


async def test_an_album_with_its_job_stored_is_not_replayed_at_all(rig: Rig) -> None:
    await rig.inbox.receive([album_part(5), album_part(6)])
    await rig.jobs.add(NewJob(USER, USER, JobKind.ANIMATE, "from the album", update_id=6))
    await rig.start()
    await asyncio.sleep(0.05)
    assert rig.handled == [] and await rig.pending() == []
