"""End to end, albums: the real bot against the fake Bot API (an album arrives as one message per
photo sharing a `media_group_id`) and the simulator of Google's Agent Platform Veo
(`image` + `lastFrame` for first and last frame, `referenceImages` for references)."""

from __future__ import annotations

import asyncio
import base64
import time
from pathlib import Path
from typing import Any

import pytest

from bot.jobs.model import ImageRole, Job, JobKind, JobState
from bot.sim.media import make_png
from tests.conftest import USER, StartBot
from tests.harness import BotHarness

ALBUM_WAIT = 0.3
GROUP = -100_500
FIRST, SECOND, THIRD, FOURTH = (make_png(f"album photo {n}") for n in range(1, 5))


@pytest.fixture
async def veo(start_bot: StartBot) -> BotHarness:
    """The bot on Veo 3.1 through Agent Platform, which takes two frames or references."""
    bot: BotHarness = await start_bot(provider="gemini", gemini_vertex=True,
                                      album_wait=ALBUM_WAIT)
    return bot


def _veo_instance(bot: BotHarness) -> dict[str, Any]:
    calls = [e.body for e in bot.sim.log if e.path.endswith(":predictLongRunning")]
    assert len(calls) == 1
    instance: dict[str, Any] = calls[0]["instances"][0]
    return instance


def _picture(image: dict[str, Any]) -> tuple[bytes, str]:
    return base64.b64decode(image["bytesBase64Encoded"]), image["mimeType"]


async def _only_job(bot: BotHarness, state: JobState | None) -> Job:
    """The user's one job once it is in `state` (None: once it has ended)."""
    job = await bot.wait_job(USER, lambda j: j.state is state if state else j.state.terminal)
    assert len(await bot.jobs_of(USER)) == 1
    return job


async def test_album_captioned_animate_is_one_first_and_last_frame_video(veo: BotHarness) -> None:
    album = veo.telegram.send_album(USER, [FIRST, SECOND], caption="/animate morphs slowly")
    await veo.wait_videos(USER)
    job = await _only_job(veo, JobState.DELIVERED)
    assert job.kind is JobKind.ANIMATE and job.image_role is ImageRole.FRAMES
    assert job.prompt == "morphs slowly" and job.reply_to_message_id == album[0]["message_id"]
    assert job.reference_media_id and len(job.extra_images) == 1
    assert job.source_path is not None and Path(job.source_path).read_bytes() == FIRST
    instance = _veo_instance(veo)
    assert _picture(instance["image"]) == (FIRST, "image/png")  # the bytes Telegram holds
    assert _picture(instance["lastFrame"]) == (SECOND, "image/png")
    assert "referenceImages" not in instance


async def test_reply_to_the_second_photo_of_an_album_animates_the_album(veo: BotHarness) -> None:
    first = veo.telegram.send_photo(USER, FIRST, media_group_id="5001")
    await asyncio.sleep(0.1)  # not in the same getUpdates answer
    second = veo.telegram.send_photo(USER, SECOND, media_group_id="5001")
    await _remembered(veo, second["message_id"])
    veo.telegram.send_text(USER, "/animate morphs slowly", reply_to=second["message_id"])
    await veo.wait_videos(USER)
    job = await _only_job(veo, JobState.DELIVERED)
    assert job.image_role is ImageRole.FRAMES and len(job.extra_images) == 1
    instance = _veo_instance(veo)
    assert _picture(instance["image"])[0] == FIRST and _picture(instance["lastFrame"])[0] == SECOND
    assert first["message_id"] < second["message_id"]


async def test_an_album_is_remembered_across_a_restart(start_bot: StartBot) -> None:
    bot = await start_bot(provider="gemini", gemini_vertex=True, album_wait=ALBUM_WAIT)
    album = bot.telegram.send_album(USER, [FIRST, SECOND])
    await _remembered(bot, album[1]["message_id"])
    await bot.stop()
    revived = await start_bot(provider="gemini", gemini_vertex=True, album_wait=ALBUM_WAIT)
    revived.telegram.send_text(USER, "/video morphs slowly", reply_to=album[0]["message_id"])
    await revived.wait_videos(USER)
    instance = _veo_instance(revived)
    assert _picture(instance["image"])[0] == FIRST
    assert _picture(instance["lastFrame"])[0] == SECOND


async def test_album_captioned_video_ref_uses_the_photos_as_references(veo: BotHarness) -> None:
    veo.telegram.send_album(USER, [FIRST, SECOND, THIRD],
                            caption="/video a fox in a red hat --ref", caption_on=1)
    job = await _only_job(veo, None)
    assert job.kind is JobKind.ANIMATE and job.image_role is ImageRole.REFERENCES
    assert job.prompt == "a fox in a red hat" and len(job.extra_images) == 2
    instance = _veo_instance(veo)  # what the bot submitted, whatever the simulator answered
    assert "image" not in instance and "lastFrame" not in instance
    references = instance["referenceImages"]
    assert [_picture(r["image"]) for r in references] == [
        (FIRST, "image/png"), (SECOND, "image/png"), (THIRD, "image/png")]
    assert {r["referenceType"].lower() for r in references} == {"asset"}


async def test_a_single_photo_captioned_video_ref_is_one_reference(veo: BotHarness) -> None:
    veo.telegram.send_photo(USER, FIRST, caption="/video a fox in a red hat --ref")
    job = await _only_job(veo, None)
    assert job.image_role is ImageRole.REFERENCES and job.extra_images == ()
    references = _veo_instance(veo)["referenceImages"]
    assert [_picture(r["image"]) for r in references] == [(FIRST, "image/png")]


async def test_a_references_video_is_accepted_and_delivered(veo: BotHarness) -> None:
    veo.telegram.send_album(USER, [FIRST, SECOND], caption="/video a fox in a red hat --ref")
    job = await _only_job(veo, None)
    assert job.state is JobState.DELIVERED, job.error_detail
    assert len(veo.videos(USER)) == 1


@pytest.mark.parametrize(("photos", "caption", "sentence"), [
    ([FIRST, SECOND, THIRD], "/animate morphs", "takes exactly 2 photos; this album has 3"),
    ([FIRST, SECOND, THIRD, FOURTH], "/video a fox --ref",
     "at most 3 reference photos; this album has 4"),
], ids=["frames", "references"])
async def test_too_many_photos_get_a_sentence_and_no_job(
        veo: BotHarness, photos: list[bytes], caption: str, sentence: str) -> None:
    album = veo.telegram.send_album(USER, photos, caption=caption, caption_on=len(photos) - 1,
                                    chat_id=GROUP)
    await veo.wait_text(GROUP, sentence)
    answers = veo.telegram.bot_messages(GROUP)
    assert len(answers) == 1  # once per album, quoting its command (in a group, replies quote)
    assert answers[0]["reply_to_message"]["message_id"] == album[-1]["message_id"]
    assert await veo.jobs_of(USER) == [] and veo.sim.log == []
    assert veo.telegram.calls("getFile") == []


async def test_ref_without_a_picture_gets_a_sentence(veo: BotHarness) -> None:
    veo.telegram.send_text(USER, "/video a fox --ref")
    await veo.wait_text(USER, "--ref uses photos as references")
    assert await veo.jobs_of(USER) == [] and veo.sim.log == []


async def test_flow_refuses_two_pictures_before_anything_is_sent(start_bot: StartBot) -> None:
    bot = await start_bot(album_wait=ALBUM_WAIT)  # PROVIDER=flow
    bot.telegram.send_album(USER, [FIRST, SECOND], caption="/animate morphs slowly")
    text = await bot.wait_text(USER, "The flow provider animates at most 1 picture")
    assert "this has 2" in text
    bot.telegram.send_photo(USER, FIRST, caption="/video a fox --ref")
    await bot.wait_text(USER, "The flow provider does not take reference pictures")
    assert await bot.jobs_of(USER) == [] and bot.sim.log == []
    assert bot.telegram.calls("getFile") == []  # nothing downloaded either


async def _remembered(bot: BotHarness, message_id: int, photos: int = 2) -> None:
    """Wait until the bot has stored the whole album of this message."""
    deadline = time.monotonic() + 5.0
    while len(await bot.engine.images.album_of(USER, message_id)) < photos:
        assert time.monotonic() < deadline, "the album was never remembered"
        await asyncio.sleep(0.02)


@pytest.mark.parametrize(("caption", "task", "count"), [
    ("/animate morphs slowly", "image_to_video", 2),
    ("/video a fox in a red hat --ref", "reference_to_video", 3),
], ids=["first-and-last-frame", "references"])
async def test_an_album_goes_to_omni_in_album_order(start_bot: StartBot, caption: str, task: str,
                                                    count: int) -> None:
    """On the Gemini Developer API the album goes to Omni on the Interactions API."""
    bot = await start_bot(provider="gemini", album_wait=ALBUM_WAIT)
    photos = [FIRST, SECOND, THIRD][:count]
    bot.telegram.send_album(USER, photos, caption=caption)
    await bot.wait_videos(USER)
    job = await _only_job(bot, JobState.DELIVERED)
    assert len(job.extra_images) == count - 1
    [interaction] = bot.sim.interactions()
    assert interaction.request.task == task
    assert interaction.images == tuple(photos)  # the exact bytes, in album order


async def test_an_album_goes_to_useapi_as_start_and_end_image(start_bot: StartBot) -> None:
    """Through useapi.net, each photo is uploaded as an asset first, then named in the video."""
    bot = await start_bot(provider="useapi", album_wait=ALBUM_WAIT)
    bot.telegram.send_album(USER, [FIRST, SECOND], caption="/animate morphs slowly")
    await bot.wait_videos(USER)
    await _only_job(bot, JobState.DELIVERED)
    uploads = [e for e in bot.sim.log if "/v1/google-flow/assets" in e.path and e.method == "POST"]
    [create] = [e.body for e in bot.sim.log
                if e.path.endswith("/v1/google-flow/videos") and e.method == "POST"]
    assert len(uploads) == 2
    assert create["startImage"] and create["endImage"]
    assert create["startImage"] != create["endImage"]
