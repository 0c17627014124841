"""Extend and upscale from the buttons under a result, end to end: the real bot against the fake
Bot API and the useapi.net / Gemini simulators, over loopback."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from bot.jobs.model import Job, JobKind, JobState
from bot.sim.useapi_state import DEFAULT_EMAIL
from tests.conftest import USER, StartBot
from tests.harness import BotHarness

ROOT = "/v1/google-flow"


@pytest.fixture
async def useapi(start_bot: StartBot) -> BotHarness:
    bot: BotHarness = await start_bot(provider="useapi", useapi_email=DEFAULT_EMAIL)
    return bot


def buttons(message: dict[str, Any]) -> list[str]:
    markup = message["_params"].get("reply_markup") or {}
    return [button["callback_data"] for row in markup.get("inline_keyboard", []) for button in row]


def posts(bot: BotHarness, path: str) -> list[dict[str, Any]]:
    return [e.body for e in bot.sim.log if e.path == ROOT + path and e.method == "POST"]


def credits(bot: BotHarness) -> int:
    return bot.sim.useapi.accounts[DEFAULT_EMAIL].credits


async def delivered(bot: BotHarness, kind: JobKind, after: int = 0) -> Job:
    return await bot.wait_job(USER, lambda j: j.kind is kind and j.id > after
                              and j.state is JobState.DELIVERED)


async def first_video(bot: BotHarness) -> tuple[dict[str, Any], Job]:
    bot.telegram.send_text(USER, "/video a paper boat on a river")
    video = (await bot.wait_videos(USER))[0]
    return video, await delivered(bot, JobKind.VIDEO)


async def question(bot: BotHarness, needle: str) -> dict[str, Any]:
    await bot.wait_text(USER, needle)
    return next(m for m in reversed(bot.telegram.bot_messages(USER))
                if needle in (m.get("text") or ""))


async def test_a_useapi_video_offers_again_extend_and_both_upscales(useapi: BotHarness) -> None:
    video, job = await first_video(useapi)
    assert buttons(video) == [f"act:{action}:{job.id}" for action in ("again", "extend",
                                                                       "1080p", "4k")]
    assert job.media_id  # useapi's mediaGenerationId of the clip, kept for the buttons


async def test_extend_asks_how_it_goes_on_then_continues_the_video(useapi: BotHarness) -> None:
    video, source = await first_video(useapi)
    useapi.telegram.press_button(USER, video["message_id"], f"act:extend:{source.id}")
    asked = await question(useapi, "How should video")
    assert asked["_params"]["reply_markup"]["force_reply"] is True
    assert posts(useapi, "/videos/extend") == []  # nothing is made before the prompt
    useapi.telegram.send_text(USER, "the boat reaches the sea", reply_to=asked["message_id"])
    await useapi.wait_videos(USER, count=2)
    extension = await delivered(useapi, JobKind.EXTEND)
    (sent,) = posts(useapi, "/videos/extend")
    assert sent["mediaGenerationId"] == source.media_id
    assert sent["prompt"] == "the boat reaches the sea"
    assert (extension.parent_id, extension.origin) == (source.id, "extend")
    useapi.telegram.send_text(USER, "/status")
    await useapi.wait_text(USER, f"extension of #{source.id}")


async def test_1080p_is_free_and_made_at_once(useapi: BotHarness) -> None:
    video, source = await first_video(useapi)
    before = credits(useapi)
    useapi.telegram.press_button(USER, video["message_id"], f"act:1080p:{source.id}")
    await useapi.wait_videos(USER, count=2)
    upscaled = await delivered(useapi, JobKind.UPSCALE)
    (sent,) = posts(useapi, "/videos/upscale")
    assert (sent["mediaGenerationId"], sent["resolution"]) == (source.media_id, "1080p")
    assert upscaled.options.resolution == "1080p" and credits(useapi) == before
    assert not any("Go ahead?" in text for text in useapi.texts(USER))


async def test_4k_shows_its_cost_and_waits_for_one_yes(useapi: BotHarness) -> None:
    video, source = await first_video(useapi)
    before = credits(useapi)
    useapi.telegram.press_button(USER, video["message_id"], f"act:4k:{source.id}")
    asked = await question(useapi, "Go ahead?")
    assert "50 Flow credits" in asked["text"]
    assert buttons(asked) == [f"yes:4k:{source.id}", f"no:{source.id}"]
    await asyncio.sleep(0.2)
    assert posts(useapi, "/videos/upscale") == []  # nothing sent before the yes
    useapi.telegram.press_button(USER, asked["message_id"], f"yes:4k:{source.id}")
    await useapi.wait_videos(USER, count=2)
    await delivered(useapi, JobKind.UPSCALE)
    (sent,) = posts(useapi, "/videos/upscale")
    assert sent["resolution"] == "4K"
    assert credits(useapi) == before - 50
    confirmed = useapi.telegram.message(USER, asked["message_id"])
    assert confirmed is not None and not (confirmed.get("reply_markup") or {}).get(
        "inline_keyboard")  # the yes is not there to press twice


async def test_saying_no_to_4k_makes_nothing(useapi: BotHarness) -> None:
    video, source = await first_video(useapi)
    useapi.telegram.press_button(USER, video["message_id"], f"act:4k:{source.id}")
    asked = await question(useapi, "Go ahead?")
    useapi.telegram.press_button(USER, asked["message_id"], f"no:{source.id}")
    await useapi.wait_text(USER, "nothing was made")
    assert posts(useapi, "/videos/upscale") == []
    assert len(await useapi.jobs_of(USER)) == 1


async def test_again_on_a_quality_model_asks_first_with_its_cost(start_bot: StartBot) -> None:
    bot = await start_bot(provider="useapi", useapi_email=DEFAULT_EMAIL,
                          useapi_video_model="veo-3.1-quality")
    video, source = await first_video(bot)
    bot.telegram.press_button(USER, video["message_id"], f"act:again:{source.id}")
    asked = await question(bot, "Go ahead?")
    assert "100 Flow credits" in asked["text"]
    bot.telegram.press_button(USER, asked["message_id"], f"yes:again:{source.id}")
    await bot.wait_videos(USER, count=2)
    again = await delivered(bot, JobKind.VIDEO, after=source.id)
    assert (again.parent_id, again.origin, again.prompt) == (source.id, "again", source.prompt)
    assert len(posts(bot, "/videos")) == 2


async def test_an_image_upscales_to_2k(useapi: BotHarness) -> None:
    useapi.telegram.send_text(USER, "/image a glass apple")
    photo = (await useapi.wait_photos(USER))[0]
    source = await delivered(useapi, JobKind.IMAGE)
    assert buttons(photo) == [f"animate:{source.id}", f"act:again:{source.id}",
                              f"act:2k:{source.id}"]
    useapi.telegram.press_button(USER, photo["message_id"], f"act:2k:{source.id}")
    await useapi.wait_photos(USER, count=2)
    upscaled = await delivered(useapi, JobKind.IMAGE_UPSCALE)
    (sent,) = posts(useapi, "/images/upscale")
    assert (sent["mediaGenerationId"], sent["resolution"]) == (source.media_id, "2k")
    assert upscaled.parent_id == source.id


async def test_a_source_useapi_no_longer_keeps_gets_a_sentence(useapi: BotHarness) -> None:
    video, source = await first_video(useapi)
    useapi.sim.config.media_retention = 0.0  # every clip made so far is past it
    useapi.telegram.press_button(USER, video["message_id"], f"act:1080p:{source.id}")
    await useapi.wait_text(USER, "no longer kept by the service")
    failed = await useapi.wait_job(USER, lambda j: j.kind is JobKind.UPSCALE
                                   and j.state is JobState.FAILED)
    assert failed.error_code == "source_expired"
    assert len(posts(useapi, "/videos/upscale")) == 1  # asked once, refused, not asked again


# Gemini Omni


@pytest.fixture
async def omni(start_bot: StartBot) -> BotHarness:
    bot: BotHarness = await start_bot(provider="gemini", gemini_video_model="gemini-omni-1.2-flash")
    return bot


async def test_omni_11_results_extend_but_do_not_upscale(start_bot: StartBot) -> None:
    bot = await start_bot(provider="gemini")
    video, job = await first_video(bot)
    assert buttons(video) == [f"act:again:{job.id}", f"act:extend:{job.id}"]


async def test_omni_extend_continues_the_interaction(omni: BotHarness) -> None:
    video, source = await first_video(omni)
    omni.telegram.press_button(USER, video["message_id"], f"act:extend:{source.id}")
    asked = await question(omni, "How should video")
    omni.telegram.send_text(USER, "a storm rises", reply_to=asked["message_id"])
    await omni.wait_videos(USER, count=2)
    extension = await delivered(omni, JobKind.EXTEND)
    first, follow = omni.sim.interactions()
    assert (follow.request.task, follow.request.prompt) == ("extend", "a storm rises")
    assert follow.request.previous_interaction_id == first.id
    assert extension.parent_id == source.id


async def test_omni_4k_shows_googles_price_then_upscales(omni: BotHarness) -> None:
    video, source = await first_video(omni)
    omni.telegram.press_button(USER, video["message_id"], f"act:4k:{source.id}")
    asked = await question(omni, "Go ahead?")
    assert "11,584 output video tokens per second" in asked["text"]
    assert len(omni.sim.interactions()) == 1
    omni.telegram.press_button(USER, asked["message_id"], f"yes:4k:{source.id}")
    await omni.wait_videos(USER, count=2)
    await delivered(omni, JobKind.UPSCALE)
    follow = omni.sim.interactions()[1]
    assert (follow.request.task, follow.request.resolution) == ("upscale", "4k")


async def test_an_omni_result_past_48_hours_is_refused_before_any_request(
        omni: BotHarness) -> None:
    video, source = await first_video(omni)
    await omni.engine.jobs.update(source, finished_at=source.created_at - 49 * 3600)
    omni.telegram.press_button(USER, video["message_id"], f"act:extend:{source.id}")
    await asyncio.sleep(0.3)
    answers = omni.telegram.answered_callbacks
    assert answers and "too old" in answers[-1]["text"]
    assert len(omni.sim.interactions()) == 1 and len(await omni.jobs_of(USER)) == 1


# results over Telegram's limit (a 4K video)


async def test_a_4k_result_over_the_limit_comes_as_useapis_link(start_bot: StartBot) -> None:
    bot = await start_bot(provider="useapi", useapi_email=DEFAULT_EMAIL)
    video, source = await first_video(bot)
    await bot.stop()
    bot = await start_bot(provider="useapi", useapi_email=DEFAULT_EMAIL, max_upload_mb=0.001)
    bot.telegram.press_button(USER, video["message_id"], f"act:4k:{source.id}")
    asked = await question(bot, "Go ahead?")
    bot.telegram.press_button(USER, asked["message_id"], f"yes:4k:{source.id}")
    said = await bot.wait_text(USER, "Download it here")
    assert "50 MB" in said and "self-hosted Bot API server" in said
    job = await delivered(bot, JobKind.UPSCALE)
    assert job.error_code == "too_large" and job.result_url and job.result_url in said
    assert len(bot.videos(USER)) == 1  # only the first clip was uploaded


async def test_a_4k_omni_result_over_the_limit_names_the_way_to_lift_it(
        start_bot: StartBot) -> None:
    model = {"provider": "gemini", "gemini_video_model": "gemini-omni-1.2-flash"}
    bot = await start_bot(**model)
    video, source = await first_video(bot)
    await bot.stop()
    bot = await start_bot(**model, max_upload_mb=0.001)
    bot.telegram.press_button(USER, video["message_id"], f"act:4k:{source.id}")
    asked = await question(bot, "Go ahead?")
    bot.telegram.press_button(USER, asked["message_id"], f"yes:4k:{source.id}")
    said = await bot.wait_text(USER, "self-hosted Bot API server")
    assert "TELEGRAM_API_URL" in said
    failed = await bot.wait_job(USER, lambda j: j.kind is JobKind.UPSCALE
                                and j.state is JobState.FAILED)
    assert failed.error_code == "too_large"


async def test_again_and_1080p_on_omni_12(omni: BotHarness) -> None:
    video, source = await first_video(omni)
    omni.telegram.press_button(USER, video["message_id"], f"act:again:{source.id}")
    await omni.wait_videos(USER, count=2)
    again = await delivered(omni, JobKind.VIDEO, after=source.id)
    omni.telegram.press_button(USER, video["message_id"], f"act:1080p:{source.id}")
    await omni.wait_videos(USER, count=3)
    await delivered(omni, JobKind.UPSCALE)
    first, second, third = omni.sim.interactions()
    assert second.request.prompt == first.request.prompt
    assert second.request.task == first.request.task
    assert (third.request.task, third.request.resolution) == ("upscale", "1080p")
    assert third.request.previous_interaction_id == first.id
    assert again.origin == "again" and not any("Go ahead?" in t for t in omni.texts(USER))


async def test_a_1080p_omni_result_offers_no_upscale(omni: BotHarness) -> None:
    """Google upscales 720p to 1080p or 4K, 360p to 720p or 1080p, and nothing from 1080p."""
    omni.telegram.send_text(USER, "/video a heron fishing --res 1080p")
    video = (await omni.wait_videos(USER))[0]
    job = await delivered(omni, JobKind.VIDEO)
    assert buttons(video) == [f"act:again:{job.id}", f"act:extend:{job.id}"]


async def test_again_on_a_gemini_image(start_bot: StartBot) -> None:
    bot = await start_bot(provider="gemini")
    bot.telegram.send_text(USER, "/image a paper crane")
    photo = (await bot.wait_photos(USER))[0]
    source = await delivered(bot, JobKind.IMAGE)
    assert buttons(photo) == [f"animate:{source.id}", f"act:again:{source.id}"]
    bot.telegram.press_button(USER, photo["message_id"], f"act:again:{source.id}")
    await bot.wait_photos(USER, count=2)
    again = await delivered(bot, JobKind.IMAGE, after=source.id)
    assert (again.prompt, again.parent_id) == ("a paper crane", source.id)
    assert again.options.seed is not None  # Gemini image models take a seed


async def test_extends_question_is_answered_after_a_restart(start_bot: StartBot) -> None:
    bot = await start_bot(provider="useapi", useapi_email=DEFAULT_EMAIL)
    video, source = await first_video(bot)
    bot.telegram.press_button(USER, video["message_id"], f"act:extend:{source.id}")
    asked = await question(bot, "How should video")
    await bot.stop()
    bot = await start_bot(provider="useapi", useapi_email=DEFAULT_EMAIL)
    bot.telegram.send_text(USER, "the sun sets", reply_to=asked["message_id"])
    await bot.wait_videos(USER, count=2)
    extension = await delivered(bot, JobKind.EXTEND)
    assert (extension.parent_id, extension.prompt) == (source.id, "the sun sets")
    assert len(posts(bot, "/videos/extend")) == 1
