"""End to end with PROVIDER=gemini: the core scenarios through the real google-genai client,
against the simulator's copy of Google's official API, over loopback: Omni on the Interactions
API with a Developer API key, Veo 3.1 on Agent Platform."""

from __future__ import annotations

import io
from typing import Any

import av
import pytest

from bot.jobs.model import JobState
from bot.sim.media import make_png
from tests.conftest import ADMIN, STRANGER, USER, StartBot
from tests.harness import BotHarness


def _decodes(data: bytes) -> bool:
    with av.open(io.BytesIO(data), mode="r") as container:
        return any(True for _ in container.decode(video=0))


def _gemini_calls(bot: BotHarness, marker: str) -> list[Any]:
    return [e for e in bot.sim.log if marker in e.path]


@pytest.fixture(params=[False, True], ids=["developer-api", "vertex"])
async def gemini(request: pytest.FixtureRequest, start_bot: StartBot) -> BotHarness:
    bot: BotHarness = await start_bot(provider="gemini", gemini_vertex=request.param)
    return bot


@pytest.fixture(params=[pytest.param(False, id="developer-api"),
                        pytest.param(True, id="vertex")])
async def gemini_video(request: pytest.FixtureRequest, start_bot: StartBot) -> BotHarness:
    """The bot on PROVIDER=gemini for scenarios that make videos."""
    bot: BotHarness = await start_bot(provider="gemini", gemini_vertex=request.param)
    return bot


async def test_image_then_reply_animate(gemini_video: BotHarness) -> None:
    gemini = gemini_video
    gemini.telegram.send_text(USER, "/image a cute cat")
    photo = (await gemini.wait_photos(USER))[0]
    assert photo["_file"].startswith(b"\x89PNG")
    image_job = await gemini.wait_job(USER, lambda j: j.state is JobState.DELIVERED)
    assert image_job.provider == "gemini" and image_job.media_id is not None
    assert image_job.media_id.startswith("gemini-image:")
    gemini.telegram.send_text(USER, "/animate walks slowly", reply_to=photo["message_id"])
    video = (await gemini.wait_videos(USER))[0]
    assert _decodes(video["_file"]) and video["_params"]["supports_streaming"] is True
    assert _gemini_calls(gemini, "predictLongRunning")
    assert gemini.sim.count("create-video-veo3") == 0  # nothing went through the Flow proxy


async def test_own_photo_is_animated(gemini_video: BotHarness) -> None:
    gemini = gemini_video
    photo = gemini.telegram.send_photo(USER, make_png("a photo of mine"))
    gemini.telegram.send_text(USER, "/animate waves", reply_to=photo["message_id"])
    assert _decodes((await gemini.wait_videos(USER))[0]["_file"])


async def test_video_with_options_and_status(gemini_video: BotHarness) -> None:
    gemini = gemini_video
    gemini.telegram.send_text(USER, "/video 9:16 a dog surfing --neg blurry --res 1080p --dur 6")
    await gemini.wait_videos(USER)
    call = _gemini_calls(gemini, "predictLongRunning")[0].body
    assert call["instances"][0]["prompt"] == "a dog surfing"
    parameters = call["parameters"]
    assert parameters["aspectRatio"] == "9:16" and parameters["negativePrompt"] == "blurry"
    assert parameters["resolution"] == "1080p" and parameters["durationSeconds"] == 6
    gemini.telegram.send_text(USER, "/status")
    text = await gemini.wait_text(USER, "Your last jobs")
    assert "video · delivered" in text


async def test_generation_failure_is_explained(gemini_video: BotHarness) -> None:
    gemini = gemini_video
    gemini.telegram.send_text(USER, "/video FORCE_FAIL a dog")
    job = await gemini.wait_job(USER, lambda j: j.state is JobState.FAILED)
    assert job.error_code == "generation_failed"
    assert "Google could not generate it" in await gemini.wait_text(USER, "failed.")


async def test_safety_block_is_explained(gemini_video: BotHarness) -> None:
    gemini = gemini_video
    gemini.telegram.send_text(USER, "/video FORCE_UNSAFE a dog")
    await gemini.wait_job(USER, lambda j: j.state is JobState.FAILED)
    assert "safety" in await gemini.wait_text(USER, "failed.")


async def test_stranger_causes_no_request(gemini: BotHarness) -> None:
    gemini.telegram.send_text(STRANGER, "/video a dog")
    await gemini.wait_text(STRANGER, str(STRANGER))
    assert gemini.sim.log == []


async def test_wrong_key_makes_jobs_wait(start_bot: StartBot) -> None:
    bot = await start_bot(provider="gemini", gemini_api_key="AIzaSy-not-the-right-key-000000")
    bot.telegram.send_text(USER, "/video a dog")
    job = await bot.wait_job(USER, lambda j: j.state is JobState.WAITING_FOR_TOKEN)
    assert job.error_code == "auth_expired" and job.task_id is None


@pytest.mark.parametrize("vertex", [pytest.param(False, id="developer-api"),
                                    pytest.param(True, id="vertex")])
async def test_restart_mid_render_resumes_the_operation(start_bot: StartBot, vertex: bool) -> None:
    bot = await start_bot(provider="gemini", gemini_vertex=vertex)
    bot.sim.config.latency = 1.0
    bot.telegram.send_text(USER, "/video survives a restart")
    job = await bot.wait_job(USER, lambda j: j.state is JobState.RENDERING)
    assert job.task_id and job.render == [{"name": job.task_id}]
    await bot.stop()
    revived = await start_bot(provider="gemini", gemini_vertex=vertex)
    await revived.wait_videos(USER)
    await revived.wait_job(USER, lambda j: j.state is JobState.DELIVERED)
    assert len(_gemini_calls(revived, "predictLongRunning")) == 1
    assert len(revived.telegram.calls("sendVideo")) == 1


async def test_a_wrong_key_makes_image_jobs_wait(start_bot: StartBot) -> None:
    bot = await start_bot(provider="gemini", gemini_api_key="AIzaSy-not-the-right-key-000000")
    bot.telegram.send_text(USER, "/image a dog")
    job = await bot.wait_job(USER, lambda j: j.state is JobState.WAITING_FOR_TOKEN)
    assert job.error_code == "auth_expired" and job.task_id is None


async def test_options_flow_cannot_honour_are_refused_but_gemini_takes_them(
        start_bot: StartBot) -> None:
    bot = await start_bot(provider="gemini")
    bot.telegram.send_text(USER, "/image a cat --res 1080p")
    assert "can't honour --res" in await bot.wait_text(USER, "honour")


@pytest.mark.parametrize(("vertex", "setting", "model", "sentence"), [
    (False, "gemini_video_model", "veo-3.1-fast-generate-preview",
     "The video model veo-3.1-fast-generate-preview was retired by Google on 2026-10-22; the "
     "operator should set GEMINI_VIDEO_MODEL=gemini-omni-1.1-flash."),
    (True, "gemini_video_model", "veo-3.0-generate-001",
     "The video model veo-3.0-generate-001 was retired by Google on 2026-06-30; the operator "
     "should set GEMINI_VIDEO_MODEL=veo-3.1-fast-generate-001."),
], ids=["developer-api", "vertex"])
async def test_a_retired_model_fails_at_once_with_its_replacement(
        start_bot: StartBot, vertex: bool, setting: str, model: str, sentence: str) -> None:
    bot: BotHarness = await start_bot(provider="gemini", gemini_vertex=vertex, **{setting: model})
    bot.telegram.send_text(USER, "/video a dog")
    job = await bot.wait_job(USER, lambda j: j.state is JobState.FAILED)
    assert job.error_code == "model_retired" and job.task_id is None
    assert sentence in await bot.wait_text(USER, "failed.")
    assert bot.sim.log == []


async def test_a_retired_model_is_named_at_start_in_the_log_and_to_the_admins(
        start_bot: StartBot, caplog: pytest.LogCaptureFixture) -> None:
    first = await start_bot()
    first.telegram.send_text(ADMIN, "/start")  # a bot may write only to whom wrote to it
    await first.wait_text(ADMIN, "/help")
    await first.stop()
    bot = await start_bot(provider="gemini", gemini_image_model="gemini-2.5-flash-image")
    expected = ("The image model gemini-2.5-flash-image was retired by Google on 2026-10-02; "
                "the operator should set GEMINI_IMAGE_MODEL=gemini-3.1-flash-image")
    assert expected in await bot.wait_text(ADMIN, "retired by Google")
    assert any(expected in record.getMessage() for record in caplog.records)
    assert sum("retired" in text for text in bot.texts(ADMIN)) == 1
    assert bot.texts(USER) == []
