"""A small run of the benchmark (`python -m bench`, U=5), and the bench's own helpers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from email.parser import BytesParser
from email.policy import HTTP
from pathlib import Path

import httpx

from bench import metrics
from bench.metrics import Command
from bot.sim.httpserver import parse_multipart
from bot.sim.server import POLL, LoggedRequest

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


def _email_parser(content_type: str, body: bytes
                  ) -> tuple[dict[str, str], dict[str, tuple[str, bytes]]]:
    """The standard library's reading of the same body: the reference."""
    message = BytesParser(policy=HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body)
    fields: dict[str, str] = {}
    files: dict[str, tuple[str, bytes]] = {}
    for part in message.iter_parts():
        name = str(part.get_param("name", header="content-disposition"))
        payload = part.get_payload(decode=True)
        assert isinstance(payload, bytes)
        filename = part.get_filename()
        if filename is None:
            fields[name] = payload.decode()
        else:
            files[name] = (filename, payload)
    return fields, files


def test_fast_multipart_parser_agrees_with_the_standard_library() -> None:
    video = os.urandom(100_000) + b"\r\n--not-the-boundary\r\n" + bytes(1000)
    request = httpx.Request(
        "POST", "http://x/", data={"chat_id": "42", "caption": '🎬 a "quoted"\r\nprompt'},
        files={"video": ('clip "1".mp4', video, "video/mp4")})
    body = request.read()
    content_type = request.headers["content-type"]
    assert parse_multipart(content_type, body) == _email_parser(content_type, body)


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
    from bench.fakes import Delivery

    commands = [Command(1, "first", 100.0), Command(1, "second", 100.0), Command(2, "x", 101.0)]
    deliveries = [Delivery(1, "🎬 second", 106.0, 10), Delivery(1, "🎬 first", 107.0, 10),
                  Delivery(1, "🎬 first", 108.0, 10)]  # a duplicate does not count twice
    matched = metrics.match_deliveries(commands, deliveries)
    stats = metrics.latency_stats(commands, matched, render=5.0)
    assert stats["delivered"] == 2 and stats["makespan_s"] == 7.0
    assert stats["latency_p50_s"] == 6.5 and stats["overhead_p50_s"] == 1.5
