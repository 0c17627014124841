"""Fixtures: the Flow simulator, the fake Bot API and the real bot wired to both over loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.config import Settings
from bot.sim.config import SimConfig
from bot.sim.server import FlowSimulator
from bot.sim.telegram import FakeTelegram
from tests.harness import BotHarness

USER = 1001
OTHER_USER = 1002
STRANGER = 666
ADMIN = 9001
BEARER = "ya29.test.bearer-token-0123456789abcd"
PROXY_TOKEN = "proxy-test-token-5678"
PROJECT = "0f1e2d3c-test-project"
GEMINI_KEY = "AIzaSy-test-gemini-key-0123456789abcd"
USEAPI_TOKEN = "user:4242-test-useapi-token-0123456789"


MakeSim = Callable[..., Awaitable[FlowSimulator]]


@pytest.fixture
async def make_sim() -> AsyncIterator[MakeSim]:
    """Start simulators with the given `SimConfig` fields; each is stopped after the test."""
    started: list[FlowSimulator] = []

    async def make(**config: Any) -> FlowSimulator:
        simulator = FlowSimulator(SimConfig(**config))
        await simulator.start()
        started.append(simulator)
        return simulator

    yield make
    for simulator in started:
        await simulator.stop()


@pytest.fixture
async def sim(make_sim: MakeSim) -> FlowSimulator:
    return await make_sim(latency=0.1, task_polls=1, bearer_token=BEARER,
                          proxy_token=PROXY_TOKEN, gemini_api_key=GEMINI_KEY,
                          useapi_token=USEAPI_TOKEN)


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    """A plain HTTP client, as a test calls a simulator with."""
    async with httpx.AsyncClient(timeout=10) as client:
        yield client


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegram]:
    fake = FakeTelegram()
    await fake.start()
    yield fake
    await fake.stop()


def make_settings(tmp_path: Path, sim: FlowSimulator, telegram: FakeTelegram,
                  **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "telegram_bot_token": telegram.token,
        "telegram_api_url": telegram.url,
        "flow_proxy_url": sim.proxy_url,
        "flow_api_url": sim.api_url,
        "flow_bearer_token": BEARER,
        "flow_proxy_token": PROXY_TOKEN,
        "flow_project_id": PROJECT,
        "gemini_api_key": GEMINI_KEY,
        "gemini_api_url": sim.base_url,
        "useapi_token": USEAPI_TOKEN,
        "useapi_url": sim.useapi_url,
        "flow_poll_interval": 0.05,
        "database_path": tmp_path / "bot.sqlite3",
        "allowed_user_ids": frozenset({USER, OTHER_USER}),
        "admin_user_ids": frozenset({ADMIN}),
        "progress_edit_interval": 0.1,
        "telegram_chat_interval": 0.0,
        "telegram_global_rate": 1000.0,
        "retry_base_delay": 0.01,
        "retry_max_seconds": 5.0,
        "render_timeout": 30.0,
        "submit_timeout": 10.0,
        "health_check_interval": 0.0,  # the canary's own tests turn it on
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


StartBot = Callable[..., Awaitable[BotHarness]]


@pytest.fixture
async def start_bot(tmp_path: Path, sim: FlowSimulator,
                    telegram: FakeTelegram) -> AsyncIterator[StartBot]:
    """Start the real bot (python-telegram-bot over HTTP); settings can be overridden."""
    started: list[BotHarness] = []

    async def start(**overrides: Any) -> BotHarness:
        harness = BotHarness(make_settings(tmp_path, sim, telegram, **overrides), telegram, sim)
        await harness.start()
        started.append(harness)
        return harness

    yield start
    for harness in started:
        await harness.stop()


@pytest.fixture
async def bot(start_bot: StartBot) -> BotHarness:
    return await start_bot()
