"""End to end, the happy paths: the real bot against the simulator and the fake Bot API."""

from __future__ import annotations

import io
import itertools

import av

from bot.jobs.model import JobState
from bot.sim.media import make_png
from tests.conftest import PROJECT, USER, StartBot
from tests.harness import BotHarness


def _decodes(data: bytes) -> bool:
    with av.open(io.BytesIO(data), mode="r") as container:
        return any(True for _ in container.decode(video=0))


def _video_calls(bot: BotHarness) -> list[dict]:  # type: ignore[type-arg]
    return [e.body for e in bot.sim.log if e.path.endswith("/create-video-veo3")]


async def test_start_and_help_show_commands_and_user_id(bot: BotHarness) -> None:
    bot.telegram.send_text(USER, "/start")
    text = await bot.wait_text(USER, "Your Telegram id")
    assert str(USER) in text and "/image" in text and "/animate" in text and "/status" in text
    bot.telegram.send_text(USER, "/help")
    await bot.telegram.wait_for(lambda: len(bot.texts(USER)) == 2)
    assert "/video" in bot.texts(USER)[1] and str(USER) in bot.texts(USER)[1]


async def test_start_speaks_vietnamese(bot: BotHarness) -> None:
    bot.telegram.send_text(USER, "/start", language_code="vi")
    assert "ID Telegram của bạn" in await bot.wait_text(USER, str(USER))


async def test_image_is_posted_with_prompt_and_animate_button(bot: BotHarness) -> None:
    bot.telegram.send_text(USER, "/image a cute cat")
    photo = (await bot.wait_photos(USER))[0]
    assert photo["caption"] == "a cute cat"
    button = photo["reply_markup"]["inline_keyboard"][0][0]
    assert button["text"] == "🎬 Animate" and button["callback_data"].startswith("animate:")
    assert photo["_file"].startswith(b"\x89PNG")
    create = next(e.body for e in bot.sim.log if e.path.endswith("/create-image-veo3"))
    request = create["body_json"]["requests"][0]
    assert request["imageModelName"] == "GEM_PIX_2" and request["prompt"] == "a cute cat"
    assert create["flow_url"].endswith(f"/v1/projects/{PROJECT}/flowMedia:batchGenerateImages")
    job = await bot.wait_job(USER, lambda j: j.state is JobState.DELIVERED)
    ref = await bot.engine.images.lookup(USER, photo["message_id"])
    assert ref is not None and ref.media_id == job.media_id


async def test_reply_animate_to_image_uploads_the_video(bot: BotHarness) -> None:
    bot.telegram.send_text(USER, "/image a cute cat")
    photo = (await bot.wait_photos(USER))[0]
    image_job = await bot.wait_job(USER, lambda j: j.state is JobState.DELIVERED)
    bot.telegram.send_text(USER, "/animate walks slowly", reply_to=photo["message_id"])
    video = (await bot.wait_videos(USER))[0]
    assert video["_params"]["supports_streaming"] is True
    assert _decodes(video["_file"])
    request = _video_calls(bot)[0]["body_json"]["requests"][0]
    assert request["videoModelKey"] == "veo_3_0_r2v_fast_ultra"
    assert request["referenceImages"][0]["mediaId"] == image_job.media_id
    assert request["textInput"]["prompt"] == "walks slowly"


async def test_animate_button_asks_for_the_motion_then_animates(bot: BotHarness) -> None:
    bot.telegram.send_text(USER, "/image a red fox")
    photo = (await bot.wait_photos(USER))[0]
    data = photo["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    bot.telegram.press_button(USER, photo["message_id"], data)
    await bot.wait_text(USER, "How should this image move?")
    question = next(m for m in bot.telegram.bot_messages(USER)
                    if "How should this image move" in (m.get("text") or ""))
    assert question["_params"]["reply_markup"]["force_reply"] is True
    bot.telegram.send_text(USER, "runs through snow", reply_to=question["message_id"])
    await bot.wait_videos(USER)
    request = _video_calls(bot)[0]["body_json"]["requests"][0]
    assert request["textInput"]["prompt"] == "runs through snow"
    assert request["videoModelKey"] == "veo_3_0_r2v_fast_ultra"


async def test_reply_animate_to_users_own_photo_uploads_it_first(bot: BotHarness) -> None:
    photo = bot.telegram.send_photo(USER, make_png("my own photo"))
    bot.telegram.send_text(USER, "/animate waves hello", reply_to=photo["message_id"])
    video = (await bot.wait_videos(USER))[0]
    assert _decodes(video["_file"])
    assert bot.sim.count("uploadUserImage") == 1
    request = _video_calls(bot)[0]["body_json"]["requests"][0]
    assert request["referenceImages"][0]["mediaId"]


async def test_photo_with_animate_caption_is_animated(bot: BotHarness) -> None:
    bot.telegram.send_photo(USER, make_png("caption photo"), caption="/animate zoom in slowly")
    await bot.wait_videos(USER)
    assert bot.sim.count("uploadUserImage") == 1
    assert _video_calls(bot)[0]["body_json"]["requests"][0]["textInput"]["prompt"] == (
        "zoom in slowly")


async def test_video_reply_to_photo_animates_it(bot: BotHarness) -> None:
    photo = bot.telegram.send_photo(USER, make_png("video reply"))
    bot.telegram.send_text(USER, "/video spins around", reply_to=photo["message_id"])
    await bot.wait_videos(USER)
    request = _video_calls(bot)[0]["body_json"]["requests"][0]
    assert request["videoModelKey"] == "veo_3_0_r2v_fast_ultra"


async def test_video_from_text_landscape_and_portrait(bot: BotHarness) -> None:
    bot.telegram.send_text(USER, "/video a dog surfing")
    bot.telegram.send_text(USER, "/video 9:16 a cat surfing")
    videos = await bot.wait_videos(USER, count=2)
    assert all(_decodes(v["_file"]) for v in videos)
    models = sorted(c["body_json"]["requests"][0]["videoModelKey"] for c in _video_calls(bot))
    assert models == ["veo_3_1_t2v_fast", "veo_3_1_t2v_fast_portrait"]
    portrait = next(c for c in _video_calls(bot)
                    if c["body_json"]["requests"][0]["videoModelKey"].endswith("portrait"))
    assert portrait["body_json"]["requests"][0]["aspectRatio"] == "VIDEO_ASPECT_RATIO_PORTRAIT"
    assert portrait["body_json"]["requests"][0]["textInput"]["prompt"] == "a cat surfing"


async def test_one_progress_message_per_job_edited_through_the_phases(bot: BotHarness) -> None:
    command = bot.telegram.send_text(USER, "/video a slow sunrise")
    await bot.wait_videos(USER)
    await bot.wait_text(USER, "done in")
    progress = [m for m in bot.telegram.bot_messages(USER) if "Job #" in (m.get("text") or "")
                or any("Job #" in e for e in m.get("_edits", []))]
    assert len(progress) == 1
    message = progress[0]
    assert message["reply_to_message"]["message_id"] == command["message_id"]
    history = [message.get("_params", {}).get("text", ""), *message["_edits"]]
    assert "queued" in history[0] or "sending" in history[0]
    assert any("rendering" in text for text in history)
    assert "done in" in history[-1]


async def test_progress_edits_are_throttled_per_chat(start_bot: StartBot) -> None:
    bot = await start_bot(progress_edit_interval=0.3, flow_poll_interval=0.05)
    bot.sim.config.latency = 1.5
    bot.telegram.send_text(USER, "/video one")
    bot.telegram.send_text(USER, "/video two")
    await bot.wait_videos(USER, count=2)
    await bot.wait_text(USER, "done in")
    calls = zip(bot.telegram.request_times, bot.telegram.requests, strict=True)
    stamps = [at for at, (method, params) in calls
              if method == "editMessageText" and params.get("chat_id") == USER]
    assert len(stamps) >= 2
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    assert min(gaps) >= 0.3 - 0.02, gaps
