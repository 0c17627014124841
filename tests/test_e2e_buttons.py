"""The buttons under a delivered result, end to end: the real bot against the fake Telegram and the
flow simulator (which offers Again only). Extend and upscale on the providers that have them are
in tests/test_e2e_actions.py."""

from __future__ import annotations

import asyncio
from typing import Any

from bot.jobs.model import Action, Job, JobKind, JobState
from bot.telegram import keyboards
from tests.conftest import ADMIN, OTHER_USER, USER
from tests.harness import BotHarness

GROUP = -100777


def _buttons(message: dict[str, Any]) -> list[str]:
    markup = message.get("reply_markup") or message["_params"].get("reply_markup") or {}
    return [button["callback_data"] for row in markup.get("inline_keyboard", []) for button in row]


def _seeds(bot: BotHarness, path: str) -> list[int]:
    return [_find(entry.body, "seed") for entry in bot.sim.log if entry.path.endswith(path)]


def _find(body: Any, key: str) -> Any:
    """The first value of `key` anywhere in a JSON body."""
    if isinstance(body, dict):
        if key in body:
            return body[key]
        found = [_find(value, key) for value in body.values()]
    elif isinstance(body, list):
        found = [_find(value, key) for value in body]
    else:
        return None
    return next((value for value in found if value is not None), None)


async def _answers(bot: BotHarness, count: int) -> list[dict[str, Any]]:
    for _ in range(200):
        if len(bot.telegram.answered_callbacks) >= count:
            break
        await asyncio.sleep(0.02)
    return bot.telegram.answered_callbacks


async def _image(bot: BotHarness, prompt: str, *, chat_id: int = USER
                 ) -> tuple[dict[str, Any], Job]:
    """Make an image; its photo message and its delivered job."""
    if chat_id == USER:
        bot.telegram.send_text(USER, f"/image {prompt}")
    else:
        bot.telegram.send_text(USER, f"/image {prompt}", chat_id=chat_id, chat_type="group")
    photo = (await bot.wait_photos(chat_id))[0]
    return photo, await bot.wait_job(USER, lambda j: j.state is JobState.DELIVERED)


async def test_an_image_gets_animate_and_again_where_the_provider_offers_only_again(
        bot: BotHarness) -> None:
    photo, job = await _image(bot, "a cute cat")
    assert _buttons(photo) == [f"animate:{job.id}", f"act:again:{job.id}"]


async def test_again_makes_the_same_image_with_a_new_seed_linked_to_its_source(
        bot: BotHarness) -> None:
    photo, first = await _image(bot, "a red fox --seed 7")
    bot.telegram.press_button(USER, photo["message_id"], f"act:again:{first.id}")
    await bot.wait_photos(USER, count=2)
    again = await bot.wait_job(USER, lambda j: j.id != first.id and j.state is JobState.DELIVERED)
    assert (again.kind, again.prompt, again.parent_id, again.origin) == (
        JobKind.IMAGE, "a red fox", first.id, "again")
    seeds = _seeds(bot, "/create-image-veo3")
    assert seeds[0] == 7 and seeds[1] != 7 and isinstance(seeds[1], int)
    assert again.options.seed == seeds[1]
    bot.telegram.send_text(USER, "/status")
    await bot.wait_text(USER, f"again of #{first.id}")


async def test_a_double_tap_makes_one_job(bot: BotHarness) -> None:
    photo, first = await _image(bot, "a blue bird")
    for _ in range(2):  # both taps reach the bot before it handled either
        bot.telegram.press_button(USER, photo["message_id"], f"act:again:{first.id}")
    await bot.wait_photos(USER, count=2)
    await bot.wait_job(USER, lambda j: j.id != first.id and j.state is JobState.DELIVERED)
    answers = await _answers(bot, 2)
    assert bot.sim.count("create-image-veo3") == 2
    assert len(await bot.jobs_of(USER)) == 2
    assert sum("Already on it" in (a.get("text") or "") for a in answers) == 1


async def test_in_a_group_only_the_owner_or_an_admin_may_press_a_results_buttons(
        bot: BotHarness) -> None:
    photo, first = await _image(bot, "a green frog", chat_id=GROUP)
    bot.telegram.press_button(OTHER_USER, photo["message_id"], f"act:again:{first.id}",
                              chat_id=GROUP)
    answers = await _answers(bot, 1)
    assert answers[0]["show_alert"] is True
    assert "Only the person who made this" in answers[0]["text"]
    assert await bot.jobs_of(OTHER_USER) == []
    bot.telegram.press_button(ADMIN, photo["message_id"], f"act:again:{first.id}",
                              chat_id=GROUP)
    await bot.wait_photos(GROUP, count=2)
    made = await bot.wait_job(ADMIN, lambda j: j.state is JobState.DELIVERED)
    assert made.parent_id == first.id
    assert bot.sim.count("create-image-veo3") == 2


async def test_a_button_the_provider_does_not_offer_is_refused_without_a_request(
        bot: BotHarness) -> None:
    photo, first = await _image(bot, "a snail")
    bot.telegram.press_button(USER, photo["message_id"], f"act:2k:{first.id}")
    answers = await _answers(bot, 1)
    assert "cannot do that" in answers[0]["text"]
    assert len(await bot.jobs_of(USER)) == 1


async def test_a_video_from_flow_gets_again_only(bot: BotHarness) -> None:
    bot.telegram.send_text(USER, "/video waves at sunset")
    video = (await bot.wait_videos(USER))[0]
    job = await bot.wait_job(USER, lambda j: j.state is JobState.DELIVERED)
    assert _buttons(video) == [f"act:again:{job.id}"]


def test_callback_data_round_trips_and_fits_telegrams_limit() -> None:
    for action in Action:
        for verb in ("act", "yes"):
            data = f"{verb}:{action.value}:{10**17}"
            assert len(data.encode()) <= 64
            pressed = keyboards.parse(data)
            assert pressed is not None and pressed.action is action
            assert pressed.confirmed is (verb == "yes")
    assert keyboards.parse("act:delete:1") is None
    assert keyboards.parse("animate:1") is None


async def test_an_aspect_the_provider_does_not_make_is_refused_with_what_it_makes(
        bot: BotHarness) -> None:
    bot.telegram.send_text(USER, "/image 1:1 a round table")
    said = await bot.wait_text(USER, "does not make")
    assert said == "This provider does not make 1:1; it makes 16:9, 9:16."
    assert bot.sim.count("create-image-veo3") == 0


async def test_a_forged_button_naming_a_job_of_another_chat_is_refused(bot: BotHarness) -> None:
    """Callback data can be forged: another user's job number pressed in one's own chat makes
    nothing and shows nothing of that job."""
    _, theirs = await _image(bot, "a private drawing")
    bot.telegram.send_text(OTHER_USER, "/image my own thing")
    mine = (await bot.wait_photos(OTHER_USER))[0]
    for data in (f"act:again:{theirs.id}", f"animate:{theirs.id}"):
        bot.telegram.press_button(OTHER_USER, mine["message_id"], data)
    answers = await _answers(bot, 1)
    await asyncio.sleep(0.3)
    assert any("Only the person who made this" in (a.get("text") or "") for a in answers)
    assert not any("How should this image move" in text for text in bot.texts(OTHER_USER))
    assert [job.prompt for job in await bot.jobs_of(OTHER_USER)] == ["my own thing"]
    assert bot.sim.count("create-image-veo3") == 2
