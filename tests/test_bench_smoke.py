"""A small run of the benchmark (`python -m bench`, U=5), and the bench's own helpers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from bench import metrics
from bench.metrics import Command
from bench.workload import Params, servers
from bot.sim.server import POLL, LoggedRequest, VideoTiming
from bot.sim.telegram import Delivery

ROOT = Path(__file__).resolve().parent.parent


def test_bench_smoke_run_delivers_every_video_within_the_flood_limits() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--users", "5", "--latency", "0.5", "--poll", "0.1",
         "--video-mb", "0.2", "--timeout", "60", "--quiet"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=90, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.strip().splitlines()
    result = json.loads(lines[-1])
    assert set(metrics.KEYS) <= set(result)
    assert result["client"] == "bot" and result["measured_process"] == "python -m bot"
    assert result["jobs"] == 5 and result["delivered"] == 5 and result["failed"] == 0
    assert not result["timed_out"]
    assert result["telegram_429"] == 0
    assert result["google_poll_requests"] >= 1 and result["poll_ticks"] >= 1
    assert result["google_poll_requests"] <= 1.1 * result["poll_ticks"]  # batched polling
    assert result["telegram_by_method"]["sendVideo"] == 5
    assert result["peak_rss_mb"] > 0 and result["cpu_s"] > 0
    assert 0 < result["latency_p50_s"] <= result["latency_p95_s"] <= result["latency_max_s"]
    assert "target: telegram_429 == 0" in done.stdout  # the table came before the JSON


def test_the_bench_servers_keep_no_bodies_and_enforce_the_flood_limits() -> None:
    sim, fake = servers(Params(users=2, video_mb=0.5))
    assert not sim.keep_bodies and sim.config.video_bytes == 512 * 1024
    assert fake.flood_limits and not fake.keep_uploads


def test_poll_ticks_count_interval_slots_with_a_poll() -> None:
    def poll(at: float, ops: int) -> LoggedRequest:
        return LoggedRequest("POST", POLL, 200, at, None, ops)

    batched = [poll(10.0 + 0.52 * n, 7) for n in range(10)]  # one call per tick
    stats = metrics.poll_stats(batched, 0.5)
    assert stats["google_poll_requests"] == stats["poll_ticks"] == 10
    assert stats["ops_per_poll"] == 7
    per_job = [poll(10.0 + 0.5 * n + 0.01 * job, 1) for n in range(4) for job in range(20)]
    stats = metrics.poll_stats(per_job, 0.5)
    assert stats["google_poll_requests"] == 80 and stats["poll_ticks"] == 4


def test_latency_is_matched_by_chat_and_caption() -> None:
    commands = [Command(1, "first", 100.0), Command(1, "second", 100.0), Command(2, "x", 101.0)]
    deliveries = [Delivery(1, "🎬 second", 106.0, 10), Delivery(1, "🎬 first", 107.0, 10),
                  Delivery(1, "🎬 first", 108.0, 10)]  # a duplicate does not count twice
    matched = metrics.match_deliveries(commands, deliveries)
    stats = metrics.latency_stats(commands, matched, render=5.0)
    assert stats["delivered"] == 2 and stats["makespan_s"] == 7.0
    assert stats["latency_p50_s"] == 6.5 and stats["overhead_p50_s"] == 1.5


def test_stages_split_the_latency() -> None:
    commands = [Command(1, "a", 100.0), Command(2, "b", 100.0), Command(3, "never", 100.0)]
    matched = {commands[0]: Delivery(1, "🎬 a", 108.0, 10)}
    times = {"a": VideoTiming(created=100.5, fetched=106.0), "b": VideoTiming(101.0, None)}
    stats = metrics.stage_stats(commands, matched, times, render=5.0)
    assert stats["submit_p95_s"] == 0.975  # 0.5 and 1.0
    assert stats["detect_p50_s"] == 0.5 and stats["deliver_p50_s"] == 2.0
