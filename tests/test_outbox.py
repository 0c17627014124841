"""The Telegram front's side of the outbox, end to end: a job's end owed at start-up is said once,
whatever became of the progress message; a word Telegram did not confirm stays owed; a result
handed over again says so, in the owner's language."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot.jobs.errors import ErrorCode
from bot.jobs.model import Job, JobKind, JobState, NewJob
from bot.sim.media import make_png
from bot.sim.server import FlowSimulator
from bot.sim.telegram import FakeTelegram
from storage.db import connect
from storage.jobs import JobStore
from tests.conftest import USER, StartBot, make_settings

FAILED = "failed."


async def stored_job(tmp_path: Path, sim: FlowSimulator, telegram: FakeTelegram,
                     kind: JobKind = JobKind.VIDEO, language: str = "en",
                     **changes: Any) -> Job:
    """A job as a crashed bot left it (the chat exists: the user wrote before)."""
    telegram.send_text(USER, "hello", language_code=language)
    db = await connect(make_settings(tmp_path, sim, telegram).database_path)
    store = JobStore(db)
    job = await store.add(NewJob(USER, USER, kind, "a quiet harbour", language=language))
    job = await store.update(job, **changes)
    await db.close()
    return job


def failure(**changes: Any) -> dict[str, Any]:
    return {"state": JobState.FAILED, "error_code": ErrorCode.GENERATION_FAILED,
            "error_detail": "internal error", "word_owed": True, **changes}


def shown(telegram: FakeTelegram, needle: str) -> int:
    """Messages and edits that showed `needle` to the user."""
    return sum(needle in str(text) for message in telegram.bot_messages(USER)
               for text in [message["_params"].get("text") or message.get("caption"),
                            *message["_edits"]])


async def test_a_word_already_shown_is_not_shown_again(start_bot: StartBot) -> None:
    bot = await start_bot()
    bot.telegram.send_text(USER, "/video FORCE_FAIL a storm")
    await bot.wait_text(USER, FAILED)
    job = await bot.wait_job(USER, lambda j: j.state is JobState.FAILED and not j.word_owed)
    await bot.stop()
    # As if the bot died after Telegram's answer and before the write that clears the word.
    db = await connect(bot.settings.database_path)
    await JobStore(db).update(job, word_owed=True)
    await db.close()
    edits = len(bot.telegram.calls("editMessageText"))
    messages = len(bot.telegram.bot_messages(USER))

    revived = await start_bot()
    await revived.wait_job(USER, lambda j: not j.word_owed)
    assert len(bot.telegram.calls("editMessageText")) == edits + 1  # "not modified"
    assert shown(bot.telegram, FAILED) == 1
    assert len(bot.telegram.bot_messages(USER)) == messages


async def test_a_word_whose_progress_message_is_gone_comes_as_a_new_message(
        tmp_path: Path, sim: FlowSimulator, telegram: FakeTelegram, start_bot: StartBot) -> None:
    await stored_job(tmp_path, sim, telegram, **failure(progress_message_id=999))
    bot = await start_bot()
    text = await bot.wait_text(USER, FAILED)
    await bot.wait_job(USER, lambda j: not j.word_owed)
    assert "Job #1 (video) failed" in text and shown(telegram, FAILED) == 1
    assert [call["message_id"] for call in telegram.calls("editMessageText")] == [999]


async def test_a_word_telegram_did_not_confirm_is_said_at_the_next_start(
        tmp_path: Path, sim: FlowSimulator, telegram: FakeTelegram, start_bot: StartBot) -> None:
    await stored_job(tmp_path, sim, telegram, **failure())
    telegram.inject("sendMessage", 429, retry_after=500)  # longer than the pacer ever waits
    bot = await start_bot()
    await bot.telegram.wait_for(lambda: telegram.calls("sendMessage"), timeout=10)
    await bot.stop()
    assert shown(telegram, FAILED) == 0
    revived = await start_bot()
    await revived.wait_job(USER, lambda j: not j.word_owed)
    assert shown(telegram, FAILED) == 1


async def test_a_word_to_a_chat_that_blocked_the_bot_is_given_up(
        tmp_path: Path, sim: FlowSimulator, telegram: FakeTelegram, start_bot: StartBot) -> None:
    await stored_job(tmp_path, sim, telegram, **failure())
    telegram.inject("sendMessage", 403, "Forbidden: bot was blocked by the user")
    bot = await start_bot()
    await bot.wait_job(USER, lambda j: not j.word_owed)
    assert shown(telegram, FAILED) == 0


async def test_a_link_owed_at_start_is_sent(
        tmp_path: Path, sim: FlowSimulator, telegram: FakeTelegram, start_bot: StartBot) -> None:
    url = "https://storage.example/huge.mp4"
    await stored_job(tmp_path, sim, telegram, state=JobState.DELIVERED, result_url=url,
                     error_code=ErrorCode.TOO_LARGE, word_owed=True)
    bot = await start_bot()
    assert url in await bot.wait_text(USER, "Download it here")
    await bot.wait_job(USER, lambda j: not j.word_owed)


async def test_an_image_sent_again_says_so_in_vietnamese(
        tmp_path: Path, sim: FlowSimulator, telegram: FakeTelegram, start_bot: StartBot) -> None:
    settings = make_settings(tmp_path, sim, telegram)
    settings.files_dir.mkdir(parents=True)
    picture = settings.files_dir / "job-1.png"
    picture.write_bytes(make_png("sent before the crash"))
    await stored_job(tmp_path, sim, telegram, kind=JobKind.IMAGE, language="vi",
                     state=JobState.DOWNLOADED, task_id="t", media_id="m",
                     file_path=str(picture), delivery_attempts=1)
    bot = await start_bot()
    [photo] = await bot.wait_photos(USER)
    assert photo["caption"] == ("a quiet harbour\n\n↻ Gửi lại sau khi bot khởi động lại: có thể "
                                "bạn đã có ảnh này rồi.")
    done = await bot.wait_job(USER, lambda j: j.state is JobState.DELIVERED)
    assert done.delivery_attempts == 2
