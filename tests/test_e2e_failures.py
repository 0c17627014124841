"""End to end: every failure reaches the user as one sentence, and the job keeps its state."""

from __future__ import annotations

from bot.jobs.model import JobState
from tests.conftest import BEARER, USER, StartBot
from tests.harness import BotHarness


async def test_generation_failure_shows_googles_reason(bot: BotHarness) -> None:
    bot.telegram.send_text(USER, "/video FORCE_FAIL a dog")
    job = await bot.wait_job(USER, lambda j: j.state is JobState.FAILED)
    assert job.error_code == "generation_failed"
    text = await bot.wait_text(USER, "failed.")
    assert "Google could not generate it (Video generation failed: internal error" in text
    assert bot.videos(USER) == []


async def test_safety_refusal_is_explained_and_not_retried(bot: BotHarness) -> None:
    bot.telegram.send_text(USER, "/image FORCE_UNSAFE something")
    job = await bot.wait_job(USER, lambda j: j.state is JobState.FAILED)
    assert job.error_code == "unsafe"
    assert "safety filters refused" in await bot.wait_text(USER, "failed.")
    assert bot.sim.count("create-image-veo3") == 1


async def test_expired_token_mid_render_pauses_the_job_until_restart(start_bot: StartBot) -> None:
    bot = await start_bot()
    bot.sim.config.latency = 1.0
    bot.telegram.send_text(USER, "/video a waiting dog")
    await bot.wait_job(USER, lambda j: j.state is JobState.RENDERING)
    bot.sim.config.bearer_token = "ya29.a.fresh-token-nobody-has-yet-wxyz"  # the old one expires
    job = await bot.wait_job(USER, lambda j: j.state is JobState.WAITING_FOR_TOKEN)
    assert job.error_code == "auth_expired" and job.render is not None
    assert "refused the bot's token or key" in await bot.wait_text(USER, "paused")
    await bot.stop()

    revived = await start_bot(flow_bearer_token="ya29.a.fresh-token-nobody-has-yet-wxyz")
    await revived.wait_videos(USER)
    assert bot.sim.count("create-video-veo3") == 1  # the render was resumed, not resubmitted


async def test_expired_token_at_submission_resubmits_after_restart(start_bot: StartBot) -> None:
    bot = await start_bot(flow_bearer_token="ya29.an.expired-token-0000-abcd")
    bot.telegram.send_text(USER, "/video submitted with an old token")
    job = await bot.wait_job(USER, lambda j: j.state is JobState.WAITING_FOR_TOKEN)
    assert job.task_id is None  # Google refused it: nothing was charged, it may go again
    await bot.stop()
    revived = await start_bot(flow_bearer_token=BEARER)
    await revived.wait_videos(USER)
    assert next(e.status for e in bot.sim.log if e.path.endswith("task-status")) == 200


async def test_proxy_unavailable_after_bounded_retries(start_bot: StartBot) -> None:
    bot = await start_bot(retry_attempts=3)
    bot.sim.inject("create-video-veo3", 503, times=100)
    bot.telegram.send_text(USER, "/video into the void")
    job = await bot.wait_job(USER, lambda j: j.state is JobState.FAILED)
    assert job.error_code == "unavailable"
    assert bot.sim.count("create-video-veo3") == 3
    assert "unreachable (even after retries)" in await bot.wait_text(USER, "failed.")


async def test_a_500_on_the_create_is_not_sent_again(start_bot: StartBot) -> None:
    bot = await start_bot(retry_attempts=3)
    bot.sim.inject("create-video-veo3", 500, times=100)
    bot.telegram.send_text(USER, "/video maybe charged")
    job = await bot.wait_job(USER, lambda j: j.state is JobState.FAILED)
    assert job.error_code == "unclear" and bot.sim.count("create-video-veo3") == 1
    assert "check your account before sending it again" in await bot.wait_text(USER, "failed.")


async def test_quota_reached_is_not_retried(bot: BotHarness) -> None:
    bot.sim.inject("create-video-veo3", 429, times=5, body={"error": {
        "code": 429, "message": "quota", "status": "RESOURCE_EXHAUSTED",
        "details": [{"reason": "PUBLIC_ERROR_PER_MODEL_DAILY_QUOTA_REACHED"}]}})
    bot.telegram.send_text(USER, "/video too many today")
    job = await bot.wait_job(USER, lambda j: j.state is JobState.FAILED)
    assert job.error_code == "quota" and bot.sim.count("create-video-veo3") == 1
    assert "quota is used up" in await bot.wait_text(USER, "failed.")


async def test_render_stuck_past_the_cap_fails(start_bot: StartBot) -> None:
    bot = await start_bot(render_timeout=0.6)
    bot.telegram.send_text(USER, "/video FORCE_STUCK forever")
    job = await bot.wait_job(USER, lambda j: j.state is JobState.FAILED)
    assert job.error_code == "timeout"
    assert "longer than the time limit" in await bot.wait_text(USER, "failed.")


async def test_video_too_large_for_telegram_sends_the_link(start_bot: StartBot) -> None:
    bot = await start_bot(max_upload_mb=0.001)
    bot.telegram.send_text(USER, "/video a huge video")
    text = await bot.wait_text(USER, "Download it here")
    assert "/media/video/" in text
    job = await bot.wait_job(USER, lambda j: j.state is JobState.DELIVERED)
    assert job.error_code == "too_large" and bot.videos(USER) == []
    assert list(bot.settings.files_dir.glob("*.mp4")) == []


async def test_poll_survives_500_and_429_answers(bot: BotHarness) -> None:
    bot.sim.inject("batchCheckAsyncVideoGenerationStatus", 500, times=2)
    bot.sim.inject("batchCheckAsyncVideoGenerationStatus", 429, times=2, retry_after=0.2)
    bot.telegram.send_text(USER, "/video through the storm")
    await bot.wait_videos(USER)
    statuses = [e.status for e in bot.sim.log if "batchCheck" in e.path]
    assert statuses[:4] == [500, 500, 429, 429] and statuses[-1] == 200
    polls_429 = [e.at for e in bot.sim.log if "batchCheck" in e.path][2:5]
    assert polls_429[1] - polls_429[0] >= 0.2 and polls_429[2] - polls_429[1] >= 0.2


async def test_downloaded_files_are_removed_after_delivery(bot: BotHarness) -> None:
    bot.telegram.send_text(USER, "/video tidy up")
    await bot.wait_videos(USER)
    await bot.wait_job(USER, lambda j: j.state is JobState.DELIVERED)
    assert list(bot.settings.files_dir.glob("job-*")) == []
