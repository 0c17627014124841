"""`python -m bot generate --provider useapi`: a subprocess against the simulated useapi.net."""

from __future__ import annotations

import asyncio
import io
import os
import sys
from pathlib import Path

import av

from bot.sim.server import FlowSimulator
from tests.conftest import USEAPI_TOKEN

ROOT = Path(__file__).resolve().parent.parent


async def _generate(sim: FlowSimulator, tmp_path: Path, *args: str) -> tuple[int, str]:
    environment = {k: v for k, v in os.environ.items()
                   if not k.startswith(("FLOW_", "GEMINI_", "USEAPI_", "PROVIDER"))}
    environment.update(USEAPI_URL=sim.useapi_url, USEAPI_TOKEN=USEAPI_TOKEN,
                       FLOW_POLL_INTERVAL="0.05", PYTHONPATH=str(ROOT))
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "generate", "--provider", "useapi", *args, cwd=tmp_path,
        env=environment, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    _, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return process.returncode, stderr.decode()


def _frames(path: Path) -> int:
    with av.open(io.BytesIO(path.read_bytes()), mode="r") as container:
        return sum(1 for _ in container.decode(video=0))


async def test_a_video_from_text_is_a_playable_mp4(sim: FlowSimulator, tmp_path: Path) -> None:
    code, stderr = await _generate(sim, tmp_path, "--video", "a dog surfing", "--duration", "6",
                                   "--seed", "9", "-o", "dog.mp4")
    assert code == 0, stderr
    assert _frames(tmp_path / "dog.mp4") >= 1 and "saved dog.mp4" in stderr
    assert USEAPI_TOKEN not in stderr
    create = next(e.body for e in sim.log if e.path.endswith("/videos"))
    assert (create["duration"], create["seed"], create["async"]) == (6, 9, True)


async def test_image_then_animate(sim: FlowSimulator, tmp_path: Path) -> None:
    code, stderr = await _generate(sim, tmp_path, "--image", "a cute cat", "--animate",
                                   "walks slowly", "-o", "cat.mp4")
    assert code == 0, stderr
    assert (tmp_path / "cat.png").read_bytes().startswith(b"\x89PNG")
    assert _frames(tmp_path / "cat.mp4") >= 1


async def test_a_refusal_exits_non_zero_with_the_reason(sim: FlowSimulator,
                                                        tmp_path: Path) -> None:
    code, stderr = await _generate(sim, tmp_path, "--video", "FORCE_UNSAFE", "-o", "x.mp4")
    assert code == 1 and "safety filters" in stderr and not (tmp_path / "x.mp4").exists()
