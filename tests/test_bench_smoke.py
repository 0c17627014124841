"""Small runs of the benchmark (`python -m bench`, U=5, flow and useapi), and the bench's own
helpers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

from bench import metrics
from bench.metrics import Command
from bench.workload import GEMINI_KEY, Params, servers, video_times
from bot.sim.gemini_models import DEVELOPER_ROOT
from bot.sim.server import POLL, LoggedRequest, VideoTiming
from bot.sim.telegram import Delivery

ROOT = Path(__file__).resolve().parent.parent


def _bench(*args: str) -> tuple[dict[str, Any], str]:
    """A 5-user run; its JSON line and the whole stdout."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--users", "5", "--latency", "0.5", "--poll", "0.1",
         "--video-mb", "0.2", "--timeout", "60", "--quiet", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=90, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert set(metrics.KEYS) <= set(result)
    assert result["client"] == "bot" and result["measured_process"] == "python -m bot"
    assert result["jobs"] == 5 and result["delivered"] == 5 and result["failed"] == 0
    assert not result["timed_out"]
    assert result["telegram_429"] == 0
    assert result["create_requests"] == 5
    assert result["telegram_by_method"]["sendVideo"] == 5
    assert result["peak_rss_mb"] > 0 and result["cpu_s"] > 0
    assert 0 < result["latency_p50_s"] <= result["latency_p95_s"] <= result["latency_max_s"]
    assert result["detect_p95_s"] is not None and result["deliver_p95_s"] is not None
    assert "target: telegram_429 == 0" in done.stdout  # the table came before the JSON
    return result, done.stdout


def test_bench_smoke_run_delivers_every_video_within_the_flood_limits() -> None:
    result, _ = _bench()
    assert result["provider"] == "flow"
    assert result["poll_requests"] >= 1 and result["poll_ticks"] >= 1
    assert result["poll_requests"] <= 1.1 * result["poll_ticks"]  # batched polling


def test_bench_smoke_run_through_useapi_polls_each_job_once_per_tick() -> None:
    result, stdout = _bench("--provider", "useapi")
    assert result["provider"] == "useapi" and result["proxy_requests"] == 0
    assert result["poll_requests"] >= 5 and result["poll_ticks"] >= 1
    assert result["polls_per_job"] <= metrics.poll_bound(0.5, 0.1)
    assert "target: polls_per_job <= ceil(L/P) + 1" in stdout
    assert "useapi has no batch status call" in stdout


def test_a_baseline_run_needs_the_flow_provider() -> None:
    done = subprocess.run([sys.executable, "-m", "bench", "--provider", "gemini", "--baseline"],
                          cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode != 0 and "--provider flow" in done.stderr


def test_the_bench_servers_keep_no_bodies_and_enforce_the_flood_limits() -> None:
    sim, fake = servers(Params(users=2, video_mb=0.5))
    assert not sim.keep_bodies and sim.config.video_bytes == 512 * 1024
    assert fake.flood_limits and not fake.keep_uploads
    assert all(account.credits >= 10**9 for account in sim.useapi.accounts.values())


async def test_gemini_stages_start_at_the_create_and_end_at_the_download() -> None:
    sim, _ = servers(Params(users=1, latency=0.0, video_mb=0.1))
    async with sim, httpx.AsyncClient(base_url=sim.base_url,
                                      headers={"x-goog-api-key": GEMINI_KEY}) as http:
        created = await http.post("/v1beta/interactions", json={
            "model": "gemini-omni-1.1-flash", "input": "a dog surfing", "background": True,
            "response_format": {"type": "video", "delivery": "uri"}})
        assert created.status_code == 200, created.text
        assert video_times(sim, "gemini")["a dog surfing"].fetched is None
        done = (await http.get(f"/v1beta/interactions/{created.json()['id']}")).json()
        video = done["steps"][0]["content"][1]
        download = await http.get(video["uri"].removeprefix(DEVELOPER_ROOT))
        assert download.status_code == 200 and len(download.content) >= 100 * 1024
    timing = video_times(sim, "gemini")["a dog surfing"]
    assert timing.fetched is not None and timing.fetched >= timing.created


def test_poll_ticks_count_interval_slots_with_a_poll() -> None:
    def poll(at: float, ops: int) -> LoggedRequest:
        return LoggedRequest("POST", POLL, 200, at, None, ops)

    batched = [poll(10.0 + 0.52 * n, 7) for n in range(10)]  # one call per tick
    stats = metrics.poll_stats(batched, 0.5)
    assert stats["poll_requests"] == stats["poll_ticks"] == 10
    assert stats["ops_per_poll"] == 7 and stats["polls_per_tick"] == 1
    per_job = [poll(10.0 + 0.5 * n + 0.01 * job, 1) for n in range(4) for job in range(20)]
    stats = metrics.poll_stats(per_job, 0.5)
    assert stats["poll_requests"] == 80 and stats["poll_ticks"] == 4


def test_per_job_apis_count_a_burst_as_one_tick_even_across_a_slot_boundary() -> None:
    def get(at: float, path: str = "/v1/google-flow/jobs/j1-email:a@b.c-bot:google-flow"
            ) -> LoggedRequest:
        return LoggedRequest("GET", path, 200, at, None, 0)

    # 3 ticks of 8 jobs, every 0.2 s + the burst's own 0.07 s; the second straddles slot 1|2
    log = [get(t0 + 0.01 * job) for t0 in (0.0, 0.37, 0.74) for job in range(8)]
    log += [LoggedRequest("POST", "/v1/google-flow/videos", 201, 0.0, None, 0),
            get(0.5, "/v1/google-flow/accounts/a@b.c")]  # not a poll
    stats = metrics.poll_stats(log, 0.2, provider="useapi", jobs=8)
    assert stats["create_requests"] == 1 and stats["poll_requests"] == 24
    assert stats["poll_ticks"] == 3 and stats["polls_per_tick"] == 8
    assert stats["polls_per_job"] == 3 and stats["ops_per_poll"] == 1
    gemini = [LoggedRequest("GET", "/v1beta/interactions/v1_abc", 200, 1.0, None, 0),
              LoggedRequest("POST", "/v1beta/interactions/v1_abc/cancel", 200, 1.1, None, 0),
              LoggedRequest("POST", "/v1beta/interactions", 200, 0.0, None, 0)]
    stats = metrics.poll_stats(gemini, 0.2, provider="gemini", jobs=1)
    assert stats["create_requests"] == 1 and stats["poll_requests"] == 1


def test_the_polling_bound_of_per_job_apis() -> None:
    assert metrics.poll_bound(3.0, 0.2) == 16  # 15 polls while it renders, 1 that sees it done
    assert metrics.poll_bound(0.5, 0.2) == 4
    assert metrics.poll_bound(0.0, 0.5) == 1


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
