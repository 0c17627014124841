"""One benchmark run: servers up, the client process up, U x J `/video` at once, measure, tear down.

The bench process runs the simulator (Flow, useapi.net and the Gemini API on one port) and the
fake Telegram (asyncio, loopback). The client under test is a separate process: the real bot
(`python -m bot`, with the environment of one provider pointing at the simulator) or the baseline
client (`python -m bench.baseline`, Flow only), so that its memory and CPU can be read from /proc
alone.

Why the simulator and the fake share the bench process (one event loop) rather than each having
its own: measured on the 2-core machine, the bench process uses 1-4 s of CPU per 200 jobs of
5 MB (about 10-25 % of one core over the run), so it does not starve the client under test;
a third process would only add a context switch per request.
"""

from __future__ import annotations

import asyncio
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench import metrics
from bench.botproc import ROOT, Child, ProcStats, Profiler, clean_env
from bench.metrics import PROVIDERS, Command
from bot.sim.config import SimConfig
from bot.sim.server import FlowSimulator, VideoTiming
from bot.sim.telegram import FakeTelegram

BEARER = "ya29.bench-token"
TELEGRAM_TOKEN = "777000:BENCH-TOKEN"
PROXY_TOKEN = "bench-proxy-token"
USEAPI_TOKEN = "user:1-bench-useapi-token"
GEMINI_KEY = "AIzaSy-bench-gemini-key"
CREDITS = 10**12  # never the limit: every provider's account can pay for any run
PROJECT = "00000000-bench-project"
FIRST_USER = 10_001
MIB = 1024 * 1024
READY_TIMEOUT = 60.0
SETTLE_SECONDS = 20.0  # + 1 s per 25 jobs: the bot sends ~25 messages/s at most
CLIENTS = ("bot", "baseline")


class BenchError(RuntimeError):
    """The run could not be carried out (the client died, never came up, ...)."""


@dataclass(frozen=True)
class Params:
    users: int = 200
    jobs_per_user: int = 1
    latency: float = 5.0  # L: seconds from create-video to SUCCESSFUL in the simulator
    poll: float = 0.5  # P: FLOW_POLL_INTERVAL of the bot, the baseline's sleep between polls
    video_mb: float = 5.0  # S: every video is padded to this many MiB
    timeout: float = 600.0  # seconds this run may take, start-up included
    client: str = "bot"
    provider: str = "flow"  # the bot's PROVIDER; the baseline client speaks only flow
    verbose: bool = True
    profile: Path | None = None  # py-spy output for the measured process

    @property
    def jobs(self) -> int:
        return self.users * self.jobs_per_user


def _log(params: Params, text: str) -> None:
    if params.verbose:
        print(f"[bench {params.client} {params.provider} U={params.users}] {text}",
              file=sys.stderr, flush=True)


def _bench_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def provider_env(provider: str, sim: FlowSimulator) -> dict[str, str]:
    """The bot's settings for `provider`, pointing at the simulator (models: the defaults)."""
    if provider == "useapi":
        return {"PROVIDER": "useapi", "USEAPI_TOKEN": USEAPI_TOKEN, "USEAPI_URL": sim.useapi_url}
    if provider == "gemini":
        return {"PROVIDER": "gemini", "GEMINI_API_KEY": GEMINI_KEY,
                "GEMINI_API_URL": sim.base_url}
    return {"PROVIDER": "flow", "FLOW_PROXY_URL": sim.proxy_url, "FLOW_API_URL": sim.api_url,
            "FLOW_BEARER_TOKEN": BEARER, "FLOW_PROXY_TOKEN": PROXY_TOKEN,
            "FLOW_PROJECT_ID": PROJECT}


def _child(params: Params, sim: FlowSimulator, fake: FakeTelegram, folder: Path) -> Child:
    if params.client == "bot":
        users = ",".join(str(FIRST_USER + n) for n in range(params.users))
        env = clean_env({
            "TELEGRAM_BOT_TOKEN": fake.token, "TELEGRAM_API_URL": fake.url,
            **provider_env(params.provider, sim),
            "FLOW_POLL_INTERVAL": f"{params.poll:g}",  # the poll interval of every provider
            "DATABASE_PATH": str(folder / "data" / "bot.sqlite3"), "ALLOWED_USER_IDS": users,
            "LOG_LEVEL": "WARNING",
        })
        return Child("bot", [], env=env, cwd=folder, log_path=folder / "bot.log")
    args = ["--telegram", fake.url, "--token", fake.token, "--proxy", sim.proxy_url,
            "--api", sim.api_url, "--bearer", BEARER, "--proxy-token", PROXY_TOKEN,
            "--project", PROJECT, "--poll", f"{params.poll:g}"]
    return Child("bench.baseline", args, env=clean_env({}), cwd=folder,
                 log_path=folder / "baseline.log")


def queue_commands(fake: FakeTelegram, params: Params) -> list[Command]:
    """Every user sends J `/video` with a unique prompt, all in one go."""
    commands = []
    for n in range(params.users):
        user = FIRST_USER + n
        for j in range(params.jobs_per_user):
            prompt = f"bench clip u{user} j{j}"
            queued_at = time.monotonic()
            fake.send_text(user, f"/video {prompt}")
            commands.append(Command(user, prompt, queued_at))
    return commands


def progress_state(fake: FakeTelegram, chats: set[int]) -> tuple[int, int]:
    """(open, failed) progress messages of the bot in these chats: open = not ✅/❌ yet."""
    still_open = failed = 0
    for chat in chats:
        for message in fake.bot_messages(chat):
            text = str(message.get("text") or "")
            if "#" not in text or "video" in message:
                continue
            if text.startswith("❌"):
                failed += 1
            elif not text.startswith("✅"):
                still_open += 1
    return still_open, failed


async def _wait_ready(fake: FakeTelegram, child: Child) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while not fake.calls("getUpdates"):
        if not child.running():
            raise BenchError(f"{child.module} exited at start-up:\n{child.log_tail()}")
        if time.monotonic() > deadline:
            raise BenchError(f"{child.module} did not ask for updates within {READY_TIMEOUT:g}s:"
                             f"\n{child.log_tail()}")
        await asyncio.sleep(0.05)


async def _wait_done(fake: FakeTelegram, child: Child, params: Params,
                     commands: list[Command], deadline: float) -> bool:
    """Until every job has its video (or failed); False on timeout."""
    chats = {c.chat_id for c in commands}
    next_report = time.monotonic() + 5.0
    while True:
        delivered = len(metrics.match_deliveries(commands, fake.deliveries))
        failed = progress_state(fake, chats)[1] if params.client == "bot" else 0
        if delivered + failed >= len(commands):
            return True
        if not child.running():
            raise BenchError(f"{child.module} died mid-run:\n{child.log_tail()}")
        now = time.monotonic()
        if now > deadline:
            return False
        if now >= next_report:
            _log(params, f"{delivered}/{len(commands)} videos, {failed} failed, "
                         f"{fake.flood_429} x 429")
            next_report = now + 5.0
        await asyncio.sleep(0.05)


async def _settle(fake: FakeTelegram, commands: list[Command], deadline: float) -> float:
    """Let the last progress edits ("✅ done") go out; returns the seconds waited."""
    chats = {c.chat_id for c in commands}
    started = time.monotonic()
    limit = min(deadline, started + SETTLE_SECONDS + len(commands) / 25)
    while progress_state(fake, chats)[0] and time.monotonic() < limit:  # noqa: ASYNC110
        await asyncio.sleep(0.1)  # the fake has no event for "a message was edited"
    return round(time.monotonic() - started, 2)


def servers(params: Params) -> tuple[FlowSimulator, FakeTelegram]:
    """The simulator and the fake Telegram, sized for hundreds of 5 MB videos: the log keeps no
    request bodies (an 800-operation poll at every tick adds up), the fake keeps no uploaded bytes
    and enforces Telegram's published flood limits. Every provider's credentials are demanded,
    and L is the render time of all three (a Gemini interaction is never queued)."""
    config = SimConfig(latency=params.latency, task_polls=1,
                       video_bytes=int(params.video_mb * MIB), proxy_token=PROXY_TOKEN,
                       bearer_token=BEARER, credits=CREDITS, gemini_api_key=GEMINI_KEY,
                       useapi_token=USEAPI_TOKEN, omni_queued=0.0)
    sim = FlowSimulator(config, keep_bodies=False)
    for account in sim.useapi.accounts.values():
        account.credits = CREDITS
    return sim, FakeTelegram(token=TELEGRAM_TOKEN, flood_limits=True, keep_uploads=False)


def video_times(sim: FlowSimulator, provider: str) -> dict[str, VideoTiming]:
    """Per prompt: when the provider's create arrived and when the video's bytes were first
    requested (see the stages in `bench.metrics`)."""
    if provider == "useapi":
        return {job.prompt: VideoTiming(job.started, job.fetched)
                for job in sim.useapi.jobs.values() if job.kind == "video"}
    if provider == "gemini":
        return {it.request.prompt: VideoTiming(it.created, it.fetched)
                for it in sim.interactions()}
    return sim.video_times()


async def run(params: Params) -> metrics.Record:
    """One run; returns the result record (see `bench.metrics` for the definitions)."""
    if params.client not in CLIENTS:
        raise ValueError(f"client must be one of {CLIENTS}")
    if params.provider not in PROVIDERS:
        raise ValueError(f"provider must be one of {PROVIDERS}")
    if params.client == "baseline" and params.provider != "flow":
        raise ValueError("the baseline client speaks only flow")
    started = time.monotonic()
    deadline = started + params.timeout
    bench_cpu0 = _bench_cpu()
    sim, fake = servers(params)
    await sim.start()
    await fake.start()
    child: Child | None = None
    profiler = Profiler(params.profile) if params.profile else None
    try:
        with tempfile.TemporaryDirectory(prefix="veo-bench-") as tmp:
            child = _child(params, sim, fake, Path(tmp))
            try:
                await child.start()
                await _wait_ready(fake, child)
                startup = child.stats()
                if profiler is not None:
                    await profiler.start(child.pid)
                _log(params, f"{child.module} is up (pid {child.pid}); sending {params.jobs} "
                             "/video")
                commands = queue_commands(fake, params)
                finished = await _wait_done(fake, child, params, commands, deadline)
                settle_s = await _settle(fake, commands, deadline) if finished else 0.0
                final = child.stats()
            finally:
                if profiler is not None:
                    await profiler.stop()
                exit_code = await child.stop()
            if exit_code not in (0, None):
                _log(params, f"{child.module} exited with {exit_code}:\n{child.log_tail(10)}")
            chats = {c.chat_id for c in commands}
            failed = progress_state(fake, chats)[1]
    finally:
        if child is not None:
            child.kill_now()
        await fake.stop()
        await sim.stop()
    return _result(params, commands, sim, fake, startup, final, failed=failed,
                   timed_out=not finished, settle_s=settle_s,
                   bench_cpu_s=round(_bench_cpu() - bench_cpu0, 2))


def _result(params: Params, commands: list[Command], sim: FlowSimulator, fake: FakeTelegram,
            startup: ProcStats, final: ProcStats, *, failed: int, timed_out: bool,
            settle_s: float, bench_cpu_s: float) -> metrics.Record:
    matched = metrics.match_deliveries(commands, fake.deliveries)
    work_cpu = max(final.cpu_s - startup.cpu_s, 0.0)
    result: metrics.Record = {
        "client": params.client, "provider": params.provider, "users": params.users,
        "jobs_per_user": params.jobs_per_user,
        "latency_s": params.latency, "poll_s": params.poll, "video_mb": params.video_mb,
        "jobs": len(commands), "failed": failed,
        **metrics.latency_stats(commands, matched, params.latency),
        "flood_floor_p95_s": metrics.flood_floor(len(commands), params.jobs_per_user),
        **metrics.stage_stats(commands, matched, video_times(sim, params.provider),
                              params.latency),
        **metrics.poll_stats(sim.log, params.poll, provider=params.provider, jobs=len(commands)),
        "telegram_requests": api_requests(fake), "telegram_429": fake.flood_429,
        "peak_rss_mb": final.peak_rss_mb, "cpu_s": final.cpu_s,
        "cpu_startup_s": startup.cpu_s,
        "cpu_ms_per_job": round(1000 * work_cpu / max(len(commands), 1), 2),
        "measured_process": "python -m bot" if params.client == "bot"
        else "python -m bench.baseline",
        "bench_cpu_s": bench_cpu_s, "timed_out": timed_out, "settle_s": settle_s,
        "bot_version": code_version(),
        "telegram_by_method": {k: v for k, v in sorted(fake.method_counts().items())
                               if k != "getUpdates"},
    }
    return {key: result[key] for key in (*metrics.KEYS, "settle_s", "bot_version",
                                         "telegram_by_method")}


def api_requests(fake: FakeTelegram) -> int:
    """Bot API calls received, 429s included, without the getUpdates long polls."""
    return sum(1 for method, _ in fake.requests if method != "getUpdates")


def code_version() -> str:
    """The commit of the code under test, "+dirty" when bot/ or storage/ have local changes."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                              capture_output=True, text=True, timeout=10, check=True)
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "bot", "storage"],
                               cwd=ROOT, capture_output=True, text=True, timeout=10, check=True)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")

