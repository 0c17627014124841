"""End to end: the real bot's health canary against the simulators. A provider that turns bad in
the simulator (the useapi account's Google session breaks) is one admin message, not one per
tick; its recovery is one more; `/health` shows doctor's table to an admin and refuses the
others. Every check only reads: nothing but GETs reach the upstreams."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from bot.sim.useapi_state import DEFAULT_EMAIL
from tests.conftest import ADMIN, USER, StartBot
from tests.harness import BotHarness

TICK = 0.2
USEAPI: dict[str, Any] = {"provider": "useapi", "useapi_email": DEFAULT_EMAIL}


def runs(bot: BotHarness) -> int:
    """The canary's runs so far: each lists the useapi accounts once."""
    return sum(1 for entry in bot.sim.log if entry.path.endswith("/accounts"))


async def wait_runs(bot: BotHarness, count: int) -> None:
    """Until the canary has run `count` more times, and what it says is sent."""
    target = runs(bot) + count
    await bot.telegram.wait_for(lambda: runs(bot) >= target)
    await asyncio.sleep(TICK / 2)


def health_messages(bot: BotHarness) -> list[str]:
    return [text for text in bot.texts(ADMIN) if "health check" in text]


def only_reads(bot: BotHarness) -> None:
    assert {entry.method for entry in bot.sim.log} == {"GET"}


async def test_a_provider_down_is_one_message_and_its_recovery_one_more(
        start_bot: StartBot) -> None:
    bot = await start_bot(health_check_interval=TICK, **USEAPI)
    bot.telegram.send_text(ADMIN, "/start")  # a bot may write only to whom wrote to it
    await bot.wait_text(ADMIN, "/help")
    await wait_runs(bot, 1)
    assert health_messages(bot) == []
    bot.sim.useapi.disconnect()
    down = await bot.wait_text(ADMIN, "just failed")
    assert f"✗ useapi: account: {DEFAULT_EMAIL}: Session expired" in down
    assert f"→ reconnect {DEFAULT_EMAIL} on useapi.net" in down
    await wait_runs(bot, 3)  # still down: nothing more said
    assert len(health_messages(bot)) == 1
    bot.sim.useapi.accounts[DEFAULT_EMAIL].health = "OK"  # reconnected
    recovered = await bot.wait_text(ADMIN, "recovered")
    assert f"✓ useapi: account: {DEFAULT_EMAIL} is attached and healthy" in recovered
    await wait_runs(bot, 3)
    assert len(health_messages(bot)) == 2
    assert bot.texts(USER) == []
    only_reads(bot)


async def test_the_start_up_failures_are_logged_once_and_told_once(
        start_bot: StartBot, caplog: pytest.LogCaptureFixture) -> None:
    bot = await start_bot(**USEAPI)  # the canary off: only makes the admin's chat known
    bot.sim.useapi.disconnect()
    bot.telegram.send_text(ADMIN, "/start")
    await bot.wait_text(ADMIN, "/help")
    await bot.stop()
    bot = await start_bot(health_check_interval=TICK, **USEAPI)
    told = await bot.wait_text(ADMIN, "At start-up")
    assert "✗ useapi: account" in told
    await wait_runs(bot, 3)
    assert len([t for t in health_messages(bot) if "At start-up" in t]) == 1
    failures = [r.getMessage() for r in caplog.records if "health check failed" in r.getMessage()]
    assert failures and all("useapi: account" in line for line in failures)
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert bot.settings.useapi_token is not None
    assert bot.settings.useapi_token.get_secret_value() not in logged
    only_reads(bot)


async def test_health_shows_the_table_to_an_admin(start_bot: StartBot) -> None:
    bot = await start_bot(**USEAPI)  # the canary off: /health runs the checks itself
    bot.sim.useapi.disconnect()
    bot.telegram.send_text(ADMIN, "/health")
    table = await bot.wait_text(ADMIN, "Health checks")
    assert "✓ TELEGRAM_BOT_TOKEN: set" in table
    assert "✓ useapi: token" in table
    assert f"✗ useapi: account: {DEFAULT_EMAIL}" in table
    assert f"    → reconnect {DEFAULT_EMAIL} on useapi.net" in table
    assert table.endswith("checks failed.")
    assert bot.settings.useapi_token is not None
    assert bot.settings.useapi_token.get_secret_value() not in table
    only_reads(bot)


async def test_health_in_vietnamese(start_bot: StartBot) -> None:
    bot = await start_bot(**USEAPI)
    bot.telegram.send_text(ADMIN, "/health", language_code="vi")
    table = await bot.wait_text(ADMIN, "Kiểm tra sức khoẻ")
    assert "mục kiểm tra đều đạt" in table


async def test_health_is_refused_to_a_user(start_bot: StartBot) -> None:
    bot = await start_bot(**USEAPI)
    bot.telegram.send_text(USER, "/health")
    await bot.wait_text(USER, "Only the bot's admins can do that.")
    assert bot.sim.log == []


async def test_an_admin_who_chose_vietnamese_is_told_in_vietnamese(start_bot: StartBot) -> None:
    bot = await start_bot(health_check_interval=TICK, **USEAPI)
    bot.telegram.send_text(ADMIN, "/settings")
    await bot.wait_text(ADMIN, "Language")
    await _choose_vietnamese(bot)
    bot.sim.useapi.disconnect()
    down = await bot.wait_text(ADMIN, "vừa không đạt")
    assert f"✗ useapi: account: {DEFAULT_EMAIL}" in down


async def _choose_vietnamese(bot: BotHarness) -> None:
    """/settings → Language → Tiếng Việt, each tap once the message shows the previous one."""
    for label in ("🌐 Language", "Tiếng Việt"):
        message = next(m for m in reversed(bot.telegram.bot_messages(ADMIN))
                       if m.get("reply_markup"))
        data = next(button["callback_data"] for row in message["reply_markup"]["inline_keyboard"]
                    for button in row if button["text"].removeprefix("✓ ") == label)
        before, shown = message.get("text"), message["message_id"]
        bot.telegram.press_button(ADMIN, shown, data)

        def edited(shown: int = shown, before: Any = before) -> bool:
            now = bot.telegram.message(ADMIN, shown)
            return now is not None and now.get("text") != before

        await bot.telegram.wait_for(edited)
