"""End to end with PROVIDER=gemini: the core scenarios through the real bot and the fake Telegram,
against the simulator's copy of Google's official API over loopback: Gemini Omni on the
Interactions API with a Developer API key (what the simulator received is read back with
`sim.interactions()`), Veo 3.1 on Agent Platform through the google-genai client."""

from __future__ import annotations

import base64
import io
from typing import Any

import av
import pytest

from bot.jobs.model import JobState
from bot.sim.interactions import InteractionRecord
from bot.sim.media import make_png
from tests.conftest import ADMIN, STRANGER, USER, StartBot
from tests.harness import BotHarness

#: Where an Omni video is created on the Developer API (upstream-2026.md, section 2).
OMNI_CREATE = "/v1beta/interactions"
OMNI_MODEL = "gemini-omni-1.1-flash"


def _decodes(data: bytes) -> bool:
    with av.open(io.BytesIO(data), mode="r") as container:
        return any(True for _ in container.decode(video=0))


def _gemini_calls(bot: BotHarness, marker: str) -> list[Any]:
    return [e for e in bot.sim.log if marker in e.path]


def _vertex(bot: BotHarness) -> bool:
    return bot.settings.gemini_vertex


def _create_path(vertex: bool) -> str:
    """What the path of a video submission contains (for `sim.inject`)."""
    return ":predictLongRunning" if vertex else OMNI_CREATE


def _creates(bot: BotHarness) -> int:
    """Video submissions that reached Google (answered or not)."""
    if _vertex(bot):
        return bot.sim.count(":predictLongRunning", "POST")
    return sum(1 for e in bot.sim.log if e.method == "POST" and e.path == OMNI_CREATE)


def _interaction(bot: BotHarness) -> InteractionRecord:
    """The one Omni interaction the simulator made."""
    [record] = bot.sim.interactions()
    return record


def _veo_instance(bot: BotHarness) -> dict[str, Any]:
    """The one Veo request's `instances[0]` (Agent Platform)."""
    [call] = [e for e in bot.sim.log if e.path.endswith(":predictLongRunning")]
    instance: dict[str, Any] = call.body["instances"][0]
    return instance


def _veo_image(bot: BotHarness) -> bytes:
    """The first frame the one Veo request carried (Agent Platform)."""
    return base64.b64decode(_veo_instance(bot)["image"]["bytesBase64Encoded"])


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


async def test_text_to_video(gemini_video: BotHarness) -> None:
    gemini = gemini_video
    gemini.telegram.send_text(USER, "/video a cat surfing")
    video = (await gemini.wait_videos(USER))[0]
    assert _decodes(video["_file"])
    await gemini.wait_job(USER, lambda j: j.state is JobState.DELIVERED)
    assert _creates(gemini) == 1 and len(gemini.telegram.calls("sendVideo")) == 1
    if _vertex(gemini):
        instance = _veo_instance(gemini)
        assert instance["prompt"] == "a cat surfing" and "image" not in instance
    else:  # the defaults, and the video fetched once from the Files API with the key
        wanted = _interaction(gemini).request
        assert (wanted.model, wanted.prompt, wanted.task, wanted.images) == (
            OMNI_MODEL, "a cat surfing", "text_to_video", ())
        assert (wanted.aspect_ratio, wanted.resolution, wanted.duration) == ("16:9", "720p", "8s")
        assert gemini.sim.count(":download", "GET") == 1
        assert gemini.sim.count(":predictLongRunning") == 0


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
    assert _creates(gemini) == 1
    if _vertex(gemini):  # the picture the bot made is Veo's first frame
        assert _veo_image(gemini) == photo["_file"]
    else:  # the picture the bot made is the first frame of the interaction
        record = _interaction(gemini)
        assert record.request.task == "image_to_video" and record.images == (photo["_file"],)
        assert record.request.prompt == "walks slowly"
    assert gemini.sim.count("create-video-veo3") == 0  # nothing went through the Flow proxy


async def test_own_photo_is_animated(gemini_video: BotHarness) -> None:
    gemini = gemini_video
    mine = make_png("a photo of mine")
    photo = gemini.telegram.send_photo(USER, mine)
    gemini.telegram.send_text(USER, "/animate waves", reply_to=photo["message_id"])
    assert _decodes((await gemini.wait_videos(USER))[0]["_file"])
    assert _creates(gemini) == 1
    if _vertex(gemini):
        assert _veo_image(gemini) == mine
    else:
        record = _interaction(gemini)
        assert record.request.task == "image_to_video" and record.images == (mine,)


async def test_video_with_options_and_status(gemini_video: BotHarness) -> None:
    gemini = gemini_video
    if _vertex(gemini):
        gemini.telegram.send_text(USER, "/video 9:16 a dog surfing --neg blurry --res 1080p "
                                        "--dur 6")
        await gemini.wait_videos(USER)
        call = _gemini_calls(gemini, "predictLongRunning")[0].body
        assert call["instances"][0]["prompt"] == "a dog surfing"
        parameters = call["parameters"]
        assert parameters["aspectRatio"] == "9:16" and parameters["negativePrompt"] == "blurry"
        assert parameters["resolution"] == "1080p" and parameters["durationSeconds"] == 6
    else:  # Omni has no negative prompt: refused at once, nothing sent; the rest reaches Google
        gemini.telegram.send_text(USER, "/video 9:16 a dog surfing --neg blurry --res 1080p")
        assert "can't honour --neg" in await gemini.wait_text(USER, "honour")
        assert gemini.sim.log == []
        gemini.telegram.send_text(USER, "/video 9:16 a dog surfing --res 1080p --dur 6")
        await gemini.wait_videos(USER)
        wanted = _interaction(gemini).request
        assert (wanted.prompt, wanted.aspect_ratio, wanted.resolution, wanted.duration) == (
            "a dog surfing", "9:16", "1080p", "6s")
    gemini.telegram.send_text(USER, "/status")
    text = await gemini.wait_text(USER, "Your last jobs")
    assert "video · delivered" in text


async def test_generation_failure_is_explained(gemini_video: BotHarness) -> None:
    gemini = gemini_video
    gemini.telegram.send_text(USER, "/video FORCE_FAIL a dog")
    job = await gemini.wait_job(USER, lambda j: j.state is JobState.FAILED)
    assert job.error_code == "generation_failed"
    text = await gemini.wait_text(USER, "failed.")
    assert "Google could not generate it" in text
    assert gemini.telegram.calls("sendVideo") == []
    if not _vertex(gemini):  # Google's own reason for the failed interaction reaches the user
        assert "failed at Google" in text and "internal error" in text
        assert _interaction(gemini).status == "failed"


async def test_safety_block_is_explained(gemini_video: BotHarness) -> None:
    gemini = gemini_video
    gemini.telegram.send_text(USER, "/video FORCE_UNSAFE a dog")
    await gemini.wait_job(USER, lambda j: j.state is JobState.FAILED)
    text = await gemini.wait_text(USER, "failed.")
    assert "safety" in text
    assert gemini.telegram.calls("sendVideo") == []
    if not _vertex(gemini):  # a refusal: "completed", with words and no video
        assert _interaction(gemini).status == "completed"
        assert "the answer has no video" in text


@pytest.mark.parametrize("vertex", [pytest.param(False, id="developer-api"),
                                    pytest.param(True, id="vertex")])
async def test_a_create_answered_500_is_not_sent_again(start_bot: StartBot,
                                                       vertex: bool) -> None:
    """A 500 may come after Google took the request: sending it again could pay twice."""
    bot = await start_bot(provider="gemini", gemini_vertex=vertex, retry_attempts=3)
    bot.sim.inject(_create_path(vertex), 500)
    bot.telegram.send_text(USER, "/video maybe charged")
    job = await bot.wait_job(USER, lambda j: j.state is JobState.FAILED)
    assert job.error_code == "unclear" and job.task_id is None
    assert "may still have been made" in await bot.wait_text(USER, "failed.")
    assert _creates(bot) == 1 and bot.telegram.calls("sendVideo") == []


@pytest.mark.parametrize("vertex", [pytest.param(False, id="developer-api"),
                                    pytest.param(True, id="vertex")])
async def test_a_create_answered_503_once_is_sent_once_more(start_bot: StartBot,
                                                            vertex: bool) -> None:
    """Google's 503 says the request was not taken: one more try, one video."""
    bot = await start_bot(provider="gemini", gemini_vertex=vertex, retry_attempts=3)
    bot.sim.inject(_create_path(vertex), 503)
    bot.telegram.send_text(USER, "/video a second chance")
    await bot.wait_videos(USER)
    await bot.wait_job(USER, lambda j: j.state is JobState.DELIVERED)
    assert _creates(bot) == 2 and len(bot.telegram.calls("sendVideo")) == 1
    made = bot.sim.gemini.operations if vertex else bot.sim.interactions()
    assert len(made) == 1


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
    handle = {"name": job.task_id} if vertex else {"interaction": job.task_id}
    assert job.task_id and job.render == [handle]
    await bot.stop()
    revived = await start_bot(provider="gemini", gemini_vertex=vertex)
    await revived.wait_videos(USER)
    await revived.wait_job(USER, lambda j: j.state is JobState.DELIVERED)
    assert _creates(revived) == 1
    assert len(revived.telegram.calls("sendVideo")) == 1
    if not vertex:
        assert _interaction(revived).id == job.task_id


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


@pytest.mark.parametrize(("vertex", "setting", "model", "command", "sentence"), [
    (False, "gemini_video_model", "veo-3.1-fast-generate-preview", "/video a dog",
     "The video model veo-3.1-fast-generate-preview was retired by Google on 2026-10-22; the "
     "operator should set GEMINI_VIDEO_MODEL=gemini-omni-1.1-flash."),
    (True, "gemini_video_model", "veo-3.0-generate-001", "/video a dog",
     "The video model veo-3.0-generate-001 was retired by Google on 2026-06-30; the operator "
     "should set GEMINI_VIDEO_MODEL=veo-3.1-fast-generate-001."),
    (False, "gemini_image_model", "gemini-2.5-flash-image", "/image a dog",
     "The image model gemini-2.5-flash-image was retired by Google on 2026-10-02; the operator "
     "should set GEMINI_IMAGE_MODEL=gemini-3.1-flash-image."),
    (True, "gemini_image_model", "imagen-4.0-generate-001", "/image a dog",
     "The image model imagen-4.0-generate-001 was retired by Google on 2026-08-17; the operator "
     "should set GEMINI_IMAGE_MODEL=gemini-3.1-flash-image."),
], ids=["developer-api", "vertex", "developer-api-image", "vertex-image"])
async def test_a_retired_model_fails_at_once_with_its_replacement(
        start_bot: StartBot, vertex: bool, setting: str, model: str, command: str,
        sentence: str) -> None:
    bot: BotHarness = await start_bot(provider="gemini", gemini_vertex=vertex, **{setting: model})
    bot.telegram.send_text(USER, command)
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
