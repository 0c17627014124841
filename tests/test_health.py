"""`run_checks`, each check passing and failing, against the simulators over real HTTP.

Failures are made the way they happen: wrong tokens, an injected answer, a retired model, a
useapi account whose Google session broke, a webhook set elsewhere, a host that never answers.
Every run also shows that the checks only read: nothing but GETs reach the upstreams.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.health import CheckResult, load_settings, run_checks
from bot.sim.server import FlowSimulator
from bot.sim.telegram import FakeTelegram
from bot.sim.useapi_state import DEFAULT_EMAIL
from storage.accounts import OPERATOR, AccountStore, StoredAccount
from storage.crypto import SecretBox
from storage.db import MIGRATIONS, connect
from tests.conftest import BEARER, GEMINI_KEY, USEAPI_TOKEN, make_settings

WRONG_TELEGRAM = "654321:WRONG-bot-token-abcdefghijklmnopqrstuvwxyz"
WRONG_USEAPI = "user:9999-wrong-useapi-token-abcdef0123"
WRONG_KEY = "AIzaSy-wrong-gemini-key-abcdef0123456789"
WRONG_BEARER = "ya29.wrong.bearer-token-abcdef0123456789"


class Checks:
    """Runs the checks of one test's settings (conftest's, overridden) and indexes them."""

    def __init__(self, tmp_path: Path, sim: FlowSimulator, telegram: FakeTelegram) -> None:
        self.tmp_path, self.sim, self.telegram = tmp_path, sim, telegram
        self.results: list[CheckResult] = []

    async def __call__(self, *, liveness: bool = False, wait: float = 5.0,
                       **overrides: Any) -> dict[str, CheckResult]:
        settings = make_settings(self.tmp_path, self.sim, self.telegram, **overrides)
        async with httpx.AsyncClient(timeout=wait) as http:
            self.results = await run_checks(settings, http, liveness=liveness, wait=wait)
        names = [result.name for result in self.results]
        assert len(names) == len(set(names)), names
        return {result.name: result for result in self.results}

    def failures(self) -> list[str]:
        return [result.name for result in self.results if not result.ok]

    def text(self) -> str:
        return "\n".join(f"{r.name} {r.detail} {r.fix}" for r in self.results)


@pytest.fixture
def checks(tmp_path: Path, sim: FlowSimulator, telegram: FakeTelegram) -> Checks:
    return Checks(tmp_path, sim, telegram)


def only_reads(sim: FlowSimulator) -> None:
    """The checks sent GETs only: nothing generated, no credit spent."""
    assert sim.log, "nothing was asked"
    assert {entry.method for entry in sim.log} == {"GET"}, [
        (entry.method, entry.path) for entry in sim.log if entry.method != "GET"]


@contextlib.asynccontextmanager
async def silent_host() -> AsyncIterator[str]:
    """A host that takes connections and never answers."""
    held: list[asyncio.StreamWriter] = []

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        for writer in held:
            writer.close()
        server.close()
        await server.wait_closed()


def closed_port() -> str:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


# everything passes


EXPECTED = {
    "flow": ["flow: credentials", "flow: proxy", "flow: Google token"],
    "useapi": ["useapi: credentials", "useapi: token", "useapi: account",
               f"useapi: credits of {DEFAULT_EMAIL}", "useapi: image model",
               "useapi: video model"],
    "gemini": ["gemini: credentials", "gemini: API key", "gemini: image model",
               "gemini: video model"],
}
LOCAL = ["TELEGRAM_BOT_TOKEN", "users", "database", "Telegram: bot token", "Telegram: webhook"]


@pytest.mark.parametrize("provider", ["flow", "useapi", "gemini"])
async def test_a_working_deploy_passes_every_check_with_reads_only(
        checks: Checks, sim: FlowSimulator, provider: str) -> None:
    found = await checks(provider=provider)
    assert checks.failures() == [], checks.text()
    assert sorted(found) == sorted(LOCAL + EXPECTED[provider])
    only_reads(sim)
    assert sim.config.credits == 1000 and sim.useapi.accounts[DEFAULT_EMAIL].credits == 1000
    assert sim.interactions() == []


async def test_the_order_is_local_then_telegram_then_each_provider(checks: Checks) -> None:
    await checks(provider="useapi", fallback_provider="gemini")
    names = [result.name for result in checks.results]
    assert names[:6] == ["TELEGRAM_BOT_TOKEN", "users", "useapi: credentials",
                         "gemini: credentials", "database", "Telegram: bot token"]
    assert names.index("useapi: token") < names.index("gemini: API key")


async def test_agent_platform_veo_passes_by_the_publisher_model_look_up(
        checks: Checks, sim: FlowSimulator) -> None:
    found = await checks(provider="gemini", gemini_vertex=True, gemini_video_model="")
    assert checks.failures() == [], checks.text()
    assert "veo-3.1-fast-generate-001" in found["gemini: video model"].detail
    assert "Agent Platform" in found["gemini: video model"].detail
    assert sim.count("/publishers/google/models/veo-3.1-fast-generate-001", "GET") == 1


async def test_credits_and_tier_are_named(checks: Checks) -> None:
    found = await checks(provider="flow")
    assert found["flow: Google token"].detail.endswith("1000 credits, tier PAYGATE_TIER_TWO")


# settings and database


async def test_a_missing_token_and_access_lists_skip_telegram(checks: Checks,
                                                              telegram: FakeTelegram) -> None:
    found = await checks(telegram_bot_token=None, allowed_user_ids=frozenset(),
                         admin_user_ids=frozenset(), provider="gemini")
    assert checks.failures() == ["TELEGRAM_BOT_TOKEN", "users"]
    assert "@BotFather" in found["TELEGRAM_BOT_TOKEN"].fix
    assert "ADMIN_USER_IDS" in found["users"].fix
    assert "Telegram: bot token" not in found and telegram.requests == []


async def test_the_env_example_placeholder_is_not_a_token(checks: Checks) -> None:
    found = await checks(telegram_bot_token="123456789:replace-me-with-the-token-from-botfather",
                         provider="gemini")
    assert found["TELEGRAM_BOT_TOKEN"].detail == "still the .env.example placeholder"


@pytest.mark.parametrize(("provider", "unset", "named"), [
    ("useapi", {"useapi_token": None}, "USEAPI_TOKEN"),
    ("gemini", {"gemini_api_key": None}, "GEMINI_API_KEY"),
    ("flow", {"flow_proxy_token": None, "flow_project_id": ""},
     "FLOW_PROXY_TOKEN, FLOW_PROJECT_ID"),
])
async def test_missing_credentials_are_named_and_nothing_is_sent(
        checks: Checks, sim: FlowSimulator, provider: str, unset: dict[str, Any],
        named: str) -> None:
    found = await checks(provider=provider, **unset)
    assert checks.failures() == [f"{provider}: credentials"]
    assert found[f"{provider}: credentials"].detail.startswith(named)
    assert sim.log == []


async def test_a_database_of_this_version_is_current(checks: Checks, tmp_path: Path) -> None:
    db = await connect(tmp_path / "bot.sqlite3")
    await db.close()
    found = await checks(provider="gemini")
    assert found["database"].ok
    assert found["database"].detail.endswith(f"schema {len(MIGRATIONS)}, current")


async def test_an_older_schema_is_migrated_at_start_and_a_newer_one_fails(
        checks: Checks, tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    with contextlib.closing(sqlite3.connect(path)) as db:
        db.execute("PRAGMA user_version = 1")
    found = await checks(provider="gemini")
    assert found["database"].ok and "brings it to" in found["database"].detail
    with contextlib.closing(sqlite3.connect(path)) as db:
        db.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    found = await checks(provider="gemini")
    assert not found["database"].ok
    assert "newer version of the bot" in found["database"].fix


async def test_a_database_check_writes_nothing(checks: Checks, tmp_path: Path) -> None:
    path = tmp_path / "new" / "bot.sqlite3"
    found = await checks(provider="gemini", database_path=path)
    assert found["database"].ok and "does not exist yet" in found["database"].detail
    assert not path.parent.exists()


@pytest.mark.parametrize("break_it", ["garbage", "folder"])
async def test_a_path_that_is_no_database_fails(checks: Checks, tmp_path: Path,
                                                break_it: str) -> None:
    path = tmp_path / "bot.sqlite3"
    if break_it == "garbage":
        path.write_bytes(b"this is not sqlite" * 100)
    else:
        path.mkdir()
    found = await checks(provider="gemini")
    assert checks.failures() == ["database"]
    assert "DATABASE_PATH" in found["database"].fix


def test_each_invalid_variable_is_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ALLOWED_USER_IDS", "12,abc")
    monkeypatch.setenv("FLOW_POLL_INTERVAL", "-1")
    monkeypatch.setenv("FALLBACK_PROVIDER", "openai")
    settings, found = load_settings()
    assert settings is None
    by_name = {result.name: result for result in found}
    assert sorted(by_name) == ["setting ALLOWED_USER_IDS", "setting FALLBACK_PROVIDER",
                               "setting FLOW_POLL_INTERVAL"]
    assert not any(result.ok for result in found)
    allowed = by_name["setting ALLOWED_USER_IDS"]
    assert allowed.detail == "ALLOWED_USER_IDS=12,abc in the environment is not valid"
    assert "separated by commas" in allowed.fix and not allowed.fix.endswith(".")
    assert by_name["setting FALLBACK_PROVIDER"].fix == "use flow, gemini or useapi"


def test_valid_settings_say_where_they_came_from(monkeypatch: pytest.MonkeyPatch,
                                                 tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("PROVIDER=useapi\nFALLBACK_PROVIDER=\n")
    settings, [found] = load_settings()
    assert settings is not None and settings.fallback_provider is None
    assert found.ok and str(tmp_path / ".env") in found.detail


# Telegram


async def test_a_refused_bot_token_is_named_and_never_shown(checks: Checks) -> None:
    found = await checks(provider="gemini", telegram_bot_token=WRONG_TELEGRAM)
    assert checks.failures() == ["Telegram: bot token"]
    assert "401" in found["Telegram: bot token"].detail
    assert "@BotFather" in found["Telegram: bot token"].fix
    assert "Telegram: webhook" not in found
    assert "WRONG-bot-token" not in checks.text()


async def test_a_webhook_set_elsewhere_fails_naming_only_its_host(
        checks: Checks, telegram: FakeTelegram) -> None:
    async with httpx.AsyncClient() as http:
        answer = await http.post(f"{telegram.url}/bot{telegram.token}/setWebhook",
                                 data={"url": "https://other.example/hook/s3cr3t-path"})
        assert answer.json()["ok"] is True
        refused = await http.post(f"{telegram.url}/bot{telegram.token}/getUpdates")
        assert refused.status_code == 409
    found = await checks(provider="gemini")
    assert checks.failures() == ["Telegram: webhook"]
    assert "other.example" in found["Telegram: webhook"].detail
    assert "s3cr3t-path" not in checks.text()
    assert "deleteWebhook" in found["Telegram: webhook"].fix


async def test_an_unreachable_bot_api_is_named(checks: Checks) -> None:
    dead = closed_port()
    found = await checks(provider="gemini", telegram_api_url=dead)
    assert checks.failures() == ["Telegram: bot token"]
    assert f"cannot reach {dead}" in found["Telegram: bot token"].detail
    assert "TELEGRAM_API_URL" in found["Telegram: bot token"].fix


async def test_a_silent_host_costs_one_timeout_and_is_named(checks: Checks) -> None:
    async with silent_host() as silent:
        started = time.monotonic()
        found = await checks(provider="useapi", telegram_api_url=silent, useapi_url=silent,
                             wait=0.3)
        elapsed = time.monotonic() - started
    assert elapsed < 2.0  # the checks ran at once, each bounded
    assert checks.failures() == ["Telegram: bot token", "useapi: token"]
    for name in checks.failures():
        assert found[name].detail == f"no answer from {silent} within 0.3 s"


# flow


async def test_flow_a_wrong_proxy_token_and_a_dead_bearer(checks: Checks) -> None:
    found = await checks(provider="flow", flow_proxy_token="wrong-proxy-token-0000",
                         flow_bearer_token=WRONG_BEARER)
    assert checks.failures() == ["flow: proxy", "flow: Google token"]
    assert "FLOW_PROXY_TOKEN" in found["flow: proxy"].fix
    assert "/token" in found["flow: Google token"].fix
    assert "wrong.bearer" not in checks.text() and "wrong-proxy-token" not in checks.text()


async def test_flow_a_wrong_proxy_address_is_not_taken_for_the_proxy(
        checks: Checks, sim: FlowSimulator) -> None:
    found = await checks(provider="flow", flow_proxy_url=sim.base_url)
    assert checks.failures() == ["flow: proxy"]
    assert "FLOW_PROXY_URL" in found["flow: proxy"].fix


async def test_flow_a_proxy_down_is_the_services_trouble(checks: Checks,
                                                         sim: FlowSimulator) -> None:
    sim.inject("/api/fix/task-status", 503)
    found = await checks(provider="flow")
    assert checks.failures() == ["flow: proxy"]
    assert "503" in found["flow: proxy"].detail and "again" in found["flow: proxy"].fix


async def test_flow_no_credits_left(checks: Checks, sim: FlowSimulator) -> None:
    sim.config.credits = 0
    found = await checks(provider="flow")
    assert checks.failures() == ["flow: Google token"]
    assert "no Flow credits" in found["flow: Google token"].detail


async def store_operator(settings_dir: Path, **fields: Any) -> None:
    db = await connect(settings_dir / "bot.sqlite3")
    try:
        await AccountStore(db, SecretBox.open(key=None, folder=settings_dir)).save(
            StoredAccount(id=OPERATOR, **fields))
    finally:
        await db.close()


async def test_flow_a_token_an_admin_sent_wins_over_the_environment(
        checks: Checks, tmp_path: Path) -> None:
    await store_operator(tmp_path, bearer_token=BEARER)
    found = await checks(provider="flow", flow_bearer_token=WRONG_BEARER)
    assert checks.failures() == [], checks.text()
    assert "the token an admin sent (/token)" in found["flow: Google token"].detail
    assert found["flow: credentials"].detail.endswith("(an admin sent /token)")


async def test_flow_a_dead_token_with_a_session_cookie_is_renewed_as_the_bot_would(
        checks: Checks, sim: FlowSimulator, tmp_path: Path) -> None:
    sim.sessions.add_cookie("cookie-of-the-operator-0123456789")
    await store_operator(tmp_path, bearer_token=WRONG_BEARER,
                         cookie="cookie-of-the-operator-0123456789")
    found = await checks(provider="flow", flow_session_url=sim.session_url)
    assert checks.failures() == [], checks.text()
    assert "fresh from the session cookie" in found["flow: Google token"].detail
    assert sim.sessions.renewals == 1
    assert "cookie-of-the-operator" not in checks.text()


async def test_flow_stored_tokens_without_their_key_fail_before_any_request(
        checks: Checks, sim: FlowSimulator, tmp_path: Path) -> None:
    await store_operator(tmp_path, bearer_token=BEARER)
    (tmp_path / "secret.key").unlink()
    found = await checks(provider="flow")
    assert checks.failures() == ["flow: credentials"]
    assert "BOT_SECRET_KEY" in found["flow: credentials"].fix
    assert not (tmp_path / "secret.key").exists()  # doctor made no key
    assert sim.log == []


# useapi


async def test_useapi_a_wrong_token(checks: Checks) -> None:
    found = await checks(provider="useapi", useapi_token=WRONG_USEAPI)
    assert checks.failures() == ["useapi: token"]
    assert "USEAPI_TOKEN" in found["useapi: token"].fix
    assert "useapi: account" not in found
    assert WRONG_USEAPI not in checks.text() and USEAPI_TOKEN not in checks.text()


async def test_useapi_an_account_whose_session_broke(checks: Checks, sim: FlowSimulator) -> None:
    sim.useapi.disconnect()
    found = await checks(provider="useapi", useapi_email=DEFAULT_EMAIL)
    assert checks.failures() == ["useapi: account"]
    assert "Session expired" in found["useapi: account"].detail
    assert found["useapi: account"].fix.startswith(f"reconnect {DEFAULT_EMAIL} on useapi.net")


async def test_useapi_without_an_email_one_healthy_account_is_enough(
        checks: Checks, sim: FlowSimulator) -> None:
    sim.useapi.add_account("broken@example.com", health="Session expired")
    found = await checks(provider="useapi")
    assert checks.failures() == [], checks.text()
    assert "1 of 2 accounts healthy" in found["useapi: account"].detail
    assert "broken@example.com: Session expired" in found["useapi: account"].detail
    sim.useapi.disconnect()
    found = await checks(provider="useapi")
    assert checks.failures() == ["useapi: account"]


async def test_useapi_an_email_that_is_not_attached(checks: Checks) -> None:
    found = await checks(provider="useapi", useapi_email="someone@example.com")
    assert checks.failures() == ["useapi: account"]
    assert f"attached: {DEFAULT_EMAIL}" in found["useapi: account"].detail


async def test_useapi_no_account_attached(checks: Checks, sim: FlowSimulator) -> None:
    sim.useapi.accounts.clear()
    found = await checks(provider="useapi")
    assert checks.failures() == ["useapi: account"]
    assert "attach your Google account" in found["useapi: account"].fix


async def test_useapi_a_model_the_plan_does_not_have(checks: Checks,
                                                     sim: FlowSimulator) -> None:
    sim.useapi.make_pro()
    found = await checks(provider="useapi", useapi_video_model="veo-3.1-lite-low-priority")
    assert checks.failures() == ["useapi: video model"]
    assert "PAYGATE_TIER_ONE" in found["useapi: video model"].detail
    assert "veo-3.1-fast" in found["useapi: video model"].fix


async def test_useapi_unknown_models_and_no_credits(checks: Checks, sim: FlowSimulator) -> None:
    sim.useapi.accounts[DEFAULT_EMAIL].credits = 0
    found = await checks(provider="useapi", useapi_image_model="imagen-5",
                         useapi_video_model="sora-2")
    assert checks.failures() == [f"useapi: credits of {DEFAULT_EMAIL}", "useapi: image model",
                                 "useapi: video model"]
    assert "nano-banana-pro" in found["useapi: image model"].fix
    assert "veo-3.1-fast" in found["useapi: video model"].fix


async def test_useapi_liveness_reads_the_account_list_only(checks: Checks,
                                                           sim: FlowSimulator) -> None:
    found = await checks(provider="useapi", liveness=True)
    assert checks.failures() == []
    assert [name for name in found if name.startswith("useapi")] == [
        "useapi: credentials", "useapi: token", "useapi: account"]
    assert [entry.path for entry in sim.log] == ["/v1/google-flow/accounts"]


# gemini


async def test_gemini_a_refused_key_is_one_failure(checks: Checks) -> None:
    found = await checks(provider="gemini", gemini_api_key=WRONG_KEY)
    assert checks.failures() == ["gemini: API key"]
    assert "aistudio.google.com" in found["gemini: API key"].fix
    assert WRONG_KEY not in checks.text() and GEMINI_KEY not in checks.text()


async def test_gemini_a_retired_model_names_its_replacement(checks: Checks) -> None:
    found = await checks(provider="gemini", gemini_image_model="gemini-2.5-flash-image",
                         gemini_video_model="veo-3.1-fast-generate-preview")
    assert checks.failures() == ["gemini: image model", "gemini: video model"]
    assert "retired by Google on 2026-10-02" in found["gemini: image model"].detail
    assert found["gemini: image model"].fix == "set GEMINI_IMAGE_MODEL=gemini-3.1-flash-image"
    assert found["gemini: video model"].fix == "set GEMINI_VIDEO_MODEL=gemini-omni-1.1-flash"


async def test_gemini_a_model_google_does_not_serve(checks: Checks, sim: FlowSimulator) -> None:
    found = await checks(provider="gemini", gemini_image_model="gemini-9-ultra-image")
    assert checks.failures() == ["gemini: image model"]
    assert "not served on the Gemini Developer API" in found["gemini: image model"].detail
    assert sim.count("/v1beta/models/gemini-9-ultra-image", "GET") == 1


async def test_gemini_a_veo_model_on_the_developer_api(checks: Checks) -> None:
    found = await checks(provider="gemini", gemini_video_model="veo-3.1-fast-generate-001")
    assert checks.failures() == ["gemini: video model"]
    assert found["gemini: video model"].fix == "set GEMINI_VIDEO_MODEL=gemini-omni-1.1-flash"


async def test_gemini_google_down(checks: Checks, sim: FlowSimulator) -> None:
    sim.inject("/v1beta/models/", 500, times=2)
    found = await checks(provider="gemini")
    assert checks.failures() == ["gemini: API key"]
    assert "500" in found["gemini: API key"].detail


# fallback


async def test_the_fallback_provider_is_checked_too_but_not_for_liveness(
        checks: Checks) -> None:
    found = await checks(provider="useapi", fallback_provider="gemini",
                         gemini_api_key=WRONG_KEY)
    assert checks.failures() == ["gemini: API key"]
    found = await checks(provider="useapi", fallback_provider="gemini",
                         gemini_api_key=WRONG_KEY, liveness=True)
    assert checks.failures() == [] and not any(name.startswith("gemini") for name in found)


async def test_a_fallback_equal_to_the_provider_is_checked_once(checks: Checks) -> None:
    found = await checks(provider="gemini", fallback_provider="gemini")
    assert sum(name == "gemini: credentials" for name in found) == 1



async def test_flow_a_dead_token_and_a_dead_cookie_ask_for_a_fresh_cookie(
        checks: Checks, sim: FlowSimulator, tmp_path: Path) -> None:
    await store_operator(tmp_path, bearer_token=WRONG_BEARER, cookie="revoked-cookie-0123456789")
    found = await checks(provider="flow", flow_session_url=sim.session_url)
    assert checks.failures() == ["flow: Google token"]
    assert found["flow: Google token"].fix.startswith(
        "the session cookie no longer gives a token: send the bot a fresh one (/cookie).")
    assert "revoked-cookie" not in checks.text()
