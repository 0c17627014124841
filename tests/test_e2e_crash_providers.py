"""A real `kill -9` of `python -m bot` mid-render on the maintained providers (useapi.net and
Google's Omni): after the restart, exactly one paid create and one `sendVideo`."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.jobs.model import JobState
from bot.sim.server import FlowSimulator
from bot.sim.telegram import FakeTelegram
from tests.conftest import GEMINI_KEY, USEAPI_TOKEN, USER, StartBot

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Upstream:
    provider: str
    create: str  #: the path of the paid create
    poll: str  #: the path of a status poll

    def env(self, sim: FlowSimulator) -> dict[str, str]:
        if self.provider == "useapi":
            return {"USEAPI_TOKEN": USEAPI_TOKEN, "USEAPI_URL": sim.useapi_url}
        return {"GEMINI_API_KEY": GEMINI_KEY, "GEMINI_API_URL": sim.base_url}


UPSTREAMS = [Upstream("useapi", "/v1/google-flow/videos", "/v1/google-flow/jobs/"),
             Upstream("gemini", "/v1beta/interactions", "/v1beta/interactions/")]


@pytest.mark.parametrize("upstream", UPSTREAMS, ids=lambda u: u.provider)
async def test_kill_9_mid_render_then_restart_delivers_exactly_once(
        tmp_path: Path, sim: FlowSimulator, telegram: FakeTelegram, start_bot: StartBot,
        upstream: Upstream) -> None:
    sim.config.latency = 2.0
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("FLOW_", "TELEGRAM_", "GEMINI_", "USEAPI_", "PROVIDER"))}
    env.update(upstream.env(sim), PROVIDER=upstream.provider, PYTHONPATH=str(ROOT),
               TELEGRAM_BOT_TOKEN=telegram.token, TELEGRAM_API_URL=telegram.url,
               FLOW_POLL_INTERVAL="0.05", DATABASE_PATH=str(tmp_path / "bot.sqlite3"),
               ALLOWED_USER_IDS=str(USER), PROGRESS_EDIT_INTERVAL="0.1",
               TELEGRAM_CHAT_INTERVAL="0", HEALTH_CHECK_INTERVAL="0")
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", cwd=tmp_path, env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
    try:
        await telegram.wait_for(lambda: telegram.calls("getUpdates"), timeout=20)
        telegram.send_text(USER, "/video survives a crash")
        await telegram.wait_for(lambda: sim.count(upstream.poll, "GET") >= 2, timeout=20)
    finally:
        process.send_signal(signal.SIGKILL)
        await process.wait()
    assert sim.count(upstream.create, "POST") == 1 and telegram.calls("sendVideo") == []

    bot = await start_bot(provider=upstream.provider)
    await bot.wait_videos(USER, timeout=20)
    await bot.wait_job(USER, lambda j: j.state is JobState.DELIVERED)
    await asyncio.sleep(0.3)  # room for a duplicate to show up, if there were one
    assert sim.count(upstream.create, "POST") == 1
    assert len(telegram.calls("sendVideo")) == 1
