"""`python -m bot generate` end to end: a subprocess against the simulator."""

from __future__ import annotations

import asyncio
import io
import os
import sys
from pathlib import Path

import av
import pytest

from bot.sim.media import make_png
from bot.sim.server import FlowSimulator
from tests.conftest import BEARER, GEMINI_KEY, PROXY_TOKEN

ROOT = Path(__file__).resolve().parent.parent


async def _generate(sim: FlowSimulator, tmp_path: Path, *args: str,
                    **env: str) -> tuple[int, str]:
    environment = {k: v for k, v in os.environ.items()
                   if not k.startswith(("FLOW_", "GEMINI_", "PROVIDER"))}
    environment.update(
        FLOW_PROXY_URL=sim.proxy_url, FLOW_API_URL=sim.api_url, FLOW_BEARER_TOKEN=BEARER,
        FLOW_PROXY_TOKEN=PROXY_TOKEN, FLOW_PROJECT_ID="cli-project", FLOW_POLL_INTERVAL="0.05",
        GEMINI_API_URL=sim.base_url, GEMINI_API_KEY=GEMINI_KEY, PYTHONPATH=str(ROOT), **env)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "generate", *args, cwd=tmp_path, env=environment,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    _, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return process.returncode, stderr.decode()


def _frames(path: Path) -> int:
    with av.open(io.BytesIO(path.read_bytes()), mode="r") as container:
        return sum(1 for _ in container.decode(video=0))


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


async def test_failure_exits_non_zero_with_the_reason(sim: FlowSimulator, tmp_path: Path) -> None:
    code, stderr = await _generate(sim, tmp_path, "--video", "FORCE_FAIL", "-o", "x.mp4")
    assert code == 1
    assert "Google could not generate it" in stderr and not (tmp_path / "x.mp4").exists()


async def test_nothing_to_make_is_a_usage_error(sim: FlowSimulator, tmp_path: Path) -> None:
    code, stderr = await _generate(sim, tmp_path, "-o", "x.mp4")
    assert code == 2 and "say what to make" in stderr


async def test_options_the_provider_cannot_honour_are_refused(
        sim: FlowSimulator, tmp_path: Path) -> None:
    code, stderr = await _generate(sim, tmp_path, "--video", "a dog", "--resolution", "1080p",
                                   "-o", "x.mp4")
    assert code == 2 and "the flow provider cannot honour --resolution" in stderr
    assert sim.log == []
