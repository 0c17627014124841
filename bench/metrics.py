"""From what the simulator and the fake Telegram saw to the numbers the bench prints.

Definitions (every time is `time.monotonic()`, taken in the bench process):

* job latency: from the moment the user's `/video` update was queued in the fake Telegram to the
  moment the fake accepted the `sendVideo` of that job (after the whole upload arrived and the
  flood check passed). Videos are matched to commands by chat and caption (`🎬 <prompt>`, the
  prompts are unique). overhead = latency - L, the render time the simulator imposes.
* stages of a job's latency, from the simulator's side: submit = command queued -> create-video
  arrived; detect = render finished (create-video + L) -> the video's download requested;
  deliver = download requested -> sendVideo accepted (download, pacing, upload).
  overhead = submit + detect + deliver.
* flood_floor_p95_s: the least overhead_p95_s any client can have under the fake's flood limits
  when all jobs finish together (they do here: same start, same L): the 95th-percentile video
  is number ceil(0.95 N) and at most 30 go out at once, then 30 per second; and a chat takes at
  most 3 at once, then 1 per second. max(0, (ceil(0.95 N) - 30) / 30, J - 3).
* makespan: from the first command queued to the last video accepted.
* google_poll_requests: requests to Google's `batchCheckAsyncVideoGenerationStatus`.
* poll_ticks: the number of distinct poll-interval slots in which Google was polled at least once,
  a slot being `floor((at - first_poll_at) / P)`. A client that sends one batched call per
  interval (the bot's design) never has two calls in one slot, so its requests equal its ticks
  (retries show up as extra requests); a client that polls each job on its own has about
  "jobs in flight" requests per slot.
* ops_per_poll: the mean number of operations in a poll request's body.
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
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot.sim.server import POLL, PROXY, LoggedRequest, VideoTiming
from bot.sim.telegram import CHAT_BURST, CHAT_RATE, GLOBAL_BURST, GLOBAL_RATE, Delivery

#: One run's JSON line: the KEYS below, then settle_s, bot_version and telegram_by_method.
Record = dict[str, Any]

KEYS = ("client", "users", "jobs_per_user", "latency_s", "poll_s", "video_mb", "jobs",
        "delivered", "failed", "makespan_s", "latency_p50_s", "latency_p95_s", "latency_max_s",
        "overhead_p50_s", "overhead_p95_s", "flood_floor_p95_s", "submit_p95_s", "detect_p50_s",
        "detect_p95_s", "deliver_p50_s", "deliver_p95_s", "google_poll_requests", "poll_ticks",
        "ops_per_poll", "proxy_requests", "telegram_requests", "telegram_429", "peak_rss_mb",
        "cpu_s", "cpu_startup_s", "cpu_ms_per_job", "measured_process", "bench_cpu_s", "timed_out")


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


def poll_stats(log: Iterable[LoggedRequest], interval: float) -> dict[str, int | float]:
    polls = [entry for entry in log if entry.path == POLL]
    proxy = sum(1 for entry in log if entry.path.startswith(PROXY))
    if not polls:
        return {"google_poll_requests": 0, "poll_ticks": 0, "ops_per_poll": 0.0,
                "proxy_requests": proxy}
    first = min(entry.at for entry in polls)
    slots = {math.floor((entry.at - first) / interval) for entry in polls}
    return {"google_poll_requests": len(polls), "poll_ticks": len(slots),
            "ops_per_poll": round(sum(entry.ops for entry in polls) / len(polls), 2),
            "proxy_requests": proxy}


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
    ticks, polls = int(result["poll_ticks"]), int(result["google_poll_requests"])
    out.append(Target("google_poll_requests <= 1.1 x poll_ticks", polls <= 1.1 * ticks,
                      f"{polls} vs {1.1 * ticks:.1f}"))
    out.append(Target("telegram_429 == 0", int(result["telegram_429"]) == 0,
                      str(result["telegram_429"])))
    rss = result.get("peak_rss_mb")
    out.append(Target("peak_rss_mb <= 250", rss is not None and rss <= 250, str(rss)))
    cpu = result.get("cpu_ms_per_job")
    out.append(Target("cpu_ms_per_job <= 20", cpu is not None and cpu <= 20, str(cpu)))
    return out


def format_table(results: Sequence[Record]) -> str:
    """The results side by side, one column per run, with the targets of each bot run."""
    headers = [f"{r['client']} U={r['users']}" for r in results]
    rows: list[tuple[str, list[str]]] = []
    for key in KEYS:
        if key == "client":
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
