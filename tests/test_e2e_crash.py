"""`kill -9` of `python -m bot` in each window where a crash used to leave a user in silence, and a
kill loop: nothing asked is lost, every owner is told, nothing is submitted twice, and a result
handed over twice says so.

Each window is made deterministic by the fake Bot API holding one call (`FakeTelegram.hold`):
the bot is killed while it waits for that answer.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from bot.jobs.model import Job, JobState
from bot.sim.media import make_png
from bot.sim.server import FlowSimulator
from bot.sim.telegram import FakeTelegram
from storage.db import connect
from tests.conftest import USER, StartBot, make_settings
from tests.harness import BotHarness, BotProcess, stored_jobs

FAILED = "failed."
MAYBE_AGAIN = "you may already have this"


def said(telegram: FakeTelegram, chat_id: int, needle: str) -> int:
    """How many times the bot put `needle` in front of the user (messages and edits)."""
    count = 0
    for message in telegram.bot_messages(chat_id):
        first = message["_params"].get("text") or message["_params"].get("caption") or ""
        count += sum(needle in str(text) for text in [first, *message["_edits"]])
    return count


def creations(sim: FlowSimulator, prompt: str) -> int:
    """Submissions of `prompt` the upstream received."""
    return sum(1 for entry in sim.log if "/create-" in entry.path
               and prompt in json.dumps(entry.body))


async def pending_updates(child: BotProcess) -> list[int]:
    db = await connect(child.settings.database_path)
    try:
        async with db.execute(
                "SELECT update_id FROM inbox WHERE handled_at IS NULL ORDER BY 1") as cursor:
            return [int(row[0]) for row in await cursor.fetchall()]
    finally:
        await db.close()


def confirmed_beyond(telegram: FakeTelegram, update_id: int) -> bool:
    """Telegram was told the update arrived (a getUpdates with a higher offset)."""
    return any(int(call.get("offset") or 0) > update_id for call in telegram.calls("getUpdates"))


async def test_a_failure_cut_off_by_a_kill_is_told_once_after_the_restart(
        tmp_path: Path, sim: FlowSimulator, telegram: FakeTelegram, start_bot: StartBot) -> None:
    child = BotProcess(make_settings(tmp_path, sim, telegram), telegram, log=tmp_path / "bot.log")
    sentence = telegram.hold("editMessageText", when=lambda p: FAILED in str(p.get("text")))
    await child.start()
    try:
        telegram.send_text(USER, "/video FORCE_FAIL a storm at sea")
        await asyncio.wait_for(sentence.reached.wait(), 20)
        [job] = await stored_jobs(child.settings)
        assert job.state is JobState.FAILED and job.word_owed
    finally:
        await child.kill()
    assert said(telegram, USER, FAILED) == 0  # the owner was told nothing

    bot = await start_bot()
    assert "Google could not generate it" in await bot.wait_text(USER, FAILED)
    await bot.wait_job(USER, lambda j: not j.word_owed)
    await asyncio.sleep(0.3)  # room for a second telling, if there were one
    assert said(telegram, USER, FAILED) == 1
    assert creations(sim, "a storm at sea") == 1


async def test_a_request_cut_off_by_a_kill_before_its_job_was_stored_runs_after_the_restart(
        tmp_path: Path, sim: FlowSimulator, telegram: FakeTelegram, start_bot: StartBot) -> None:
    child = BotProcess(make_settings(tmp_path, sim, telegram), telegram, log=tmp_path / "bot.log")
    download = telegram.hold("getFile")  # the handler fetches the user's photo first
    await child.start()
    try:
        telegram.send_photo(USER, make_png("my photo"), caption="/animate the waves roll in")
        await asyncio.wait_for(download.reached.wait(), 20)
        [update_id] = await pending_updates(child)
        # PTB's Updater would have lost it now: Telegram was told it arrived, no job exists.
        await telegram.wait_for(lambda: confirmed_beyond(telegram, update_id), timeout=10)
        assert await stored_jobs(child.settings) == []
    finally:
        await child.kill()

    bot = await start_bot()
    await bot.wait_videos(USER)
    [job] = await bot.jobs_of(USER)
    await bot.wait_job(USER, lambda j: j.state is JobState.DELIVERED)
    await asyncio.sleep(0.3)
    assert job.update_id == update_id and job.prompt == "the waves roll in"
    assert len(await bot.jobs_of(USER)) == 1 and len(bot.videos(USER)) == 1
    assert sim.count("uploadUserImage") == 1 and creations(sim, "the waves roll in") == 1


async def test_a_delivery_cut_off_by_a_kill_is_sent_again_once_and_says_so(
        tmp_path: Path, sim: FlowSimulator, telegram: FakeTelegram, start_bot: StartBot) -> None:
    child = BotProcess(make_settings(tmp_path, sim, telegram), telegram, log=tmp_path / "bot.log")
    answer = telegram.hold("sendVideo", after=True)  # the video is in the chat; the answer waits
    await child.start()
    try:
        telegram.send_text(USER, "/video a lighthouse at dusk")
        await asyncio.wait_for(answer.reached.wait(), 20)
        [job] = await stored_jobs(child.settings)
        assert job.state is JobState.DOWNLOADED and job.delivery_attempts == 1
    finally:
        await child.kill()
    assert len(telegram.bot_messages(USER)) >= 2 and len(_videos(telegram)) == 1

    bot = await start_bot()
    await bot.wait_videos(USER, 2)
    await bot.wait_job(USER, lambda j: j.state is JobState.DELIVERED)
    await asyncio.sleep(0.3)
    first, again = bot.videos(USER)
    assert MAYBE_AGAIN not in first["caption"]
    assert f"{MAYBE_AGAIN} video" in again["caption"]
    assert again["caption"].startswith("🎬 a lighthouse at dusk")
    assert creations(sim, "a lighthouse at dusk") == 1


async def test_sigterm_stops_python_m_bot_cleanly(
        tmp_path: Path, sim: FlowSimulator, telegram: FakeTelegram) -> None:
    child = BotProcess(make_settings(tmp_path, sim, telegram), telegram, log=tmp_path / "bot.log")
    await child.start()
    telegram.send_text(USER, "/help")
    await telegram.wait_for(lambda: telegram.bot_messages(USER), timeout=10)
    assert await child.terminate() == 0
    log = child.log.read_text()
    assert "Application.stop() complete" in log and " ERROR " not in log


def _videos(telegram: FakeTelegram) -> list[dict[str, Any]]:
    return [m for m in telegram.bot_messages(USER) if "video" in m]


# --- the kill loop -------------------------------------------------------------------------------

USERS = range(2001, 2017)
#: After each life starts polling: seconds until its SIGKILL (then the last life runs in-process).
#: Renders take RENDER seconds, so most jobs live through a kill or two.
LIVES = (0.5, 0.2, 0.6, 0.15, 0.35)
RENDER = 0.8
#: How many commands are sent before each life starts (the rest before the last life).
WAVES = (5, 4, 4, 2)


def command(n: int) -> str:
    if n % 5 == 1:
        return f"/animate the waves number {n}"  # the caption of a photo
    if n % 5 == 3:
        return f"/video FORCE_FAIL storm number {n}"
    if n % 5 == 4:
        return f"/image a red fox number {n}"
    return f"/video a calm lake number {n}"


def told(bot: BotHarness, job: Job) -> bool:
    """The owner has the job's end in front of them."""
    if job.state is JobState.DELIVERED:
        return bool(bot.videos(job.chat_id) or bot.photos(job.chat_id))
    if job.state is JobState.FAILED:
        return said(bot.telegram, job.chat_id, FAILED) >= 1
    return False


async def test_a_kill_loop_loses_no_job_leaves_no_one_silent_and_submits_nothing_twice(
        tmp_path: Path, sim: FlowSimulator, telegram: FakeTelegram, start_bot: StartBot) -> None:
    sim.config.latency = sim.config.image_latency = RENDER
    allowed = frozenset(USERS)
    # Paced like production, only faster: a final word waits for its chat's turn, as it did when
    # a kill in that wait left its owner in silence.
    paced = {"allowed_user_ids": allowed, "progress_edit_interval": 0.6,
             "telegram_chat_interval": 0.4}
    child = BotProcess(make_settings(tmp_path, sim, telegram, **paced), telegram,
                       log=tmp_path / "bot.log")
    # Three windows made certain, the others left to the kills' timing: the first photo's
    # download, the first failure's sentence and the first video's answer are held, so the lives
    # that ask for them die in them.
    download = telegram.hold("getFile")
    sentence = telegram.hold("editMessageText", when=lambda p: FAILED in str(p.get("text")))
    answer = telegram.hold("sendVideo", after=True)
    users = iter(USERS)
    sent: list[tuple[int, str]] = []

    def send(count: int) -> None:
        for _ in range(count):
            user = next(users)
            sent.append((user, command(user)))
            if command(user).startswith("/animate"):
                telegram.send_photo(user, make_png(f"photo {user}"), caption=command(user))
            else:
                telegram.send_text(user, command(user))

    for life, seconds in enumerate(LIVES):
        send(WAVES[life] if life < len(WAVES) else 0)
        await child.start()
        await asyncio.sleep(seconds)
        await child.kill()
    assert all(held.reached.is_set() for held in (download, sentence, answer))
    bot = await start_bot(**paced)
    send(len(USERS) - len(sent))

    async def settled() -> bool:
        jobs = await stored_jobs(bot.settings)
        return len(jobs) == len(sent) and all(
            job.state.terminal and not job.word_owed and told(bot, job) for job in jobs)

    deadline = asyncio.get_running_loop().time() + 20
    while not await settled():
        assert asyncio.get_running_loop().time() < deadline, await _report(bot, sent)
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.3)  # room for a late duplicate

    jobs = await stored_jobs(bot.settings)
    by_user = {job.user_id: job for job in jobs}
    lost = [user for user, _ in sent if user not in by_user]
    silent = [job.user_id for job in jobs if not told(bot, job)]
    twice = [text for _, text in sent if creations(sim, text.split(" ", 1)[1]) > 1]
    extra = {job.id: len(bot.videos(job.chat_id)) + len(bot.photos(job.chat_id)) - 1
             for job in jobs if job.state is JobState.DELIVERED}
    log = child.log.read_text()
    repeated = sum(said(telegram, job.chat_id, FAILED) - 1 for job in jobs
                   if job.state is JobState.FAILED and told(bot, job))
    print(f"kill loop: {len(sent)} jobs, {child.lives} kills, {len(lost)} lost, "
          f"{len(silent)} silent, {len(twice)} submitted twice, "
          f"{sum(extra.values())} extra copies, {repeated} repeated failure sentences, "
          f"{sum(job.error_code == 'interrupted' for job in jobs)} interrupted; after kills: "
          f"{log.count(': resuming from ')} jobs resumed, "
          f"{log.count(' was not told it ')} words said late, "
          f"{log.count('not handled before the stop')} updates replayed")
    assert len(jobs) == len(sent) and sorted(job.update_id or 0 for job in jobs) == sorted(
        range(1, len(sent) + 1))
    assert lost == [] and silent == [] and twice == []
    assert sum(extra.values()) >= 1 and log.count(" was not told it ") >= 1  # the held windows
    assert log.count("not handled before the stop") >= 1
    for job in jobs:  # a result handed over again says so, every time
        copies = bot.videos(job.chat_id) + bot.photos(job.chat_id)
        assert all(MAYBE_AGAIN in (copy.get("caption") or "") for copy in copies[1:]), job
        assert len(copies) <= job.delivery_attempts
        if "FORCE_FAIL" in job.prompt:
            assert job.state is JobState.FAILED
        else:
            assert job.state is JobState.DELIVERED or job.error_code == "interrupted", job


async def _report(bot: BotHarness, sent: list[tuple[int, str]]) -> str:
    jobs = await stored_jobs(bot.settings)
    lines = [f"{len(jobs)} jobs for {len(sent)} commands"]
    lines += [f"job {job.id} user {job.user_id} {job.state.value} owed={job.word_owed} "
              f"told={told(bot, job)} {job.error_code}" for job in jobs]
    return "\n".join(lines)
