"""The leak audit: an end-to-end run with known secret values, then every log line, every
exception text, every Bot API call the bot made and the raw bytes of the SQLite files are
searched for them. None may appear in plaintext (masked forms such as `ya29.…abcd` are fine).

The run happens once per variant (a module-scoped fixture on its own event loop) and the
findings are checked by many small tests, one per (variant, channel, secret), so that a leak
names exactly what leaked where.

Variants:
- `keyfile`: BOT_SECRET_KEY unset (a `secret.key` file is made beside the database); logging set
  up by production's own `bot.logs.setup_logging("DEBUG")` (httpx/httpcore held at WARNING).
- `envkey`: BOT_SECRET_KEY set explicitly (no key file may appear, the key itself is a secret);
  every logger at DEBUG, httpx and httpcore included (stricter than production).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import stat
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from bot import redact as redact_module
from bot.jobs.model import JobState
from bot.logs import setup_logging
from bot.redact import RedactingFilter
from bot.sim.config import SimConfig
from bot.sim.server import FlowSimulator
from bot.sim.session import SESSION_PATH
from bot.sim.telegram import FakeTelegram
from storage.accounts import OPERATOR
from tests.conftest import ADMIN, BEARER, PROXY_TOKEN, USER, make_settings
from tests.harness import BotHarness

# Distinctive secrets; a realistic bot token (the fake accepts any token).
BOT_TOKEN = "7123456789:ABHleakAuditTelegramBotToken_0123456789xyz"
COOKIE = "leak-audit-session-cookie-7f3a9c2e51d04b86"
DEAD_COOKIE = "leak-audit-dead-cookie-c0ffee-91e2"
ADMIN_BEARER = "ya29.leak.audit-admin-bearer-5555-wxyz"
OWN_BEARER = "ya29.leak.audit-users-own-bearer-7777-qrst"
OWN_PROXY = "leak-audit-own-proxy-token-4242"
SECRET_KEY = "bGVhay1hdWRpdC1mZXJuZXQta2V5LTMyLWJ5dGVzISE="  # 32 bytes, urlsafe base64
GROUP = -100777
ROOT = Path(__file__).resolve().parent.parent
POLLING_GLITCH = "Exception happened while polling for updates."
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"  # bot.logs.setup_logging's

VARIANTS = ("keyfile", "envkey")
CHANNELS = ("logs", "exceptions", "telegram", "db_running", "db_stopped")
STATIC_SECRETS = {
    "env_bearer": BEARER, "proxy_token": PROXY_TOKEN, "bot_token": BOT_TOKEN, "cookie": COOKIE,
    "dead_cookie": DEAD_COOKIE, "admin_bearer": ADMIN_BEARER, "own_bearer": OWN_BEARER,
    "own_proxy": OWN_PROXY,
}
# Secrets only known once the run is over: tokens minted from the cookie, and the key.
DYNAMIC_SECRETS = ("minted_bearers", "secret_key")
SECRET_NAMES = (*STATIC_SECRETS, *DYNAMIC_SECRETS)



# ---------------------------------------------------------------------------- the capture


class _Capture(logging.Handler):
    """A root handler like production's StreamHandler, keeping the formatted lines in memory."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter(LOG_FORMAT))
        self.lines: list[str] = []  # every record, fully formatted (message + traceback)
        self.exception_texts: list[str] = []  # the traceback part of each record that has one
        self.records: list[tuple[str, int]] = []  # (logger name, level)

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))  # format() adds exc_text and stack_info
        self.records.append((record.name, record.levelno))
        if record.exc_text:
            self.exception_texts.append(record.exc_text)
        if record.stack_info:
            self.exception_texts.append(record.stack_info)


@contextlib.contextmanager
def _logging_like_production(variant: str) -> Iterator[_Capture]:
    """Root at DEBUG, our handler on it, then production's own set-up on top.

    `setup_logging` calls `logging.basicConfig`, which does nothing when the root logger already
    has handlers (ours, and pytest's); it then holds httpx/httpcore at WARNING and installs the
    RedactingFilter on every root handler, ours included: what the bot's own handler gets.
    """
    root = logging.getLogger()
    noisy = [logging.getLogger(name) for name in ("httpx", "httpcore")]
    saved_levels = (root.level, [logger.level for logger in noisy])
    saved_filters = {handler: list(handler.filters) for handler in root.handlers}
    capture = _Capture()
    root.addHandler(capture)
    root.setLevel(logging.DEBUG)
    setup_logging("DEBUG")
    assert any(isinstance(f, RedactingFilter) for f in capture.filters)
    if variant == "envkey":
        for logger in noisy:
            logger.setLevel(logging.DEBUG)
    try:
        yield capture
    finally:
        root.removeHandler(capture)
        root.setLevel(saved_levels[0])
        for logger, level in zip(noisy, saved_levels[1], strict=True):
            logger.setLevel(level)
        for handler, filters in saved_filters.items():
            handler.filters[:] = filters


# ---------------------------------------------------------------------------- the run


@dataclass
class Audit:
    """What one end-to-end run left behind, in every place a secret could leak to."""

    variant: str
    secrets: dict[str, list[str]] = field(default_factory=dict)
    channels: dict[str, list[str]] = field(default_factory=dict)
    deleted: dict[str, bool] = field(default_factory=dict)
    key_file_mode: int | None = None
    facts: dict[str, Any] = field(default_factory=dict)  # evidence the scenario really ran


def _sqlite_files(database: Path) -> bytes:
    parts = [database, *(database.with_name(database.name + s) for s in ("-wal", "-shm"))]
    return b"".join(p.read_bytes() for p in parts if p.exists())


def _as_text(raw: bytes) -> str:
    return raw.decode("latin-1")  # byte for byte: an ASCII secret is found wherever it sits


async def _answer(bot: BotHarness, user: int, text: str, **kwargs: Any) -> str:
    chat = kwargs.get("chat_id") or user
    before = len(bot.texts(chat))
    bot.telegram.send_text(user, text, **kwargs)
    await bot.telegram.wait_for(lambda: len(bot.texts(chat)) > before)
    return bot.texts(chat)[-1]


async def _scenario(bot: BotHarness, sim: FlowSimulator, audit: Audit) -> None:
    fake = bot.telegram
    facts = audit.facts
    await _answer(bot, ADMIN, "/start")  # the admin's chat exists: token alerts can reach it

    # The happy path: an image, its animation, a text-to-video.
    fake.send_text(USER, "/image a red fox in the snow")
    photo = (await bot.wait_photos(USER, 1, timeout=20))[0]
    fake.send_text(USER, "/animate the fox runs away", reply_to=photo["message_id"])
    await bot.wait_videos(USER, 1, timeout=20)
    fake.send_text(USER, "/video a calm lake at dawn")
    await bot.wait_videos(USER, 2, timeout=20)

    # A generation failure, transient 503s (retries log warnings), 503s until giving up, and an
    # answer the provider cannot read.
    fake.send_text(USER, "/video FORCE_FAIL a storm")
    failed = await bot.wait_job(USER, lambda j: j.state is JobState.FAILED, timeout=20)
    facts["generation_failed"] = failed.error_code
    sim.inject("create-image-veo3", 503, times=2)
    fake.send_text(USER, "/image through the errors")
    await bot.wait_photos(USER, 2, timeout=20)
    sim.inject("create-video-veo3", 503, times=3)  # retry_attempts=3: gives up
    fake.send_text(USER, "/video into the void")
    gave_up = await bot.wait_job(USER, lambda j: j.state is JobState.FAILED
                                 and "void" in j.prompt, timeout=20)
    facts["gave_up"] = gave_up.error_code
    sim.inject("create-image-veo3", 200, times=1, body={"unexpected": ["shape"]})
    fake.send_text(USER, "/image an answer nobody expects")
    await bot.wait_job(USER, lambda j: j.state.terminal and "nobody" in j.prompt, timeout=20)
    # Telegram itself glitches: PTB logs the polling error with its traceback.
    fake.inject("getUpdates", 502, "Bad Gateway")
    await _answer(bot, USER, "/help")
    await bot.wait_text(USER, "What I can do")

    # The env bearer expires mid-render and there is no cookie: the job waits, the admin is
    # alerted, a secret sent in a group is refused, then the admin's /token revives the job.
    sim.config.latency = 1.0
    fake.send_text(USER, "/video waits for a token")
    await bot.wait_job(USER, lambda j: j.state is JobState.RENDERING, timeout=20)
    sim.sessions.expire(BEARER)
    await bot.wait_job(USER, lambda j: j.state is JobState.WAITING_FOR_TOKEN, timeout=20)
    await bot.wait_text(ADMIN, "has expired and jobs are waiting")
    in_group = fake.send_text(ADMIN, f"/token {ADMIN_BEARER}", chat_id=GROUP, chat_type="group")
    await bot.wait_text(GROUP, "Never post secrets in a group")
    sim.config.bearer_token = ADMIN_BEARER
    token_message = fake.send_text(ADMIN, f"/token {ADMIN_BEARER}")
    facts["token_reply"] = await bot.wait_text(ADMIN, "Saved the Google token")
    await bot.wait_videos(USER, 3, timeout=20)
    proxy_message = fake.send_text(ADMIN, f"/proxytoken {PROXY_TOKEN}")
    await bot.wait_text(ADMIN, "Saved the proxy token")

    # The cookie: the bot mints its own tokens, and renews by itself after a 401 mid-render.
    sim.sessions.add_cookie(COOKIE)
    cookie_message = fake.send_text(ADMIN, f"/cookie {COOKIE}")
    await bot.wait_text(ADMIN, "Saved the session cookie")
    minted = [bot.engine.accounts.view(OPERATOR).bearer_token]
    fake.send_text(USER, "/video renews by itself")
    await bot.wait_job(USER, lambda j: j.state is JobState.RENDERING and "renews" in j.prompt,
                       timeout=20)
    sim.sessions.expire()  # every minted token dies
    await bot.wait_videos(USER, 4, timeout=20)
    minted.append(bot.engine.accounts.view(OPERATOR).bearer_token)
    facts["renewals"] = sim.sessions.renewals
    sim.config.latency = 0.2

    # /account and /status from both sides.
    facts["admin_account"] = await _answer(bot, ADMIN, "/account")
    await _answer(bot, USER, "/account")
    facts["status"] = await _answer(bot, USER, "/status")

    # A renewal that fails (the session endpoint answers 500): a warning with its reason.
    sim.inject(SESSION_PATH, 500, times=1)
    dead_message = fake.send_text(
        USER, f"/login cookie={DEAD_COOKIE} project=own-project proxy={OWN_PROXY}")
    await bot.wait_text(USER, "gave no token for that cookie")

    # The user's own account: the simulator now demands exactly the user's credentials.
    sim.config.bearer_token, sim.config.proxy_token = OWN_BEARER, OWN_PROXY
    login_message = fake.send_text(
        USER, f"/login {OWN_BEARER} project=own-project proxy={OWN_PROXY}")
    await bot.wait_text(USER, "account is set")
    fake.send_text(USER, "/video on my own account")
    await bot.wait_videos(USER, 5, timeout=20)
    facts["own_account"] = await _answer(bot, USER, "/account")
    await _answer(bot, USER, "/status")

    audit.secrets["minted_bearers"] = [token for token in minted if token]
    for name, message in (("token", token_message), ("token_in_group", in_group),
                          ("proxytoken", proxy_message), ("cookie", cookie_message),
                          ("login", login_message), ("login_dead_cookie", dead_message)):
        chat = message["chat"]["id"]
        stored = fake.message(chat, message["message_id"])
        audit.deleted[name] = bool(stored and stored["_deleted"])
    facts["delivered"] = (len(bot.photos(USER)), len(bot.videos(USER)))
    facts["create_statuses"] = sorted({e.status for e in sim.log if "create-" in e.path})
    facts["poll_401"] = any(e.status == 401 for e in sim.log if "batchCheck" in e.path)


async def _run(variant: str, folder: Path) -> Audit:
    audit = Audit(variant)
    sim = FlowSimulator(SimConfig(latency=0.2, task_polls=1, bearer_token=BEARER,
                                  proxy_token=PROXY_TOKEN))
    fake = FakeTelegram(token=BOT_TOKEN)
    await sim.start()
    await fake.start()
    overrides: dict[str, Any] = {"flow_session_url": sim.session_url, "retry_attempts": 3}
    if variant == "envkey":
        overrides["bot_secret_key"] = SECRET_KEY
    settings = make_settings(folder, sim, fake, **overrides)
    bot = BotHarness(settings, fake, sim)
    try:
        await bot.start()
        try:
            await _scenario(bot, sim, audit)
            audit.channels["db_running"] = [_as_text(_sqlite_files(settings.database_path))]
        finally:
            await bot.stop()
        audit.channels["db_stopped"] = [_as_text(_sqlite_files(settings.database_path))]
    finally:
        await fake.stop()
        await sim.stop()
    audit.channels["telegram"] = [json.dumps([method, params], ensure_ascii=False)
                                  for method, params in fake.requests]
    key_file = folder / "secret.key"
    if key_file.exists():
        audit.key_file_mode = stat.S_IMODE(key_file.stat().st_mode)
        audit.secrets["secret_key"] = [key_file.read_text().strip()]
    else:
        audit.secrets["secret_key"] = [SECRET_KEY] if variant == "envkey" else []
    return audit


@pytest.fixture(scope="module", params=VARIANTS)
def audit(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Audit:
    """One full run per variant, on a fresh event loop, with a fresh set of known secrets (as in
    a new process: other tests in this session have registered secrets of their own)."""
    variant: str = request.param
    folder = tmp_path_factory.mktemp(f"leaks-{variant}")
    with pytest.MonkeyPatch.context() as patch, _logging_like_production(variant) as capture:
        patch.setattr(redact_module, "_known", set())
        result = asyncio.run(_run(variant, folder))
    result.channels["logs"] = capture.lines
    result.channels["exceptions"] = capture.exception_texts
    result.facts["log_lines"] = len(capture.lines)
    result.facts["loggers"] = {name for name, _ in capture.records}
    errors = [line for line, (_, level) in zip(capture.lines, capture.records, strict=True)
              if level >= logging.ERROR]
    result.facts["polling_glitch"] = [line for line in errors if POLLING_GLITCH in line]
    result.facts["errors"] = [line for line in errors if POLLING_GLITCH not in line]
    for name, value in STATIC_SECRETS.items():
        result.secrets[name] = [value]
    return result


# ---------------------------------------------------------------------------- the checks


def _cases() -> list[Any]:
    cases = []
    for channel in CHANNELS:
        for secret in SECRET_NAMES:
            marks: list[Any] = []
            cases.append(pytest.param(channel, secret, marks=marks, id=f"{channel}-{secret}"))
    return cases


@pytest.mark.parametrize(("channel", "secret"), _cases())
def test_secret_never_appears_in_plaintext(audit: Audit, channel: str, secret: str) -> None:
    values = audit.secrets.get(secret, [])
    hits = [(value, line) for value in values for line in audit.channels[channel]
            if value in line]
    shown = [f"{value!r} in: {_around(line, value)}" for value, line in hits[:3]]
    assert not hits, f"{secret} leaked into {channel} ({len(hits)} times):\n" + "\n".join(shown)


def _around(text: str, needle: str, width: int = 150) -> str:
    at = text.find(needle)
    return repr(text[max(0, at - width): at + len(needle) + width])


def test_the_audit_saw_the_secrets_in_use(audit: Audit) -> None:
    """Guards against a vacuous audit: the run went through every path it claims to cover."""
    facts = audit.facts
    assert facts["delivered"] == (2, 5)
    assert facts["generation_failed"] == "generation_failed"
    assert facts["gave_up"] == "unavailable"
    assert 503 in facts["create_statuses"]
    assert facts["renewals"] >= 2 and facts["poll_401"]
    assert len(audit.secrets["minted_bearers"]) == 2
    assert audit.secrets["minted_bearers"][0] != audit.secrets["minted_bearers"][1]
    assert "ya29.…wxyz" in facts["token_reply"]
    assert "ya29.…" in facts["admin_account"] and "Renewal: automatic" in facts["admin_account"]
    assert "ya29.…qrst" in facts["own_account"]
    assert "generation failed" in facts["status"].lower()
    assert facts["log_lines"] > 100
    assert {"telegram.ext.Application", "bot.jobs.runner", "bot.jobs.retry"} <= facts["loggers"]
    assert audit.facts["polling_glitch"] and "Bad Gateway" in audit.facts["polling_glitch"][0]
    assert any("Traceback" in text for text in audit.channels["exceptions"])
    assert all(audit.channels[channel] for channel in CHANNELS)


def test_no_error_was_logged(audit: Audit) -> None:
    """Apart from the Telegram glitch provoked on purpose."""
    assert audit.facts["errors"] == []


def test_messages_holding_secrets_were_deleted(audit: Audit) -> None:
    assert audit.deleted == dict.fromkeys(audit.deleted, True)
    assert set(audit.deleted) == {"token", "token_in_group", "proxytoken", "cookie", "login",
                                  "login_dead_cookie"}


def test_key_file_is_private_or_absent(audit: Audit) -> None:
    if audit.variant == "keyfile":
        assert audit.key_file_mode == 0o600
        assert audit.secrets["secret_key"] and len(audit.secrets["secret_key"][0]) == 44
    else:
        assert audit.key_file_mode is None, "BOT_SECRET_KEY is set: no key file may be written"


# ---------------------------------------------------------------------------- the entry point


async def test_a_rejected_bot_token_is_not_printed(tmp_path: Path) -> None:
    """`python -m bot` (the production entry point, LOG_LEVEL=DEBUG) with a token Telegram
    refuses: nothing on stdout or stderr may show it, logged or not."""
    fake = FakeTelegram(token="1000000001:ABAnotTheTokenTheBotWasConfiguredWith00")
    await fake.start()
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("FLOW_", "TELEGRAM_", "BOT_", "LOG_"))}
    env.update(TELEGRAM_BOT_TOKEN=BOT_TOKEN, TELEGRAM_API_URL=fake.url, LOG_LEVEL="DEBUG",
               FLOW_BEARER_TOKEN=BEARER, FLOW_PROXY_TOKEN=PROXY_TOKEN, ALLOWED_USER_IDS=str(USER),
               DATABASE_PATH=str(tmp_path / "bot.sqlite3"), PYTHONPATH=str(ROOT))
    try:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", cwd=tmp_path, env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    finally:
        await fake.stop()
    printed = (out + err).decode(errors="replace")
    assert process.returncode != 0 and fake.calls("getMe"), printed[-2000:]
    assert "rejected" in printed or "Unauthorized" in printed
    for name, secret in (("bot_token", BOT_TOKEN), ("env_bearer", BEARER),
                         ("proxy_token", PROXY_TOKEN)):
        assert secret not in printed, f"{name} printed: {_around(printed, secret)}"
