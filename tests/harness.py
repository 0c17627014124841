"""`BotHarness`: runs the real bot in-process (the same start-up and stop as `python -m bot`), and
small helpers to read what it did in the fake chat."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from telegram.ext import Application

from bot.app import build_application, start_bot, stop_bot
from bot.config import Settings
from bot.engine import Engine
from bot.jobs.model import Job
from bot.sim.server import FlowSimulator
from bot.sim.telegram import FakeTelegram


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
