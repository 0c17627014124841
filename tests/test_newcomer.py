"""The first hour, run as a newcomer runs it (`python -m bot …` in a fresh shell): the demo works
with no configuration, and every mistake ends in one sentence naming what to fix, an exit status
other than 0, no traceback and no secret.

Each subprocess costs a few tenths of a second of start-up, so the cases of one kind run
concurrently and are checked together.
"""

from __future__ import annotations

import asyncio
import io
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import av
import pytest

from bot.__main__ import main
from bot.config import ConfigError, Settings, load_settings, missing_credentials
from bot.jobs.model import ProviderName
from bot.sim.config import SimConfig
from bot.sim.server import FlowSimulator
from bot.sim.telegram import FakeTelegram

ROOT = Path(__file__).resolve().parent.parent
BEARER = "ya29.newcomer.bearer-0123456789abcd"
PROXY_TOKEN = "newcomer-proxy-token-5678"
GEMINI_KEY = "AIzaSy-newcomer-gemini-key-0123456789"
# Shaped like a real bot token (so the shape-based masking is tested), assembled so that no
# line of the tree looks like a leaked one.
BOT_TOKEN = "123456789:" + "AAHnewcomerBotToken0123456789abcdefg"
SECRETS = (BEARER, PROXY_TOKEN, GEMINI_KEY, BOT_TOKEN)
FLOW = {"FLOW_BEARER_TOKEN": BEARER, "FLOW_PROXY_TOKEN": PROXY_TOKEN,
        "FLOW_PROJECT_ID": "newcomer-project"}
PNG = b"\x89PNG\r\n\x1a\n" + bytes(32)
SHELL = ("PATH", "HOME", "TMPDIR", "LANG", "LC_ALL")
CONCURRENCY = 4


@dataclass(frozen=True)
class Done:
    code: int
    out: str
    err: str

    @property
    def printed(self) -> str:
        return self.out + self.err


@dataclass(frozen=True)
class Case:
    """One mistake: the command, the shell and files it meets, and what the user must read."""

    name: str
    args: tuple[str, ...]
    says: tuple[str, ...]
    env: dict[str, str] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)
    code: int = 2
    secrets: tuple[str, ...] = SECRETS
    traceback_allowed: bool = False  #: LOG_LEVEL=DEBUG asks for tracebacks


def shell(**values: str) -> dict[str, str]:
    """A fresh shell: none of the bot's variables, only what the case sets."""
    env = {name: os.environ[name] for name in SHELL if name in os.environ}
    env.update(PYTHONPATH=str(ROOT), **values)
    return env


async def run(*args: str, cwd: Path, env: dict[str, str], timeout: float = 60) -> Done:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *args, cwd=cwd, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), timeout)
    assert process.returncode is not None
    return Done(process.returncode, out.decode(), err.decode())


def faults(case: Case, done: Done) -> list[str]:
    """What is wrong with how the mistake was reported; empty when it was one clear sentence."""
    found = [] if done.code == case.code else [f"exit status {done.code}, not {case.code}"]
    found += [f"does not say {phrase!r}" for phrase in case.says if phrase not in done.printed]
    if "Traceback" in done.printed and not case.traceback_allowed:
        found.append("prints a traceback")
    found += [f"prints the secret {secret[:10]}…" for secret in case.secrets
              if secret in done.printed]
    return found


async def check_all(cases: list[Case], tmp_path: Path, **env: str) -> None:
    """Run every case concurrently, each in its own folder; fail with every fault found."""
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(number: int, case: Case) -> list[str]:
        folder = tmp_path / f"case{number}"
        folder.mkdir()
        for name, data in case.files.items():
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            (folder / name).write_bytes(data)
        async with gate:
            done = await run(*case.args, cwd=folder, env=shell(**{**env, **case.env}))
        return [f"{case.name}: {fault}\n    {done.printed.strip()[-600:]}"
                for fault in faults(case, done)]

    reports = await asyncio.gather(*(one(n, case) for n, case in enumerate(cases)))
    problems = [line for report in reports for line in report]
    assert not problems, "\n".join(problems)


@pytest.fixture
async def upstream() -> AsyncIterator[FlowSimulator]:
    """Where every case's settings point: it must see no request at all."""
    simulator = FlowSimulator(SimConfig(latency=0.3))
    await simulator.start()
    yield simulator
    await simulator.stop()


def _at(sim: FlowSimulator) -> dict[str, str]:
    return {"FLOW_PROXY_URL": sim.proxy_url, "FLOW_API_URL": sim.api_url,
            "GEMINI_API_URL": sim.base_url}


def gen(*args: str) -> tuple[str, ...]:
    return ("generate", *args)


GENERATE_MISTAKES = [
    Case("flow without credentials", gen("--video", "a dog", "-o", "dog.mp4"),
         ("needs FLOW_BEARER_TOKEN, FLOW_PROXY_TOKEN and FLOW_PROJECT_ID", "python -m bot demo")),
    Case("flow without the proxy token", gen("--video", "a dog", "-o", "dog.mp4"),
         ("needs FLOW_PROXY_TOKEN,",), env={**FLOW, "FLOW_PROXY_TOKEN": ""}),
    Case("gemini without a key", gen("--provider", "gemini", "--video", "a dog", "-o", "d.mp4"),
         ("needs GEMINI_API_KEY", "https://aistudio.google.com/apikey"), env=FLOW),
    Case("-o into a folder that does not exist", gen("--video", "a dog", "-o", "out/dog.mp4"),
         ("the folder out does not exist", "mkdir -p out"), env=FLOW),
    Case("--photo that does not exist", gen("--photo", "me.jpg", "--animate", "waves", "-o",
                                            "me.mp4"),
         ("--photo me.jpg: there is no such file",), env=FLOW),
    Case("--photo is a folder", gen("--photo", "pics", "--animate", "waves", "-o", "me.mp4"),
         ("--photo pics is a folder",), env=FLOW, files={"pics/keep": b""}),
    Case("-o is the image's own name", gen("--image", "a cat", "--animate", "walks", "-o",
                                           "cat.png"),
         ("-o cat.png would get both the image and the video", "-o cat.mp4"), env=FLOW),
    Case("--image with --video", gen("--image", "a cat", "--video", "a dog", "-o", "x.mp4"),
         ("use --animate instead of --video",), env=FLOW),
    Case("a blank --animate", gen("--image", "a cat", "--animate", "", "-o", "x.mp4"),
         ("--animate is blank",), env=FLOW),
    Case("a prompt over PROMPT_MAX_CHARS", gen("--video", "a dog surfing a wave", "-o", "x.mp4"),
         ("has 20 characters; the limit is 10 (PROMPT_MAX_CHARS)",),
         env={**FLOW, "PROMPT_MAX_CHARS": "10"}),
    Case("a seed out of range", gen("--video", "a dog", "--seed", "4294967296", "-o", "x.mp4"),
         ("seed must be a whole number from 0 to 4294967295",), env=FLOW),
    Case("a duration out of range", gen("--provider", "gemini", "--video", "a dog", "--duration",
                                        "61", "-o", "x.mp4"),
         ("whole number of seconds from 1 to 60",), env={**FLOW, "GEMINI_API_KEY": GEMINI_KEY}),
]


async def test_generate_refuses_each_mistake_before_anything_is_sent(
        upstream: FlowSimulator, tmp_path: Path) -> None:
    await check_all(GENERATE_MISTAKES, tmp_path, **_at(upstream))
    assert upstream.log == []


BAD_DOT_ENV = (b"PROVIDER=veo\nALLOWED_USER_IDS=@alice\nFLOW_POLL_INTERVAL=5s\n"
               + f"TELEGRAM_BOT_TOKEN={BOT_TOKEN}\nFLOW_BEARER_TOKEN={BEARER}\n".encode())
SETTINGS_SAID = ("PROVIDER=veo in .env is not valid: use flow, gemini or useapi.",
                 "ALLOWED_USER_IDS=@alice in .env is not valid: use numeric Telegram user ids",
                 "FLOW_POLL_INTERVAL=5s in .env is not valid: write a plain number, without a "
                 "unit, e.g. FLOW_POLL_INTERVAL=5.")

SETTINGS_MISTAKES = [
    Case("the bot with a broken .env", (), SETTINGS_SAID, files={".env": BAD_DOT_ENV}),
    Case("generate with a broken .env", gen("--video", "a dog", "-o", "dog.mp4"), SETTINGS_SAID,
         files={".env": BAD_DOT_ENV}),
    Case("a broken variable in the environment", gen("--video", "a dog", "-o", "dog.mp4"),
         ("MAX_JOBS_PER_USER=0 in the environment is not valid: it must be at least 1",
          "TELEGRAM_API_URL=api.telegram.org in the environment is not valid: write the whole "
          "address"),
         env={"MAX_JOBS_PER_USER": "0", "TELEGRAM_API_URL": "api.telegram.org"}),
    Case("the bot without TELEGRAM_BOT_TOKEN", (), ("TELEGRAM_BOT_TOKEN is not set", "@BotFather"),
         files={".env": b"TELEGRAM_BOT_TOKEN=\nALLOWED_USER_IDS=1\n"}),
    Case("the sim on --port 99999", ("sim", "--port", "99999"),
         ("--port: 99999 is not a port: use a number from 0 to 65535",)),
]


async def test_each_setting_mistake_is_one_sentence_naming_the_variable(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        await check_all([*SETTINGS_MISTAKES, Case(
            "the sim on a busy port", ("sim", "--port", str(port)),
            (f"Port {port} on 127.0.0.1 is already in use", "--port"), code=1)], tmp_path)


async def test_the_bot_names_what_is_wrong_with_telegram_and_never_prints_the_token(
        tmp_path: Path) -> None:
    """Malformed tokens Telegram refuses (masked from the first log line on, at INFO and at
    DEBUG), and a TELEGRAM_API_URL where nothing listens."""
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{closed.getsockname()[1]}"
    fake = FakeTelegram()
    await fake.start()
    common = {"ALLOWED_USER_IDS": "1", **FLOW, "DATABASE_PATH": str(tmp_path / "bot.sqlite3")}
    cases = [Case(f"token {token} at {level}", (), ("refused TELEGRAM_BOT_TOKEN",
                                                    "a bot token looks like"),
                  env={**common, "TELEGRAM_BOT_TOKEN": token, "TELEGRAM_API_URL": fake.url,
                       "LOG_LEVEL": level},
                  code=1, secrets=(*SECRETS, token), traceback_allowed=level == "DEBUG")
             for token, level in (("not-a-token", "DEBUG"), ("123456789:AAHshort", "INFO"))]
    cases.append(Case("nothing listens at TELEGRAM_API_URL", (),
                      (f"Telegram is unreachable at {url}", "check TELEGRAM_API_URL"),
                      env={**common, "TELEGRAM_BOT_TOKEN": BOT_TOKEN, "TELEGRAM_API_URL": url},
                      code=1))
    try:
        await check_all(cases, tmp_path)
    finally:
        await fake.stop()
    assert fake.calls("getMe")


async def test_ctrl_c_says_the_job_was_submitted_and_its_task_id(tmp_path: Path) -> None:
    slow = FlowSimulator(SimConfig(latency=60))
    await slow.start()
    env = shell(**FLOW, **_at(slow), FLOW_POLL_INTERVAL="0.1")
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "generate", "--video", "a dog", "-o", "dog.mp4",
        cwd=tmp_path, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    assert process.stderr is not None
    try:
        seen = b""
        while b"rendering" not in seen:
            line = await asyncio.wait_for(process.stderr.readline(), 30)
            assert line, seen.decode()
            seen += line
        process.send_signal(signal.SIGINT)
        out, err = await asyncio.wait_for(process.communicate(), 30)
    finally:
        await slow.stop()
    done = Done(process.returncode or 0, out.decode(), (seen + err).decode())
    submitted = re.search(r"job 1 \(video\) was already submitted to flow as task (\S+) and may "
                          r"be billed", done.err)
    assert submitted and slow.count("create-video") == 1, done.err
    assert not faults(Case("Ctrl+C", (), (), code=130), done)
    assert not (tmp_path / "dog.mp4").exists()


def _frames(path: Path) -> int:
    with av.open(io.BytesIO(path.read_bytes()), mode="r") as container:
        return len(list(container.decode(video=0)))


async def test_the_demo_makes_an_image_and_a_video_with_no_configuration(tmp_path: Path) -> None:
    """A half-configured .env and a shell set for another provider change nothing."""
    (tmp_path / ".env").write_text("PROVIDER=veo\nFLOW_BEARER_TOKEN=ya29.replace-me\n"
                                   "FLOW_POLL_INTERVAL=5s\n")
    started = time.monotonic()
    done = await run("demo", "-o", "out", cwd=tmp_path,
                     env=shell(PROVIDER="gemini", GEMINI_API_KEY=GEMINI_KEY, LOG_LEVEL="loud"))
    elapsed = time.monotonic() - started
    assert done.code == 0, done.printed
    image, video = tmp_path / "out" / "veo-demo.png", tmp_path / "out" / "veo-demo.mp4"
    assert image.read_bytes().startswith(b"\x89PNG")
    assert _frames(video) >= 1
    assert str(image) in done.out and str(video) in done.out
    assert "Traceback" not in done.printed and GEMINI_KEY not in done.printed
    assert elapsed < 30, f"the demo took {elapsed:.1f}s"


@pytest.mark.parametrize("missing", ["aiohttp", "av"])
def test_the_demo_without_the_sim_extra_says_how_to_install_it(missing: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", f"import sys; sys.modules[{missing!r}] = None\n"
         "from bot.__main__ import main; sys.exit(main(['demo']))"],
        cwd=ROOT, env=shell(), capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip() == (f"The demo needs the simulator extra ({missing} is missing): "
                                   'pip install -e ".[sim]"')


@pytest.mark.parametrize(("command", "named"), [
    ("run", ("TELEGRAM_BOT_TOKEN", "ALLOWED_USER_IDS", "LOG_LEVEL=DEBUG python -m bot")),
    ("demo", ("python -m bot demo -o out", "reads no variable and no .env", '".[sim]"')),
    ("generate", ('--image "a cute cat" --animate "walks slowly" -o cat.mp4', "--photo me.jpg",
                  "FLOW_BEARER_TOKEN", "FLOW_PROXY_TOKEN", "FLOW_PROJECT_ID", "GEMINI_API_KEY",
                  "PROMPT_MAX_CHARS", "exit status")),
    ("sim", ("python -m bot sim --port 9000", "reads no variable")),
])
def test_each_help_has_examples_and_names_the_variables_it_reads(
        command: str, named: tuple[str, ...], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main([command, "--help"])
    assert exit_.value.code == 0
    printed = capsys.readouterr().out
    assert "examples:" in printed
    for name in named:
        assert name in printed, name


def test_the_top_help_starts_with_the_demo(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "python -m bot demo        try it now" in capsys.readouterr().out



# The same front in this process (no start-up to pay): the rest of the mistakes `check` knows.
MORE_MISTAKES = [
    (("--video", "a", "-o", "a.mp4"), {"FLOW_BEARER_TOKEN": "ya29.replace-me",
                                       "FLOW_PROXY_TOKEN": "proxy-token-replace-me"},
     "needs FLOW_BEARER_TOKEN and FLOW_PROXY_TOKEN, not set (or still a replace-me"),
    (("--video", "a dog", "-o", "out"), {}, "-o out is a folder; give a file name"),
    (("--photo", "notes.txt", "--animate", "waves", "-o", "me.mp4"), {},
     "--photo notes.txt is not a PNG, JPEG or WebP picture."),
    (("--photo", "me.png", "--animate", "waves", "-o", "me.png"), {},
     "-o me.png would overwrite your --photo"),
    (("--animate", "walks", "-o", "x.mp4"), {}, "--animate needs a picture"),
    (("--photo", "me.png", "-o", "x.mp4"), {}, "--photo needs --animate PROMPT"),
    (("-o", "x.mp4"), {}, "Say what to make"),
    (("--video", "   ", "-o", "x.mp4"), {}, "--video is blank"),
    (("--video", "a dog", "--resolution", "8k", "-o", "x.mp4"), {}, "1080p or 4k, not “8k”"),
    (("--video", "a dog", "--duration", "0", "-o", "x.mp4"), {}, "from 1 to 60, e.g. --dur 8"),
]


@pytest.fixture
def newcomer_shell(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """This process as a fresh shell in an empty folder (with a picture and a folder in it);
    the root logger that `main` sets up is restored afterwards."""
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    for name, value in FLOW.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "me.png").write_bytes(PNG)
    (tmp_path / "notes.txt").write_text("hello")
    (tmp_path / "out").mkdir()
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    yield tmp_path
    root.setLevel(level)
    root.handlers[:] = handlers
    logging.captureWarnings(False)


@pytest.mark.parametrize(("args", "env", "says"), MORE_MISTAKES)
def test_generate_refuses_the_other_mistakes_too(
        args: tuple[str, ...], env: dict[str, str], says: str, newcomer_shell: Path,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert main(["generate", *args]) == 2
    printed = capsys.readouterr()
    assert says in printed.err and printed.out == ""
    assert not any(secret in printed.err for secret in SECRETS)


@pytest.mark.parametrize(("name", "value", "says"), [
    ("HTTP_TIMEOUT", "1m", "HTTP_TIMEOUT=1m in the environment is not valid: write a plain "
                           "number, without a unit, e.g. HTTP_TIMEOUT=60."),
    ("DAILY_VIDEO_LIMIT", "lots", "DAILY_VIDEO_LIMIT=lots in the environment is not valid: "
                                  "write a whole number, e.g. DAILY_VIDEO_LIMIT=20."),
    ("FLOW_POLL_INTERVAL", "0", "FLOW_POLL_INTERVAL=0 in the environment is not valid: it must "
                                "be more than 0, e.g. FLOW_POLL_INTERVAL=5."),
    ("GEMINI_VERTEX", "maybe", "GEMINI_VERTEX=maybe in the environment is not valid: write true "
                               "or false."),
    ("LOG_LEVEL", "loud", "LOG_LEVEL=loud in the environment is not valid: use one of DEBUG, "
                          "INFO, WARNING, ERROR, CRITICAL."),
    ("FLOW_API_URL", "localhost:8765", "FLOW_API_URL=localhost:8765 in the environment is not "
                                       "valid: write the whole address, starting with https:// "
                                       "(or http://)."),
    ("ADMIN_USER_IDS", "12,bob", "ADMIN_USER_IDS=12,bob in the environment is not valid: use "
                                 "numeric Telegram user ids separated by commas, e.g. "
                                 "123456789,987654321 (bob is not a number)."),
])
def test_a_bad_variable_is_one_sentence_with_the_fix(
        name: str, value: str, says: str, newcomer_shell: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as error:
        load_settings()
    assert error.value.sentences == [says]


def test_every_secret_setting_is_handed_over_for_masking(newcomer_shell: Path) -> None:
    secret = {name for name, info in Settings.model_fields.items()
              if "SecretStr" in str(info.annotation)}
    values = {name: f"s{index}" for index, name in enumerate(sorted(secret))}
    assert {"telegram_bot_token", "flow_bearer_token", "gemini_api_key"} <= secret
    assert sorted(load_settings(**values).secrets()) == sorted(values.values())


def test_blank_secrets_are_not_set(newcomer_shell: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("TELEGRAM_BOT_TOKEN", "FLOW_BEARER_TOKEN", "FLOW_PROXY_TOKEN"):
        monkeypatch.setenv(name, " ")
    settings = load_settings()
    assert settings.telegram_bot_token is settings.flow_bearer_token is None
    assert missing_credentials(settings, ProviderName.FLOW) == ["FLOW_BEARER_TOKEN",
                                                                "FLOW_PROXY_TOKEN"]
