"""End to end: bad input, access control, /status and /cancel."""

from __future__ import annotations

import pytest

from bot.jobs.model import JobState
from tests.conftest import ADMIN, OTHER_USER, STRANGER, USER, StartBot
from tests.harness import BotHarness


async def _answer(bot: BotHarness, user: int, text: str, **kwargs: object) -> str:
    before = len(bot.texts(user))
    bot.telegram.send_text(user, text, **kwargs)  # type: ignore[arg-type]
    await bot.telegram.wait_for(lambda: len(bot.texts(user)) > before)
    return bot.texts(user)[-1]


def _upstream_requests(bot: BotHarness) -> int:
    return len(bot.sim.log)


@pytest.mark.parametrize(("command", "expected"), [
    ("/image", "Tell me what to draw"),
    ("/image    ", "Tell me what to draw"),
    ("/video", "Tell me what to film"),
    ("/animate walks", "Reply to an image or a photo with /animate"),
    ("/frobnicate", "I don't know that command"),
])
async def test_bad_input_gets_one_sentence_and_no_upstream_call(
        bot: BotHarness, command: str, expected: str) -> None:
    assert expected in await _answer(bot, USER, command)
    assert _upstream_requests(bot) == 0
    assert await bot.jobs_of(USER) == []


async def test_prompt_over_the_limit_is_refused(start_bot: StartBot) -> None:
    bot = await start_bot(prompt_max_chars=20)
    answer = await _answer(bot, USER, "/video " + "x" * 21)
    assert "21 characters; the limit is 20" in answer
    assert _upstream_requests(bot) == 0


async def test_animate_replying_to_a_text_message(bot: BotHarness) -> None:
    text = bot.telegram.send_text(USER, "just some words")
    answer = await _answer(bot, USER, "/animate walks", reply_to=text["message_id"])
    assert "no image I can use" in answer
    assert _upstream_requests(bot) == 0


async def test_animate_with_reply_but_no_prompt_shows_usage(bot: BotHarness) -> None:
    text = bot.telegram.send_text(USER, "just some words")
    answer = await _answer(bot, USER, "/animate", reply_to=text["message_id"])
    assert "Reply to an image or a photo" in answer


async def test_stranger_is_refused_with_their_id_and_nothing_upstream(bot: BotHarness) -> None:
    for command in ("/start", "/video a dog surfing", "/image a cat", "/status"):
        answer = await _answer(bot, STRANGER, command)
        assert "private" in answer and str(STRANGER) in answer
    assert _upstream_requests(bot) == 0
    assert await bot.jobs_of(STRANGER) == []


async def test_admins_are_always_allowed(bot: BotHarness) -> None:
    bot.telegram.send_text(ADMIN, "/video admin video")
    await bot.wait_videos(ADMIN)


async def test_status_lists_state_age_and_failure_reason(bot: BotHarness) -> None:
    bot.telegram.send_text(USER, "/video a happy dog")
    await bot.wait_videos(USER)
    bot.telegram.send_text(USER, "/video FORCE_FAIL please")
    await bot.wait_job(USER, lambda j: j.state is JobState.FAILED)
    answer = await _answer(bot, USER, "/status")
    lines = answer.splitlines()
    assert lines[0] == "Your last jobs:"
    assert "video · failed" in lines[1] and "FORCE_FAIL please" in lines[1]
    assert "Video generation failed" in lines[2]
    assert "video · delivered" in lines[3] and "ago" in lines[3] and "a happy dog" in lines[3]


async def test_status_shortens_long_prompts_and_shows_only_own_jobs(bot: BotHarness) -> None:
    bot.telegram.send_text(OTHER_USER, "/video someone else's video")
    await bot.wait_videos(OTHER_USER)
    bot.telegram.send_text(USER, "/video " + "a very long prompt " * 5)
    await bot.wait_videos(USER)
    answer = await _answer(bot, USER, "/status")
    assert "…" in answer and "someone else" not in answer


async def test_status_with_no_jobs(bot: BotHarness) -> None:
    assert "no jobs yet" in await _answer(bot, USER, "/status")


async def test_cancel_a_rendering_job(bot: BotHarness) -> None:
    bot.sim.config.latency = 30
    bot.telegram.send_text(USER, "/video a long one")
    job = await bot.wait_job(USER, lambda j: j.state is JobState.RENDERING)
    assert f"Job #{job.id} is cancelled" in await _answer(bot, USER, f"/cancel {job.id}")
    cancelled = (await bot.jobs_of(USER))[-1]
    assert cancelled.state is JobState.CANCELLED
    assert "has already ended (cancelled)" in await _answer(bot, USER, f"/cancel {job.id}")


async def test_cannot_cancel_someone_elses_job(bot: BotHarness) -> None:
    bot.sim.config.latency = 30
    bot.telegram.send_text(OTHER_USER, "/video theirs")
    job = await bot.wait_job(OTHER_USER, lambda j: j.state is JobState.RENDERING)
    assert f"no job #{job.id}" in await _answer(bot, USER, f"/cancel {job.id}")
    assert (await bot.jobs_of(OTHER_USER))[-1].state is JobState.RENDERING


async def test_cancel_usage(bot: BotHarness) -> None:
    assert "Which job?" in await _answer(bot, USER, "/cancel")
    assert "Which job?" in await _answer(bot, USER, "/cancel abc")


async def test_per_user_limit_queues_the_rest_in_order(start_bot: StartBot) -> None:
    bot = await start_bot(max_jobs_per_user=1)
    bot.sim.config.latency = 0.5
    for prompt in ("first", "second", "third"):
        bot.telegram.send_text(USER, f"/video {prompt}")
    await bot.wait_videos(USER, count=3)
    creates = [e for e in bot.sim.log if e.path.endswith("/create-video-veo3")]
    prompts = [e.body["body_json"]["requests"][0]["textInput"]["prompt"] for e in creates]
    assert prompts == ["first", "second", "third"]
    polls = [e for e in bot.sim.log if "batchCheckAsync" in e.path]
    assert max(e.ops for e in polls) == 1  # never two of this user's jobs rendering at once


async def test_seed_reaches_the_flow_body(bot: BotHarness) -> None:
    bot.telegram.send_text(USER, "/video a seeded dog --seed 4242")
    await bot.wait_videos(USER)
    create = next(e.body for e in bot.sim.log if e.path.endswith("create-video-veo3"))
    assert create["body_json"]["requests"][0]["seed"] == 4242
    assert create["body_json"]["requests"][0]["textInput"]["prompt"] == "a seeded dog"


async def test_options_flow_cannot_honour_get_a_sentence(bot: BotHarness) -> None:
    answer = await _answer(bot, USER, "/video a dog --neg cats --res 1080p")
    assert "can't honour --neg, --res" in answer
    assert "360p, 720p, 1080p or 4k" in await _answer(bot, USER, "/video a dog --res 8k")
    assert _upstream_requests(bot) == 0
