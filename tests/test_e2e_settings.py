"""End to end, /settings: one message edited in place by its taps, and each saved default in the
next job's upstream request (useapi.net's POST /videos body, Omni's interaction), unless the
command says otherwise or the provider cannot make it; the defaults survive a restart."""

from __future__ import annotations

from typing import Any

import pytest

from bot.jobs.model import JobState
from bot.sim.interactions import InteractionRecord
from tests.conftest import OTHER_USER, USER, StartBot
from tests.harness import BotHarness

VIDEOS = "/v1/google-flow/videos"
GROUP = -100777
TITLE = "Your defaults"


async def _open(bot: BotHarness, user: int = USER, *, chat_id: int | None = None,
                language: str = "en") -> dict[str, Any]:
    """Send /settings; return the bot's answer (the live message: later edits show in it)."""
    chat = user if chat_id is None else chat_id
    before = len(bot.telegram.bot_messages(chat))
    bot.telegram.send_text(user, "/settings", chat_id=chat_id, language_code=language,
                           chat_type="private" if chat_id is None else "group")
    await bot.telegram.wait_for(lambda: len(bot.telegram.bot_messages(chat)) > before)
    message: dict[str, Any] = bot.telegram.bot_messages(chat)[-1]
    return message


def _button(message: dict[str, Any], label: str) -> str:
    buttons = [button for row in message["reply_markup"]["inline_keyboard"] for button in row]
    for button in buttons:
        # "✓ veo-3.1-lite · 10 credits (default)": the model's name is the label
        name = button["text"].removeprefix("✓ ").split(" · ")[0].removesuffix(" (default)")
        if label in (button["text"].removeprefix("✓ "), name):
            return str(button["callback_data"])
    raise AssertionError(f"no button {label!r} among {[b['text'] for b in buttons]}")


async def _tap(bot: BotHarness, message: dict[str, Any], *labels: str, user: int = USER) -> str:
    """Press each button in turn, each once the bot answered and edited the message for the
    previous one; return the message's text."""
    chat = message["chat"]["id"]
    for label in labels:
        edits, answers = len(message["_edits"]), len(bot.telegram.answered_callbacks)
        bot.telegram.press_button(user, message["message_id"], _button(message, label),
                                  chat_id=chat)

        def handled(edits: int = edits, answers: int = answers) -> bool:
            return (len(message["_edits"]) > edits
                    and len(bot.telegram.answered_callbacks) > answers)

        await bot.telegram.wait_for(handled)
    return str(message["text"])


async def _said(bot: BotHarness, text: str, *, language: str = "en") -> str:
    """What the bot answered `text` in the user's chat."""
    before = len(bot.telegram.bot_messages(USER))
    bot.telegram.send_text(USER, text, language_code=language)
    await bot.telegram.wait_for(lambda: len(bot.telegram.bot_messages(USER)) > before)
    return str(bot.telegram.bot_messages(USER)[-1]["text"])


async def _useapi_video(bot: BotHarness, command: str) -> dict[str, Any]:
    """Send the command; the POST /videos body of the job it made, once delivered."""
    count = len(bot.videos(USER)) + 1
    bot.telegram.send_text(USER, command)
    await bot.wait_videos(USER, count)
    body: dict[str, Any] = [e.body for e in bot.sim.log
                            if e.path == VIDEOS and e.method == "POST"][-1]
    return body


async def _omni_video(bot: BotHarness, command: str) -> InteractionRecord:
    count = len(bot.videos(USER)) + 1
    bot.telegram.send_text(USER, command)
    await bot.wait_videos(USER, count)
    record: InteractionRecord = bot.sim.interactions()[-1]
    return record


@pytest.fixture
async def useapi(start_bot: StartBot) -> BotHarness:
    bot: BotHarness = await start_bot(provider="useapi")
    return bot


async def test_settings_shows_the_values_and_every_tap_edits_that_one_message(
        useapi: BotHarness) -> None:
    message = await _open(useapi)
    assert message["text"].splitlines() == [
        "⚙️ Your defaults: new jobs use them unless the command says otherwise.",
        "Aspect: default (16:9)", "Video model: default (veo-3.1-fast)",
        "Duration: default (the model's own)", "Language: from Telegram (English)"]
    assert "Choose the aspect" in await _tap(useapi, message, "📐 Aspect")
    assert "Aspect: 9:16" in await _tap(useapi, message, "9:16")
    await _tap(useapi, message, "🎞 Model", "veo-3.1-lite", "⏱ Duration", "6 s")
    assert len(useapi.telegram.bot_messages(USER)) == 1  # no new message per tap
    edits = useapi.telegram.calls("editMessageText")
    assert len(edits) == 6 and {e["message_id"] for e in edits} == {message["message_id"]}
    answers = useapi.telegram.answered_callbacks
    assert len(answers) == 6 and [a.get("text") for a in answers].count("Saved.") == 3
    again = await _open(useapi)
    assert again["text"].splitlines()[1:4] == ["Aspect: 9:16", "Video model: veo-3.1-lite",
                                               "Duration: 6 s"]
    assert "Reset all" in str(again["reply_markup"])
    assert "Aspect: default (16:9)" in await _tap(useapi, again, "↺ Reset all")


async def test_a_saved_aspect_goes_into_the_next_video(useapi: BotHarness) -> None:
    await _tap(useapi, await _open(useapi), "📐 Aspect", "9:16")
    assert (await _useapi_video(useapi, "/video a dog surfing"))["aspectRatio"] == "portrait"
    await _tap(useapi, await _open(useapi), "📐 Aspect", "1:1")
    assert (await _useapi_video(useapi, "/video a cat"))["aspectRatio"] == "1:1"


async def test_a_saved_model_goes_into_the_next_video(useapi: BotHarness) -> None:
    await _tap(useapi, await _open(useapi), "🎞 Model", "veo-3.1-lite")
    sent = await _useapi_video(useapi, "/video a dog surfing")
    assert sent["model"] == "veo-3.1-lite"
    job = await useapi.wait_job(USER, lambda j: j.state is JobState.DELIVERED)
    assert job.model == "veo-3.1-lite"
    useapi.telegram.send_text(USER, "/image a cat")  # images keep the image model
    await useapi.wait_photos(USER)
    image = [e.body for e in useapi.sim.log if e.path.endswith("/images")][-1]
    assert image["model"] == "nano-banana-pro"


async def test_a_saved_duration_goes_into_the_next_video(useapi: BotHarness) -> None:
    await _tap(useapi, await _open(useapi), "⏱ Duration", "6 s")
    assert (await _useapi_video(useapi, "/video a dog"))["duration"] == 6


async def test_a_commands_own_aspect_and_options_beat_the_saved_ones(useapi: BotHarness) -> None:
    await _tap(useapi, await _open(useapi), "📐 Aspect", "9:16", "⏱ Duration", "6 s")
    sent = await _useapi_video(useapi, "/video 16:9 a dog --dur 8 --seed 7")
    assert (sent["aspectRatio"], sent["duration"], sent["seed"]) == ("landscape", 8, 7)


async def test_saved_resolution_duration_and_aspect_reach_omni(start_bot: StartBot) -> None:
    bot = await start_bot(provider="gemini")
    message = await _open(bot)
    assert "Resolution: default (the model's own)" in message["text"]
    assert "1:1" not in str(await _tap(bot, message, "📐 Aspect"))  # Omni: 16:9 and 9:16
    await _tap(bot, message, "9:16", "🖥 Resolution", "1080p", "⏱ Duration", "5 s")
    wanted = (await _omni_video(bot, "/video a dog surfing")).request
    assert (wanted.aspect_ratio, wanted.resolution, wanted.duration) == ("9:16", "1080p", "5s")


async def test_a_saved_omni_model_is_the_next_interactions_model(start_bot: StartBot) -> None:
    bot = await start_bot(provider="gemini")
    await _tap(bot, await _open(bot), "🎞 Model", "gemini-omni-1.2-flash")
    wanted = (await _omni_video(bot, "/video a dog surfing")).request
    assert wanted.model == "gemini-omni-1.2-flash"
    job = await bot.wait_job(USER, lambda j: j.state is JobState.DELIVERED)
    assert job.model == "gemini-omni-1.2-flash"


async def test_a_saved_language_wins_over_telegrams(start_bot: StartBot) -> None:
    bot = await start_bot()
    message = await _open(bot)
    assert "Mặc định của bạn" in await _tap(bot, message, "🌐 Language", "Tiếng Việt")
    assert await _said(bot, "/status") == "Bạn chưa có việc nào. Thử /image một chú mèo dễ thương"
    bot.telegram.send_text(USER, "/video a dog")
    await bot.wait_text(USER, "xong sau")  # the job's own messages too
    await _tap(bot, message, "🌐 Ngôn ngữ", "Theo Telegram")
    assert "Language: from Telegram (English)" in message["text"]
    assert "Your last jobs" in await _said(bot, "/status")


async def test_settings_survive_a_restart(start_bot: StartBot) -> None:
    bot = await start_bot(provider="useapi")
    await _tap(bot, await _open(bot), "📐 Aspect", "9:16", "🌐 Language", "Tiếng Việt")
    await bot.stop()
    revived = await start_bot(provider="useapi")
    shown = (await _open(revived))["text"]
    assert "Tỉ lệ khung hình: 9:16" in shown and "Ngôn ngữ: Tiếng Việt" in shown
    assert (await _useapi_video(revived, "/video a dog"))["aspectRatio"] == "portrait"


async def test_what_another_provider_cannot_make_is_shown_and_ignored(
        start_bot: StartBot) -> None:
    bot = await start_bot(provider="useapi")
    await _tap(bot, await _open(bot), "📐 Aspect", "1:1", "🎞 Model", "veo-3.1-lite",
               "⏱ Duration", "4 s")
    await bot.stop()
    gemini = await start_bot(provider="gemini")
    shown = (await _open(gemini))["text"]
    assert "Aspect: 1:1 (not available here, so 16:9 is used)" in shown
    assert ("Video model: veo-3.1-lite (not available here, so gemini-omni-1.1-flash is used)"
            in shown)
    assert "Duration: 4 s" in shown  # Omni makes 3 to 10 s
    wanted = (await _omni_video(gemini, "/video a dog")).request
    assert (wanted.model, wanted.aspect_ratio, wanted.duration) == (
        "gemini-omni-1.1-flash", "16:9", "4s")
    assert not any("honour" in text for text in gemini.texts(USER))


async def test_a_saved_default_never_causes_a_refusal(start_bot: StartBot) -> None:
    """Flow takes no duration and has no model choice: the saved ones are left out."""
    bot = await start_bot(provider="useapi")
    await _tap(bot, await _open(bot), "⏱ Duration", "6 s", "📐 Aspect", "9:16")
    await bot.stop()
    flow = await start_bot()
    message = await _open(flow)
    assert "Duration: 6 s (not available here" in message["text"]
    assert "Model" not in str(message["reply_markup"]) and "Duration" not in str(
        message["reply_markup"])
    flow.telegram.send_text(USER, "/video a dog")
    await flow.wait_videos(USER)
    assert not any("honour" in text for text in flow.texts(USER))
    [create] = [e.body for e in flow.sim.log if e.path.endswith("/create-video-veo3")]
    assert create["body_json"]["requests"][0]["videoModelKey"] == "veo_3_1_t2v_fast_portrait"


async def test_in_a_group_only_the_owner_can_change_their_settings(useapi: BotHarness) -> None:
    message = await _open(useapi, chat_id=GROUP)
    data = _button(message, "📐 Aspect")
    useapi.telegram.press_button(OTHER_USER, message["message_id"], data, chat_id=GROUP)
    await useapi.telegram.wait_for(lambda: useapi.telegram.answered_callbacks)
    [refusal] = useapi.telegram.answered_callbacks
    assert "someone else's settings" in refusal["text"] and refusal.get("show_alert") is True
    assert message["_edits"] == []
    assert "Choose the aspect" in await _tap(useapi, message, "📐 Aspect")
