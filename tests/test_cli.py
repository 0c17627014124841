"""`python -m bot generate` end to end (a subprocess against the simulator); its progress line."""

from __future__ import annotations

import asyncio
import io
import os
import sys
import time
from pathlib import Path

import av
import pytest

from bot.jobs.model import Aspect, Job, JobKind, JobState, Phase
from bot.jobs.notifier import DeliveryFailed
from bot.sim.media import make_png
from bot.sim.server import FlowSimulator
from bot.terminal import ProgressLine, TerminalNotifier
from tests.conftest import BEARER, GEMINI_KEY, PROXY_TOKEN

ROOT = Path(__file__).resolve().parent.parent


async def _generate(sim: FlowSimulator, tmp_path: Path, *args: str,
                    **env: str) -> tuple[int, str]:
    environment = {k: v for k, v in os.environ.items()
                   if not k.startswith(("FLOW_", "GEMINI_", "PROVIDER"))}
    environment.update(
        FLOW_PROXY_URL=sim.proxy_url, FLOW_API_URL=sim.api_url, FLOW_BEARER_TOKEN=BEARER,
        FLOW_PROXY_TOKEN=PROXY_TOKEN, FLOW_PROJECT_ID="cli-project", FLOW_POLL_INTERVAL="0.05",
        GEMINI_API_URL=sim.base_url, GEMINI_API_KEY=GEMINI_KEY, PYTHONPATH=str(ROOT))
    environment.update(env)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "generate", *args, cwd=tmp_path, env=environment,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    _, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return process.returncode, stderr.decode()


def _frames(path: Path) -> int:
    with av.open(io.BytesIO(path.read_bytes()), mode="r") as container:
        return len(list(container.decode(video=0)))


@pytest.mark.parametrize("provider", ["flow", "gemini"])
async def test_image_then_animate_writes_a_playable_mp4(
        sim: FlowSimulator, tmp_path: Path, provider: str) -> None:
    code, stderr = await _generate(sim, tmp_path, "--provider", provider, "--image", "a cute cat",
                                   "--animate", "walks slowly", "-o", "cat.mp4")
    assert code == 0, stderr
    assert (tmp_path / "cat.png").read_bytes().startswith(b"\x89PNG")
    assert _frames(tmp_path / "cat.mp4") >= 1
    assert "saved cat.mp4" in stderr and BEARER not in stderr
    if provider == "gemini":  # one Omni interaction, started from the picture just made
        [record] = sim.interactions()
        assert record.request.task == "image_to_video"
        assert record.images == ((tmp_path / "cat.png").read_bytes(),)
        assert GEMINI_KEY not in stderr


async def test_gemini_text_to_video_with_the_defaults(sim: FlowSimulator, tmp_path: Path) -> None:
    code, stderr = await _generate(sim, tmp_path, "--provider", "gemini", "--video",
                                   "a dog surfing", "-o", "dog.mp4")
    assert code == 0, stderr
    assert _frames(tmp_path / "dog.mp4") >= 1
    [record] = sim.interactions()
    wanted = record.request
    assert (wanted.model, wanted.task, wanted.prompt) == (
        "gemini-omni-1.1-flash", "text_to_video", "a dog surfing")
    assert (wanted.aspect_ratio, wanted.resolution, wanted.duration) == ("16:9", "720p", "8s")
    assert "saved dog.mp4" in stderr and GEMINI_KEY not in stderr


async def test_gemini_animates_an_own_photo(sim: FlowSimulator, tmp_path: Path) -> None:
    photo = make_png("a photo of mine", 180, 320)
    (tmp_path / "me.png").write_bytes(photo)
    code, stderr = await _generate(sim, tmp_path, "--provider", "gemini", "--photo", "me.png",
                                   "--animate", "waves", "--portrait", "-o", "me.mp4")
    assert code == 0, stderr
    assert _frames(tmp_path / "me.mp4") >= 1
    [record] = sim.interactions()
    assert record.images == (photo,) and record.request.task == "image_to_video"
    assert record.request.aspect_ratio == "9:16" and record.request.prompt == "waves"
    assert sim.count(":generateContent") == 0  # the photo itself, no image made first


async def test_text_to_video(sim: FlowSimulator, tmp_path: Path) -> None:
    code, stderr = await _generate(sim, tmp_path, "--video", "a dog surfing", "-o", "dog.mp4")
    assert code == 0, stderr
    assert _frames(tmp_path / "dog.mp4") >= 1


async def test_progress_into_a_pipe_is_one_line_per_change(
        sim: FlowSimulator, tmp_path: Path) -> None:
    """stderr is not a terminal here: no carriage returns, no line twice, and no "uploading"
    while the result comes down."""
    code, stderr = await _generate(sim, tmp_path, "--video", "a dog surfing", "-o", "dog.mp4")
    assert code == 0, stderr
    assert "\r" not in stderr and "uploading" not in stderr
    states = [line.rsplit(" ", 1)[0] for line in stderr.splitlines()]
    assert states == ["job 1 video: queued", "job 1 video: sending to flow",
                      "job 1 video: rendering", "job 1 video: downloaded, saving",
                      "job 1 video: saved dog.mp4"]


async def test_failure_exits_non_zero_with_the_reason(sim: FlowSimulator, tmp_path: Path) -> None:
    code, stderr = await _generate(sim, tmp_path, "--video", "FORCE_FAIL", "-o", "x.mp4")
    assert code == 1
    assert "Google could not generate it" in stderr and not (tmp_path / "x.mp4").exists()
    assert "Traceback" not in stderr


async def test_a_refused_token_names_the_variable_to_fix(
        sim: FlowSimulator, tmp_path: Path) -> None:
    wrong = "ya29.expired.token-0000000000000000"
    code, stderr = await _generate(sim, tmp_path, "--video", "a dog", "-o", "x.mp4",
                                   FLOW_BEARER_TOKEN=wrong)
    assert code == 1, stderr
    assert "job 1 stopped: Google Flow or the proxy refused the credentials" in stderr
    assert "FLOW_BEARER_TOKEN lasts about an hour" in stderr and "continues then" not in stderr
    assert wrong not in stderr and "Traceback" not in stderr


async def test_nothing_to_make_is_a_usage_error(sim: FlowSimulator, tmp_path: Path) -> None:
    code, stderr = await _generate(sim, tmp_path, "-o", "x.mp4")
    assert code == 2 and "Say what to make" in stderr


async def test_options_the_provider_cannot_honour_are_refused(
        sim: FlowSimulator, tmp_path: Path) -> None:
    code, stderr = await _generate(sim, tmp_path, "--video", "a dog", "--resolution", "1080p",
                                   "-o", "x.mp4")
    assert code == 2 and "The flow provider cannot honour --resolution" in stderr
    assert sim.log == []


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _job(**changes: object) -> Job:
    now = time.time()
    job = Job(id=7, user_id=0, chat_id=0, kind=JobKind.VIDEO, prompt="a dog",
              aspect=Aspect.LANDSCAPE, state=JobState.RENDERING, created_at=now - 100,
              updated_at=now)
    return job.replace(**changes)


async def test_on_a_terminal_the_line_is_rewritten_in_place_and_keeps_its_timer(
        tmp_path: Path) -> None:
    screen = _Terminal()
    notifier = TerminalNotifier(tmp_path / "x.mp4", ProgressLine(screen))
    job = _job(render_started_at=time.time() - 5)
    await notifier.progress(job, Phase.RENDERING)
    await notifier.progress(job, Phase.RENDERING)
    (tmp_path / "result.mp4").write_bytes(b"mp4")
    await notifier.deliver(job, tmp_path / "result.mp4")
    lines = screen.getvalue().split("\r\x1b[K")
    assert lines == ["", "job 7 video: rendering 1m 40s", "job 7 video: rendering 1m 40s",
                     f"job 7 video: saved {tmp_path / 'x.mp4'} (1m 40s)\n"]


async def test_into_a_file_a_rendering_tick_writes_nothing(tmp_path: Path) -> None:
    log = io.StringIO()
    notifier = TerminalNotifier(tmp_path / "x.mp4", ProgressLine(log))
    for phase in (Phase.QUEUED, Phase.SUBMITTING, Phase.RENDERING, Phase.RENDERING):
        await notifier.progress(_job(), phase)
    assert log.getvalue().splitlines() == ["job 7 video: queued 1m 40s",
                                           "job 7 video: sending to flow 1m 40s",
                                           "job 7 video: rendering 1m 40s"]


async def test_a_result_that_cannot_be_written_fails_with_the_path(tmp_path: Path) -> None:
    notifier = TerminalNotifier(tmp_path / "gone" / "x.mp4", ProgressLine(io.StringIO()))
    (tmp_path / "result.mp4").write_bytes(b"mp4")
    with pytest.raises(DeliveryFailed, match=r"could not write .*gone/x\.mp4"):
        await notifier.deliver(_job(), tmp_path / "result.mp4")


def test_a_log_record_starts_on_its_own_line_under_a_live_progress_line() -> None:
    screen = _Terminal()
    line = ProgressLine(screen)
    line.update("job 7 video: rendering", "3s")
    line.make_room()
    line.make_room()
    screen.write("WARNING something\n")
    line.update("job 7 video: rendering", "4s")
    assert screen.getvalue() == ("\r\x1b[Kjob 7 video: rendering 3s\nWARNING something\n"
                                 "\r\x1b[Kjob 7 video: rendering 4s")
