"""GeminiProvider against the simulator's Interactions API on loopback (real HTTP): an Omni video,
its extension, and the extension upscaled, each a playable MP4; an expired source is
`SourceExpired`."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from bot.jobs.errors import SourceExpired
from bot.jobs.model import Aspect, JobKind, Options
from bot.jobs.provider import GenerationRequest, RenderState
from bot.providers.gemini.provider import GeminiProvider
from bot.sim.server import FlowSimulator
from tests.conftest import MakeSim
from tests.test_gemini_provider import API_KEY, frames, provider, rendered

OMNI_12 = "gemini-omni-1.2-flash"


@pytest.fixture
async def sim(make_sim: MakeSim) -> FlowSimulator:
    return await make_sim(latency=0.1, gemini_api_key=API_KEY)




async def made(gemini: GeminiProvider, request: GenerationRequest, dest: Path
               ) -> tuple[str, tuple[int, int, int]]:
    """Submit, poll to the end, download: the result's media_id and (frames, width, height)."""
    task_id = await gemini.submit(request)
    status = await rendered(gemini, {"interaction": task_id})
    assert status.state is RenderState.DONE and status.url and status.media_id, status.error
    await gemini.download(status.url, dest, max_bytes=10_000_000)
    return status.media_id, frames(dest)


async def test_make_extend_and_upscale_an_omni_video(
        sim: FlowSimulator, http: httpx.AsyncClient, tmp_path: Path) -> None:
    gemini = provider(sim, http, tmp_path)
    first, first_video = await made(gemini, GenerationRequest(
        JobKind.VIDEO, "a paper boat on a river", Aspect.LANDSCAPE,
        options=Options(duration=4), model=OMNI_12), tmp_path / "first.mp4")
    longer, longer_video = await made(gemini, GenerationRequest(
        JobKind.EXTEND, "it drifts under a bridge", Aspect.LANDSCAPE, first,
        Options(duration=4), model=OMNI_12), tmp_path / "longer.mp4")
    sharp, sharp_video = await made(gemini, GenerationRequest(
        JobKind.UPSCALE, "a paper boat on a river", Aspect.LANDSCAPE, longer,
        Options(resolution="4k"), model=OMNI_12), tmp_path / "sharp.mp4")
    assert first_video[1:] == longer_video[1:] == (320, 180)
    assert sharp_video[1:] == (640, 360) and min(first_video[0], sharp_video[0]) >= 1
    source, extension, upscale = sim.interactions()
    assert (extension.request.task, extension.request.previous_interaction_id) == (
        "extend", source.id)
    assert (upscale.request.task, upscale.request.previous_interaction_id) == (
        "upscale", extension.id)
    assert (extension.seconds, upscale.seconds, upscale.resolution) == (8.0, 8.0, "4k")
    assert {first, longer, sharp} == {f"gemini-interaction:{record.id}"
                                      for record in (source, extension, upscale)}
    assert all(record.request.model == OMNI_12 for record in (source, extension, upscale))


async def test_an_expired_source_is_source_expired(
        sim: FlowSimulator, http: httpx.AsyncClient, tmp_path: Path) -> None:
    gemini = provider(sim, http, tmp_path)
    first, _ = await made(gemini, GenerationRequest(JobKind.VIDEO, "a kite", Aspect.LANDSCAPE),
                          tmp_path / "first.mp4")
    sim.config.gemini_file_seconds = 0.0  # Google's 48 hours have passed
    with pytest.raises(SourceExpired, match="48 hours"):
        await gemini.submit(GenerationRequest(JobKind.EXTEND, "higher", Aspect.LANDSCAPE, first))
    assert len(sim.interactions()) == 1
