"""`python -m bot doctor` as a user runs it: a subprocess against the simulators; its lines,
`--json`, `--liveness`, exit statuses, and no secret in anything it prints."""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
import time
from pathlib import Path
from typing import Any

from bot.sim.server import FlowSimulator
from bot.sim.telegram import FakeTelegram
from tests.conftest import BEARER, GEMINI_KEY, PROXY_TOKEN, USEAPI_TOKEN
from tests.test_health import closed_port, silent_host

ROOT = Path(__file__).resolve().parent.parent
#: Variables of the bot a developer's shell may hold: none of them reaches the subprocess.
OURS = ("TELEGRAM_", "FLOW_", "GEMINI_", "USEAPI_", "PROVIDER", "FALLBACK_", "ALLOWED_",
        "ADMIN_", "DATABASE_", "BOT_", "DAILY_", "LOG_", "GOOGLE_")
SECRETS = (BEARER, PROXY_TOKEN, GEMINI_KEY, USEAPI_TOKEN)


class Run:
    def __init__(self, code: int, stdout: str, stderr: str, seconds: float) -> None:
        self.code, self.stdout, self.stderr, self.seconds = code, stdout, stderr, seconds

    @property
    def lines(self) -> list[str]:
        return self.stdout.splitlines()

    def line(self, name: str) -> str:
        [found] = [line for line in self.lines if line[2:].startswith(f"{name}: ")]
        return found

    def fix_of(self, name: str) -> str:
        index = self.lines.index(self.line(name))
        return self.lines[index + 1].strip()


async def doctor(cwd: Path, *args: str, **env: str) -> Run:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(OURS)}
    environment.update(PYTHONPATH=str(ROOT), **env)
    started = time.monotonic()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "doctor", *args, cwd=cwd, env=environment,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return Run(process.returncode, stdout.decode(), stderr.decode(), time.monotonic() - started)


def deploy(sim: FlowSimulator, telegram: FakeTelegram, tmp_path: Path,
           **overrides: str) -> dict[str, str]:
    """A working deploy's environment, on the simulators."""
    env = {"TELEGRAM_BOT_TOKEN": telegram.token, "TELEGRAM_API_URL": telegram.url,
           "ADMIN_USER_IDS": "9001", "ALLOWED_USER_IDS": "1001,1002",
           "DATABASE_PATH": str(tmp_path / "data" / "bot.sqlite3"),
           "PROVIDER": "useapi", "USEAPI_TOKEN": USEAPI_TOKEN, "USEAPI_URL": sim.useapi_url,
           "GEMINI_API_KEY": GEMINI_KEY, "GEMINI_API_URL": sim.base_url,
           "FLOW_PROXY_URL": sim.proxy_url, "FLOW_API_URL": sim.api_url,
           "FLOW_BEARER_TOKEN": BEARER, "FLOW_PROXY_TOKEN": PROXY_TOKEN,
           "FLOW_PROJECT_ID": "0f1e2d3c-doctor"}
    env.update(overrides)
    return env


def no_secret(run: Run, *more: str) -> None:
    for secret in (*SECRETS, *more):
        assert secret not in run.stdout and secret not in run.stderr


async def test_a_working_deploy_exits_0_with_a_tick_per_check(
        sim: FlowSimulator, telegram: FakeTelegram, tmp_path: Path) -> None:
    run = await doctor(tmp_path, **deploy(sim, telegram, tmp_path, FALLBACK_PROVIDER="gemini"))
    assert run.code == 0, run.stdout + run.stderr
    *checks, summary = run.lines
    assert all(line.startswith("✓ ") for line in checks), run.stdout
    assert summary == f"All {len(checks)} checks passed."
    assert run.line("useapi: token") and run.line("gemini: video model")
    assert run.stderr == ""
    no_secret(run, telegram.token)
    assert {entry.method for entry in sim.log} == {"GET"}


async def test_a_failure_exits_1_with_the_one_thing_to_do(
        sim: FlowSimulator, telegram: FakeTelegram, tmp_path: Path) -> None:
    wrong = "user:7777-a-wrong-useapi-token-0123456789"
    run = await doctor(tmp_path, **deploy(sim, telegram, tmp_path, USEAPI_TOKEN=wrong))
    assert run.code == 1
    assert run.line("useapi: token").startswith("✗ useapi: token: useapi.net refused")
    assert run.fix_of("useapi: token") == ("→ copy the API token of your useapi.net account "
                                           "into USEAPI_TOKEN")
    assert run.lines[-1].endswith("checks failed.")
    no_secret(run, wrong)


async def test_json_is_one_document_of_the_same_checks(
        sim: FlowSimulator, telegram: FakeTelegram, tmp_path: Path) -> None:
    sim.useapi.disconnect()
    run = await doctor(tmp_path, "--json", **deploy(sim, telegram, tmp_path))
    assert run.code == 1
    document: dict[str, Any] = json.loads(run.stdout)
    assert document["ok"] is False and document["liveness"] is False
    assert document["provider"] == "useapi" and document["fallback_provider"] is None
    failing = [check for check in document["checks"] if not check["ok"]]
    assert [check["name"] for check in failing] == ["useapi: account"]
    assert set(failing[0]) == {"name", "ok", "detail", "fix"}
    assert failing[0]["fix"].startswith("reconnect sim.flow@example.com on useapi.net")
    no_secret(run)


async def test_an_empty_environment_says_what_is_missing_in_order(tmp_path: Path) -> None:
    run = await doctor(tmp_path)
    assert run.code == 1
    failures = [line for line in run.lines if line.startswith("✗")]
    assert [line.split(":")[0] for line in failures] == [
        "✗ TELEGRAM_BOT_TOKEN", "✗ users", "✗ flow"]
    assert "@BotFather" in run.fix_of("TELEGRAM_BOT_TOKEN")
    assert "ADMIN_USER_IDS" in run.fix_of("users")
    for variable in ("FLOW_PROXY_TOKEN", "FLOW_BEARER_TOKEN", "FLOW_PROJECT_ID",
                     "PROVIDER=useapi"):
        assert variable in run.fix_of("flow: credentials")
    assert not (tmp_path / "data").exists()  # doctor created nothing


async def test_an_invalid_variable_is_named(tmp_path: Path) -> None:
    run = await doctor(tmp_path, "--json", ALLOWED_USER_IDS="me", PROVIDER="veo")
    assert run.code == 1
    names = [check["name"] for check in json.loads(run.stdout)["checks"]]
    assert names == ["setting ALLOWED_USER_IDS", "setting PROVIDER"]


async def test_the_env_file_of_the_current_folder_is_read(
        sim: FlowSimulator, telegram: FakeTelegram, tmp_path: Path) -> None:
    lines = [f"{key}={value}" for key, value in deploy(sim, telegram, tmp_path,
                                                       PROVIDER="gemini").items()]
    (tmp_path / ".env").write_text("\n".join(lines) + "\n")
    run = await doctor(tmp_path)
    assert run.code == 0, run.stdout
    assert run.line("settings").endswith(f"{tmp_path / '.env'}")
    assert run.line("gemini: API key")


async def test_liveness_passes_then_fails_when_the_upstream_is_lost(
        sim: FlowSimulator, telegram: FakeTelegram, tmp_path: Path) -> None:
    env = deploy(sim, telegram, tmp_path, FALLBACK_PROVIDER="gemini")
    run = await doctor(tmp_path, "--liveness", **env)
    assert run.code == 0, run.stdout
    names = [line[2:].split(": ")[0] for line in run.lines[:-1]]
    assert "useapi" in names and "gemini" not in names  # no fallback, no plan details
    assert not any("credits of" in line for line in run.lines)
    await sim.stop()
    run = await doctor(tmp_path, "--liveness", "--json", **env)
    assert run.code == 1
    [lost] = [check for check in json.loads(run.stdout)["checks"] if not check["ok"]]
    assert lost["name"] == "useapi: token"
    assert lost["detail"].startswith(f"cannot reach {sim.useapi_url}")


async def test_a_dead_host_is_named_and_does_not_hang(
        sim: FlowSimulator, telegram: FakeTelegram, tmp_path: Path) -> None:
    async with silent_host() as silent:
        env = deploy(sim, telegram, tmp_path, TELEGRAM_API_URL=silent,
                     GEMINI_API_URL=closed_port(), PROVIDER="gemini")
        run = await doctor(tmp_path, "--timeout", "0.5", **env)
    assert run.code == 1
    assert run.line("Telegram: bot token").endswith(f"no answer from {silent} within 0.5 s")
    assert "TELEGRAM_API_URL" in run.fix_of("Telegram: bot token")
    assert "cannot reach http://127.0.0.1:" in run.line("gemini: API key")
    assert run.seconds < 15


async def test_a_bad_timeout_is_a_usage_error(tmp_path: Path) -> None:
    run = await doctor(tmp_path, "--timeout", "0")
    assert run.code == 2 and "--timeout" in run.stderr


def test_the_image_and_compose_healthchecks_run_the_liveness_doctor() -> None:
    """Docker cannot run here: the files are read, and the command they name is one the CLI
    takes (the command itself is run by the liveness test above)."""
    from bot.__main__ import _parser

    dockerfile = (ROOT / "Dockerfile").read_text()
    [image] = re.findall(r"^HEALTHCHECK .*\\\n\s+CMD (\[.*\])$", dockerfile, re.MULTILINE)
    compose = (ROOT / "compose.example.yaml").read_text()
    [spelled] = re.findall(r"^\s+test: (\[.*\])$", compose, re.MULTILINE)
    command = json.loads(image)
    assert json.loads(spelled) == ["CMD", *command]
    assert command[:4] == ["python", "-m", "bot", "doctor"] and "--liveness" in command
    args = _parser().parse_args(command[3:])
    assert args.command == "doctor" and args.liveness and args.timeout == 10.0
    assert re.search(r"^\s+- bot-data:/app/data\b", compose, re.MULTILINE)
