"""`BotHarness`: runs the real bot in-process (the same start-up and stop as `python -m bot`), and
small helpers to read what it did in the fake chat; `BotProcess`: `python -m bot` as a child
process with the same settings, for the tests that kill it."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from pathlib import Path
from typing import IO, Any

from pydantic import SecretStr
from telegram.ext import Application

from bot.app import build_application, start_bot, stop_bot
from bot.config import Settings
from bot.engine import Engine
from bot.jobs.model import Job
from bot.sim.server import FlowSimulator
from bot.sim.telegram import FakeTelegram
from storage.db import connect
from storage.jobs import JobStore

ROOT = Path(__file__).resolve().parent.parent


class BotHarness:
    def __init__(self, settings: Settings, telegram: FakeTelegram, sim: FlowSimulator) -> None:
        self.settings = settings
        self.telegram = telegram
        self.sim = sim
        self.app: Application | None = None  # type: ignore[type-arg]
        self._running = False

    @property
    def engine(self) -> Engine:
        assert self.app is not None and self._running, "the bot is not running"
        engine: Engine = self.app.bot_data["engine"]
        return engine

    async def start(self) -> None:
        app = build_application(self.settings)
        await start_bot(app, poll_timeout=1)
        self.app, self._running = app, True

    async def stop(self) -> None:
        """A graceful stop, as on SIGTERM."""
        if not self._running or self.app is None:
            return
        self._running = False
        await stop_bot(self.app)

    # --- reading the chat ---

    def texts(self, chat_id: int) -> list[str]:
        messages = self.telegram.bot_messages(chat_id)
        return [m.get("text") or m.get("caption") or "" for m in messages]

    def videos(self, chat_id: int) -> list[dict[str, Any]]:
        return [m for m in self.telegram.bot_messages(chat_id) if "video" in m]

    def photos(self, chat_id: int) -> list[dict[str, Any]]:
        return [m for m in self.telegram.bot_messages(chat_id) if "photo" in m]

    async def wait_text(self, chat_id: int, needle: str, timeout: float = 10.0) -> str:
        def found() -> str | None:
            for message in self.telegram.bot_messages(chat_id):
                for text in [message.get("text") or message.get("caption") or "",
                             *message.get("_edits", [])]:
                    if needle in text:
                        return str(text)
            return None

        result: str = await self.telegram.wait_for(found, timeout=timeout)
        return result

    async def wait_videos(self, chat_id: int, count: int = 1,
                          timeout: float = 10.0) -> list[dict[str, Any]]:
        await self.telegram.wait_for(lambda: len(self.videos(chat_id)) >= count, timeout=timeout)
        return self.videos(chat_id)

    async def wait_photos(self, chat_id: int, count: int = 1,
                          timeout: float = 10.0) -> list[dict[str, Any]]:
        await self.telegram.wait_for(lambda: len(self.photos(chat_id)) >= count, timeout=timeout)
        return self.photos(chat_id)

    async def jobs_of(self, user_id: int) -> list[Job]:
        return list(reversed(await self.engine.jobs.for_user(user_id, limit=100)))

    async def wait_job(self, user_id: int, predicate: Any, timeout: float = 10.0) -> Job:
        """Wait until the user's newest job satisfies `predicate(job)`; return it."""
        latest: list[Job] = []

        async def check() -> bool:
            jobs = await self.jobs_of(user_id)
            latest[:] = jobs[-1:]
            return bool(jobs) and bool(predicate(jobs[-1]))

        deadline = time.monotonic() + timeout
        while not await check():
            if time.monotonic() > deadline:
                raise AssertionError(f"job never matched; last seen: {latest}")
            await asyncio.sleep(0.02)
        return latest[0]


def settings_env(settings: Settings) -> dict[str, str]:
    """The environment that configures `python -m bot` as `settings` do."""
    env: dict[str, str] = {}
    for name, value in settings.model_dump().items():
        if value is None:
            continue
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        elif isinstance(value, frozenset):
            value = ",".join(str(item) for item in sorted(value))
        elif isinstance(value, bool):
            value = str(value).lower()
        env[name.upper()] = str(value)
    return env


class BotProcess:
    """`python -m bot` over the same fakes and database as the in-process bot; `kill()` is a
    SIGKILL: nothing is flushed, closed or said."""

    def __init__(self, settings: Settings, telegram: FakeTelegram, *, log: Path) -> None:
        self.settings = settings
        self.telegram = telegram
        self.log = log  #: the child's stderr, appended to by every life
        self.lives = 0
        self._process: asyncio.subprocess.Process | None = None
        self._stderr: IO[bytes] | None = None

    async def start(self, timeout: float = 30.0) -> None:
        """Start a life and return once it polls Telegram."""
        inherited = {key: value for key, value in os.environ.items()
                     if not key.startswith(("FLOW_", "TELEGRAM_", "GEMINI_", "BOT_", "USEAPI_"))}
        env = {**inherited, **settings_env(self.settings), "PYTHONPATH": str(ROOT)}
        polls = len(self.telegram.calls("getUpdates"))
        self._stderr = self.log.open("ab")
        self._process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", cwd=self.settings.database_path.parent, env=env,
            stdout=asyncio.subprocess.DEVNULL, stderr=self._stderr)
        self.lives += 1
        process = self._process

        def polling() -> bool:
            if process.returncode is not None:
                raise AssertionError(f"the bot exited ({process.returncode}); see {self.log}")
            return len(self.telegram.calls("getUpdates")) > polls

        await self.telegram.wait_for(polling, timeout=timeout)

    async def terminate(self, timeout: float = 20.0) -> int:
        """SIGTERM (a graceful stop); return the exit code."""
        assert self._process is not None
        self._process.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(self._process.wait(), timeout)
        await self.kill()  # closes the log
        return code

    async def kill(self) -> None:
        """SIGKILL, at whatever the bot was doing."""
        if self._process is not None and self._process.returncode is None:
            self._process.send_signal(signal.SIGKILL)
            await self._process.wait()
        self._process = None
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None


async def stored_jobs(settings: Settings) -> list[Job]:
    """Every job in the bot's database, oldest first, read beside a running (or dead) bot."""
    db = await connect(settings.database_path)
    try:
        async with db.execute("SELECT id FROM jobs ORDER BY id") as cursor:
            ids = [int(row[0]) for row in await cursor.fetchall()]
        store = JobStore(db)
        return [await store.get(job_id) for job_id in ids]
    finally:
        await db.close()
