"""The rate limiter over real HTTP: every call of the real bot goes through it with its priority,
command replies are spaced, and a 429 from the fake Bot API is waited out, upload and all."""

from __future__ import annotations

import io
import itertools
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from telegram import InputFile
from telegram.ext import ExtBot

from bot.sim.telegram import FakeTelegram
from bot.telegram.pacing import Priority, RetryRule, TelegramPacer
from tests.conftest import USER, StartBot
from tests.harness import BotHarness

Seen = list[tuple[str, Any, Priority | None]]


@pytest.fixture
def seen(monkeypatch: pytest.MonkeyPatch) -> Seen:
    """(endpoint, chat_id, rate_limit_args) of each call that reaches the limiter."""
    calls: Seen = []
    original = TelegramPacer.process_request

    async def spy(self: TelegramPacer, callback: Any, args: Any, kwargs: dict[str, Any],
                  endpoint: str, data: dict[str, Any], rate_limit_args: Priority | None) -> Any:
        calls.append((endpoint, data.get("chat_id"), rate_limit_args))
        return await original(self, callback, args, kwargs, endpoint, data, rate_limit_args)

    monkeypatch.setattr(TelegramPacer, "process_request", spy)
    return calls


async def test_every_call_of_the_bot_goes_through_the_limiter_with_its_priority(
        bot: BotHarness, seen: Seen) -> None:
    bot.telegram.send_text(USER, "/help")
    await bot.wait_text(USER, "/video")
    assert ("sendMessage", USER, None) in seen  # a command reply: REPLY by default
    bot.telegram.send_text(USER, "/video a cat walks")
    await bot.wait_videos(USER)
    assert ("sendMessage", USER, Priority.PROGRESS) in seen
    assert ("sendVideo", USER, Priority.DELIVERY) in seen
    assert all(endpoint != "getUpdates" for endpoint, _, _ in seen)


async def test_command_replies_in_one_chat_are_spaced(start_bot: StartBot) -> None:
    bot = await start_bot(telegram_chat_interval=0.3)
    for _ in range(3):
        bot.telegram.send_text(USER, "/help")
    await bot.telegram.wait_for(lambda: len(bot.texts(USER)) == 3)
    stamps = [at for (method, _), at in zip(bot.telegram.requests, bot.telegram.request_times,
                                            strict=True) if method == "sendMessage"]
    assert min(b - a for a, b in itertools.pairwise(stamps)) >= 0.3 - 0.01


@pytest.fixture
async def flooding() -> AsyncIterator[FakeTelegram]:
    fake = FakeTelegram(flood_limits=True)
    await fake.start()
    yield fake
    await fake.stop()


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_a_flood_wait_is_waited_out_and_the_whole_video_sent_again(
        flooding: FakeTelegram) -> None:
    limiter = TelegramPacer(chat_interval=0, global_rate=1000,
                            retry=RetryRule(flood_jitter=0.05))
    flooding.send_text(USER, "hello")
    payload = bytes(range(256)) * 400
    async with ExtBot(flooding.token, base_url=f"{flooding.url}/bot",
                      rate_limiter=limiter) as client:
        for index in range(3):  # the chat's burst
            await client.send_message(USER, f"burst {index}")
        started = time.monotonic()
        video = InputFile(io.BytesIO(payload), filename="v.mp4", read_file_handle=False)
        await client.send_video(USER, video, rate_limit_args=Priority.DELIVERY)
    assert flooding.flood_429 == 1
    assert time.monotonic() - started >= 1.0  # the fake asked for retry_after=1
    assert flooding.bot_messages(USER)[-1]["_file"] == payload
