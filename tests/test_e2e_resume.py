"""Crash and resume, and batched polling: nothing lost, nothing submitted or delivered twice."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from bot.jobs.model import JobKind, JobState, NewJob
from bot.sim.server import FlowSimulator
from bot.sim.telegram import FakeTelegram
from storage.db import connect
from storage.jobs import JobStore
from tests.conftest import USER, StartBot, make_settings
from tests.harness import BotHarness

ROOT = Path(__file__).resolve().parent.parent


def _bot_env(settings_env: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FLOW_", "TELEGRAM_"))}
    env.update(settings_env)
    return env


async def test_kill_9_mid_render_then_restart_delivers_exactly_once(
        tmp_path: Path, sim: FlowSimulator, telegram: FakeTelegram, start_bot: StartBot) -> None:
    settings = make_settings(tmp_path, sim, telegram)
    sim.config.latency = 2.0
    env = _bot_env({
        "TELEGRAM_BOT_TOKEN": telegram.token, "TELEGRAM_API_URL": telegram.url,
        "FLOW_PROXY_URL": sim.proxy_url, "FLOW_API_URL": sim.api_url,
        "FLOW_BEARER_TOKEN": settings.flow_bearer_token.get_secret_value(),  # type: ignore[union-attr]
        "FLOW_PROXY_TOKEN": settings.flow_proxy_token.get_secret_value(),  # type: ignore[union-attr]
        "FLOW_PROJECT_ID": settings.flow_project_id, "FLOW_POLL_INTERVAL": "0.05",
        "DATABASE_PATH": str(settings.database_path), "ALLOWED_USER_IDS": str(USER),
        "PROGRESS_EDIT_INTERVAL": "0.1", "TELEGRAM_CHAT_INTERVAL": "0",
    })
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", cwd=tmp_path, env={**env, "PYTHONPATH": str(ROOT)},
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    try:
        await telegram.wait_for(lambda: telegram.calls("getUpdates"), timeout=20)
        telegram.send_text(USER, "/video survives a crash")
        await telegram.wait_for(lambda: sim.count("batchCheckAsync") >= 2, timeout=20)
    finally:
        process.send_signal(signal.SIGKILL)
        await process.wait()
    assert sim.count("create-video-veo3") == 1 and telegram.calls("sendVideo") == []

    bot = await start_bot()
    await bot.wait_videos(USER)
    await bot.wait_job(USER, lambda j: j.state is JobState.DELIVERED)
    await asyncio.sleep(0.3)  # room for a duplicate to show up, if there were one
    assert sim.count("create-video-veo3") == 1
    assert len(telegram.calls("sendVideo")) == 1
    progress_messages = {m["message_id"] for m in telegram.bot_messages(USER)
                         if "Job #" in (m.get("text") or "")}
    assert len(progress_messages) == 1  # the new process edits the old progress message


async def test_graceful_restart_at_every_stage_loses_nothing(start_bot: StartBot) -> None:
    bot = await start_bot()
    bot.sim.config.latency = 0.8
    bot.sim.config.task_polls = 3
    bot.telegram.send_text(USER, "/image stop me")
    bot.telegram.send_text(USER, "/video stop me too")
    await bot.wait_job(USER, lambda j: j.state in (JobState.SUBMITTED, JobState.RENDERING))
    await bot.stop()
    db = await connect(bot.settings.database_path)
    states = [job.state for job in await JobStore(db).for_user(USER)]
    await db.close()
    assert len(states) == 2 and not any(state.terminal for state in states), states

    revived = await start_bot()
    await revived.wait_videos(USER)
    await revived.wait_photos(USER)
    assert bot.sim.count("create-video-veo3") == 1 and bot.sim.count("create-image-veo3") == 1
    assert len(bot.telegram.calls("sendVideo")) == 1 and len(bot.telegram.calls("sendPhoto")) == 1


async def test_job_caught_mid_submission_is_not_resubmitted(
        tmp_path: Path, sim: FlowSimulator, telegram: FakeTelegram, start_bot: StartBot) -> None:
    settings = make_settings(tmp_path, sim, telegram)
    db = await connect(settings.database_path)
    store = JobStore(db)
    job = await store.add(NewJob(USER, USER, JobKind.VIDEO, "in flight when the power went"))
    await store.update(job, state=JobState.SUBMITTING)
    await db.close()
    telegram.send_text(USER, "hello")  # the chat exists before the restart

    bot = await start_bot()
    failed = await bot.wait_job(USER, lambda j: j.state is JobState.FAILED)
    assert failed.error_code == "interrupted"
    assert "to avoid paying twice" in await bot.wait_text(USER, "failed.")
    assert sim.count("create-video-veo3") == 0


async def test_downloaded_but_undelivered_video_is_delivered_after_restart(
        tmp_path: Path, sim: FlowSimulator, telegram: FakeTelegram, start_bot: StartBot) -> None:
    settings = make_settings(tmp_path, sim, telegram)
    settings.files_dir.mkdir(parents=True)
    video = settings.files_dir / "job-1.mp4"
    video.write_bytes(b"\x00\x00\x00\x18ftypmp42 pretend video")
    db = await connect(settings.database_path)
    store = JobStore(db)
    job = await store.add(NewJob(USER, USER, JobKind.VIDEO, "already rendered"))
    await store.update(job, state=JobState.DOWNLOADED, task_id="t", file_path=str(video),
                       render=[{"operation": {"name": "op"}, "sceneId": "s", "status": "x"}])
    await db.close()
    telegram.send_text(USER, "hello")

    bot = await start_bot()
    uploaded = await bot.wait_videos(USER)
    assert uploaded[0]["_file"].startswith(b"\x00\x00\x00\x18ftyp")
    await bot.wait_job(USER, lambda j: j.state is JobState.DELIVERED)
    assert len(sim.log) == 0 and not video.exists()


async def test_polling_is_batched_across_users(bot: BotHarness) -> None:
    bot.sim.config.latency = 0.6
    users = [USER, 1002]
    for user in users:
        for n in range(2):
            bot.telegram.send_text(user, f"/video batch {user} {n}")
    for user in users:
        await bot.wait_videos(user, count=2)
    polls = [e for e in bot.sim.log if "batchCheckAsync" in e.path]
    assert max(e.ops for e in polls) == 4  # all four renders in one request
    ticks = bot.engine.poller.ticks
    assert len(polls) == ticks  # one request per tick, whatever the job count
