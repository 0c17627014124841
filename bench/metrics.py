"""From what the simulator and the fake Telegram saw to the numbers the bench prints.

Definitions (every time is `time.monotonic()`, taken in the bench process):

* job latency: from the moment the user's `/video` update was queued in the fake Telegram to the
  moment the fake accepted the `sendVideo` of that job (after the whole upload arrived and the
  flood check passed). Videos are matched to commands by chat and caption (`🎬 <prompt>`, the
  prompts are unique). overhead = latency - L, the render time the simulator imposes.
* stages of a job's latency, from the simulator's side: submit = command queued -> the create
  request arrived; detect = render finished (create + L) -> the video's bytes requested (flow:
  the MP4 link; useapi: the signed MP4 link; gemini: the Files API download, or the answer that
  carried the video inline); deliver = bytes requested -> sendVideo accepted (download, pacing,
  upload). overhead = submit + detect + deliver.
* flood_floor_p95_s: the least overhead_p95_s any client can have under the fake's flood limits
  when all jobs finish together (they do here: same start, same L): the 95th-percentile video
  is number ceil(0.95 N) and at most 30 go out at once, then 30 per second; and a chat takes at
  most 3 at once, then 1 per second. max(0, (ceil(0.95 N) - 30) / 30, J - 3).
* makespan: from the first command queued to the last video accepted.
* create_requests, poll_requests: the provider's requests that start a video and that ask how it
  is going (`ENDPOINTS`). flow: `POST /api/fix/create-video-veo3` and Google's
  `batchCheckAsyncVideoGenerationStatus` (any number of operations in one call); useapi:
  `POST /v1/google-flow/videos` and `GET /v1/google-flow/jobs/{jobid}`; gemini:
  `POST /v1beta/interactions` and `GET /v1beta/interactions/{id}`. useapi and gemini have no
  batch status call: one poll request asks about one job.
* poll_ticks, flow: the number of distinct poll-interval slots in which Google was polled at least
  once, a slot being `floor((at - first_poll_at) / P)`. A client that sends one batched call per
  interval (the bot's design) never has two calls in one slot, so its requests equal its ticks
  (retries show up as extra requests); a client that polls each job on its own has about
  "jobs in flight" requests per slot.
* poll_ticks, useapi and gemini: the bot sends a burst of requests (one per pending job) per tick
  and then waits P, so a tick is a run of poll requests each arriving within P/2 of the one
  before (a burst can straddle a slot boundary, so slots would miscount it).
* polls_per_tick: poll_requests / poll_ticks: 1 for a client that batches, about the jobs in
  flight for a per-job API.
* polls_per_job: poll_requests / jobs. A client that polls a pending job once per tick, a tick
  every P seconds or more, polls it at most ceil(L / P) + 1 times (`poll_bound`); more means
  duplicate or wasted polls. This is the polling target of the per-job APIs.
* ops_per_poll: the mean number of operations in a poll request's body (1 for per-job APIs).
* proxy_requests: requests under the proxy root (`/api/fix`): create-video and task-status.
* telegram_requests: Bot API calls the fake received, 429s included, without `getUpdates` (the
  long poll for updates is idle time, not work).
* peak_rss_mb, cpu_s: VmHWM and utime+stime of the measured process (the bot, or the baseline
  client), read from /proc just before it is stopped. cpu_startup_s is its CPU when it first
  asked for updates (imports, database, setMyCommands); cpu_ms_per_job leaves that out:
  (cpu_s - cpu_startup_s) / jobs.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

from bot.sim.interactions import DEVELOPER_PATH
from bot.sim.server import POLL, PROXY, LoggedRequest, VideoTiming
from bot.sim.telegram import CHAT_BURST, CHAT_RATE, GLOBAL_BURST, GLOBAL_RATE, Delivery
from bot.sim.useapi import PREFIX as USEAPI

#: One run's JSON line: the KEYS below, then settle_s, bot_version and telegram_by_method.
Record = dict[str, Any]

KEYS = ("client", "provider", "users", "jobs_per_user", "latency_s", "poll_s", "video_mb", "jobs",
        "delivered", "failed", "makespan_s", "latency_p50_s", "latency_p95_s", "latency_max_s",
        "overhead_p50_s", "overhead_p95_s", "flood_floor_p95_s", "submit_p95_s", "detect_p50_s",
        "detect_p95_s", "deliver_p50_s", "deliver_p95_s", "create_requests", "poll_requests",
        "poll_ticks", "polls_per_tick", "polls_per_job", "ops_per_poll", "proxy_requests",
        "telegram_requests", "telegram_429", "peak_rss_mb", "cpu_s", "cpu_startup_s",
        "cpu_ms_per_job", "measured_process", "bench_cpu_s", "timed_out")


@dataclass(frozen=True)
class Endpoints:
    """Where a provider's create and poll requests go, as the simulator's log shows them."""

    create: str  #: the create request: `POST` to this path
    poll_method: str
    poll: str  #: batched: the poll path; else the path before the job's id
    batched: bool  #: one poll request may ask about many jobs

    def creates(self, entry: LoggedRequest) -> bool:
        return entry.method == "POST" and entry.path == self.create

    def polls(self, entry: LoggedRequest) -> bool:
        if entry.method != self.poll_method:
            return False
        if self.batched:
            return entry.path == self.poll
        job = entry.path.removeprefix(self.poll)
        return job != entry.path and bool(job) and "/" not in job


ENDPOINTS = {
    "flow": Endpoints(f"{PROXY}/create-video-veo3", "POST", POLL, batched=True),
    "useapi": Endpoints(f"{USEAPI}/videos", "GET", f"{USEAPI}/jobs/", batched=False),
    "gemini": Endpoints(DEVELOPER_PATH, "GET", f"{DEVELOPER_PATH}/", batched=False),
}
PROVIDERS = tuple(ENDPOINTS)


@dataclass(frozen=True)
class Command:
    """One `/video` the bench sent as a user."""

    chat_id: int
    prompt: str
    queued_at: float


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100), linear between closest ranks (numpy's default)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def match_deliveries(commands: Sequence[Command], deliveries: Iterable[Delivery]
                     ) -> dict[Command, Delivery]:
    """The first accepted video of each command (by chat and caption)."""
    by_key = {(c.chat_id, c.prompt): c for c in commands}
    matched: dict[Command, Delivery] = {}
    for delivery in deliveries:
        prompt = delivery.caption.removeprefix("🎬").strip()
        command = by_key.get((delivery.chat_id, prompt))
        if command is not None and command not in matched:
            matched[command] = delivery
    return matched


def flood_floor(jobs: int, jobs_per_user: int) -> float:
    """See `flood_floor_p95_s` above."""
    global_part = (math.ceil(0.95 * jobs) - GLOBAL_BURST) / GLOBAL_RATE
    chat_part = (jobs_per_user - CHAT_BURST) / CHAT_RATE
    return round(max(0.0, global_part, chat_part), 3)


def poll_stats(log: Iterable[LoggedRequest], interval: float, *, provider: str = "flow",
               jobs: int = 1) -> dict[str, int | float]:
    """The create and poll counts of `provider` (see poll_ticks above for its ticks)."""
    api = ENDPOINTS[provider]
    entries = list(log)
    polls = sorted((entry for entry in entries if api.polls(entry)), key=lambda e: e.at)
    stats: dict[str, int | float] = {
        "create_requests": sum(1 for entry in entries if api.creates(entry)),
        "poll_requests": len(polls), "poll_ticks": 0, "polls_per_tick": 0.0,
        "polls_per_job": round(len(polls) / max(jobs, 1), 2), "ops_per_poll": 0.0,
        "proxy_requests": sum(1 for entry in entries if entry.path.startswith(PROXY))}
    if not polls:
        return stats
    times = [entry.at for entry in polls]
    ticks = _slots(times, interval) if api.batched else _bursts(times, interval / 2)
    ops = sum(entry.ops if api.batched else 1 for entry in polls)
    stats.update(poll_ticks=ticks, polls_per_tick=round(len(polls) / ticks, 2),
                 ops_per_poll=round(ops / len(polls), 2))
    return stats


def _slots(times: Sequence[float], interval: float) -> int:
    return len({math.floor((at - times[0]) / interval) for at in times})


def _bursts(times: Sequence[float], gap: float) -> int:
    """Runs of sorted times in which each is within `gap` of the one before."""
    return 1 + sum(1 for before, at in pairwise(times) if at - before > gap)


def poll_bound(latency: float, poll: float) -> int:
    """The most polls a job pending `latency` seconds gets from a client that polls it once per
    tick, every `poll` seconds or more: the ones before it is done, then the one that sees it."""
    return math.ceil(round(latency / poll, 6)) + 1


def _round(value: float, digits: int = 3) -> float | None:
    return None if math.isnan(value) else round(value, digits)


def latency_stats(commands: Sequence[Command], matched: dict[Command, Delivery],
                  render: float) -> dict[str, int | float | None]:
    latencies = [matched[c].at - c.queued_at for c in commands if c in matched]
    start = min((c.queued_at for c in commands), default=0.0)
    end = max((d.at for d in matched.values()), default=start)
    overheads = [value - render for value in latencies]
    return {
        "delivered": len(latencies),
        "makespan_s": round(end - start, 3),
        "latency_p50_s": _round(percentile(latencies, 50)),
        "latency_p95_s": _round(percentile(latencies, 95)),
        "latency_max_s": _round(max(latencies, default=math.nan)),
        "overhead_p50_s": _round(percentile(overheads, 50)),
        "overhead_p95_s": _round(percentile(overheads, 95)),
    }


def stage_stats(commands: Sequence[Command], matched: dict[Command, Delivery],
                times: Mapping[str, VideoTiming], render: float
                ) -> dict[str, float | None]:
    submit: list[float] = []
    detect: list[float] = []
    deliver: list[float] = []
    for command in commands:
        timing = times.get(command.prompt)
        if timing is None:
            continue
        submit.append(timing.created - command.queued_at)
        if timing.fetched is None:
            continue
        detect.append(timing.fetched - (timing.created + render))
        if command in matched:
            deliver.append(matched[command].at - timing.fetched)
    return {"submit_p95_s": _round(percentile(submit, 95)),
            "detect_p50_s": _round(percentile(detect, 50)),
            "detect_p95_s": _round(percentile(detect, 95)),
            "deliver_p50_s": _round(percentile(deliver, 50)),
            "deliver_p95_s": _round(percentile(deliver, 95))}


@dataclass(frozen=True)
class Target:
    name: str
    ok: bool
    detail: str


def targets(result: Record) -> list[Target]:
    """The issue's targets for one run (defaults: 2 cores, U=200, 5 MB videos)."""
    poll = float(result["poll_s"])
    out: list[Target] = []
    overhead = result.get("overhead_p95_s")
    limit = poll + 1.0
    out.append(Target("overhead_p95_s <= P + 1.0", overhead is not None and overhead <= limit,
                      f"{overhead} vs {limit:g} (floor {result.get('flood_floor_p95_s')})"))
    out.append(_polling_target(result))
    out.append(Target("telegram_429 == 0", int(result["telegram_429"]) == 0,
                      str(result["telegram_429"])))
    rss = result.get("peak_rss_mb")
    out.append(Target("peak_rss_mb <= 250", rss is not None and rss <= 250, str(rss)))
    cpu = result.get("cpu_ms_per_job")
    out.append(Target("cpu_ms_per_job <= 20", cpu is not None and cpu <= 20, str(cpu)))
    return out


def _polling_target(result: Record) -> Target:
    polls = int(result["poll_requests"])
    if ENDPOINTS[str(result.get("provider", "flow"))].batched:
        ticks = int(result["poll_ticks"])
        return Target("poll_requests <= 1.1 x poll_ticks", polls <= 1.1 * ticks,
                      f"{polls} vs {1.1 * ticks:.1f}")
    bound = poll_bound(float(result["latency_s"]), float(result["poll_s"]))
    per_job = float(result["polls_per_job"])
    return Target("polls_per_job <= ceil(L/P) + 1", per_job <= bound, f"{per_job:g} vs {bound}")


def polling_note(provider: str) -> str | None:
    """What the polling numbers mean for a provider without a batch status call."""
    if ENDPOINTS[provider].batched:
        return None
    call = f"GET {ENDPOINTS[provider].poll}{{id}}"
    return textwrap.fill(
        f"note: {provider} has no batch status call. The bot sends one {call} per pending job "
        "at each tick, so polls_per_tick is about the jobs in flight, not 1; a tick is a burst "
        "of polls (the next one starts after P/2 s without a poll). Its polling target is one "
        "request per pending job per tick: polls_per_job <= ceil(L/P) + 1.", width=100)


def format_table(results: Sequence[Record]) -> str:
    """The results side by side, one column per run, with the targets of each bot run."""
    headers = [f"{r['client']} {r.get('provider', 'flow')} U={r['users']}" for r in results]
    rows: list[tuple[str, list[str]]] = []
    for key in KEYS:
        if key in ("client", "provider"):
            continue
        rows.append((key, [_cell(r.get(key)) for r in results]))
    if any("telegram_by_method" in r for r in results):
        methods = sorted({m for r in results for m in r.get("telegram_by_method", {})})
        for method in methods:
            rows.append((f"  {method}", [_cell(r.get("telegram_by_method", {}).get(method, 0))
                                         for r in results]))
    for index, target in enumerate(targets(results[0]) if results else []):
        cells = []
        for r in results:
            t = targets(r)[index]
            cells.append(("met " if t.ok else "MISSED ") + t.detail)
        rows.append((f"target: {target.name}", cells))
    width = max(len(name) for name, _ in rows)
    widths = [max(len(headers[i]), *(len(cells[i]) for _, cells in rows))
              for i in range(len(results))]
    lines = ["  ".join([" " * width, *(h.rjust(w) for h, w in zip(headers, widths, strict=True))])]
    for name, cells in rows:
        lines.append("  ".join([name.ljust(width),
                                *(c.rjust(w) for c, w in zip(cells, widths, strict=True))]))
    return "\n".join(lines)


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)
