"""The real UseapiProvider against the simulated useapi.net over loopback: a video, its
extension and that extension upscaled to 4K, each a playable MP4, the credits falling by what
useapi documents; an image upscaled; a source past its retention."""

from __future__ import annotations

import asyncio
import dataclasses
import io
from collections.abc import AsyncIterator
from pathlib import Path

import av
import httpx
import pytest

from bot.jobs.errors import SourceExpired
from bot.jobs.model import Aspect, JobKind, Options
from bot.jobs.provider import GenerationRequest, RenderState, RenderStatus
from bot.jobs.retry import RetryPolicy
from bot.providers.useapi.client import UseapiClient
from bot.providers.useapi.provider import UseapiProvider
from bot.sim.media import image_size
from bot.sim.server import FlowSimulator
from bot.sim.useapi_state import DEFAULT_EMAIL
from tests.conftest import MakeSim

TOKEN = "user:12345-sim-actions-token-abcdef"
MAX_BYTES = 50 * 1024 * 1024


@pytest.fixture
async def sim(make_sim: MakeSim) -> FlowSimulator:
    return await make_sim(latency=0.1, useapi_token=TOKEN)


@pytest.fixture
async def provider(sim: FlowSimulator) -> AsyncIterator[UseapiProvider]:
    async with httpx.AsyncClient(timeout=10) as http:
        client = UseapiClient(http=http, base_url=sim.useapi_url, token=TOKEN,
                              retry=RetryPolicy(attempts=1))
        yield UseapiProvider(client=client, email=DEFAULT_EMAIL,
                             image_model="nano-banana-pro", video_model="veo-3.1-fast")


def _credits(sim: FlowSimulator) -> int:
    return sim.useapi.accounts[DEFAULT_EMAIL].credits


async def _finished(provider: UseapiProvider, request: GenerationRequest) -> RenderStatus:
    """Submit, accept and poll one video job until it ends."""
    task = await provider.submit(request)
    accepted = await provider.accepted(task, request.kind)
    assert accepted is not None and accepted.render is not None
    for _ in range(200):
        status = (await provider.check(accepted.render))[0]
        if status.state in (RenderState.DONE, RenderState.FAILED):
            assert status.state is RenderState.DONE, status.error
            return status
        await asyncio.sleep(0.02)
    raise AssertionError("the render did not finish")


async def _mp4_width(provider: UseapiProvider, status: RenderStatus, dest: Path) -> int:
    assert status.url is not None
    await provider.download(status.url, dest, max_bytes=MAX_BYTES)
    with av.open(io.BytesIO(dest.read_bytes()), mode="r") as container:
        widths = [int(frame.width) for frame in container.decode(video=0)]
    assert widths, "the MP4 has no frames"
    return widths[0]


async def test_a_video_its_extension_and_that_in_4k(sim: FlowSimulator,
                                                    provider: UseapiProvider,
                                                    tmp_path: Path) -> None:
    made = await _finished(provider, GenerationRequest(JobKind.VIDEO, "a dog surfing",
                                                       Aspect.LANDSCAPE))
    assert made.media_id and made.credits == _credits(sim) == 990  # veo-3.1-fast, Ultra: 10
    extended = await _finished(provider, GenerationRequest(
        JobKind.EXTEND, "the wave breaks over it", Aspect.LANDSCAPE, made.media_id))
    assert extended.media_id not in (None, made.media_id)
    assert extended.credits == _credits(sim) == 980  # an extension: one more generation
    uhd = await _finished(provider, GenerationRequest(
        JobKind.UPSCALE, "", Aspect.LANDSCAPE, extended.media_id, Options(resolution="4k")))
    assert uhd.media_id and uhd.credits == _credits(sim) == 930  # 4K: 50 credits
    widths = [await _mp4_width(provider, status, tmp_path / f"{n}.mp4")
              for n, status in enumerate((made, extended, uhd))]
    assert widths[0] == widths[1] < widths[2]
    assert (tmp_path / "0.mp4").read_bytes() != (tmp_path / "1.mp4").read_bytes()
    posted = [entry.path for entry in sim.log if entry.method == "POST"]
    assert posted == ["/v1/google-flow/videos", "/v1/google-flow/videos/extend",
                      "/v1/google-flow/videos/upscale"]  # each create sent once


async def test_an_image_upscaled_to_2k(sim: FlowSimulator, provider: UseapiProvider) -> None:
    task = await provider.submit(GenerationRequest(JobKind.IMAGE, "a cat", Aspect.CLASSIC))
    image = await provider.accepted(task, JobKind.IMAGE)
    assert image is not None and image.media_id
    picture = sim.useapi.pictures[image.media_id]
    task = await provider.submit(GenerationRequest(
        JobKind.IMAGE_UPSCALE, "", Aspect.CLASSIC, image.media_id, Options(resolution="2k")))
    larger = await provider.accepted(task, JobKind.IMAGE_UPSCALE)
    assert larger is not None and larger.image_bytes is not None
    assert larger.media_id == image.media_id
    assert image_size(larger.image_bytes) == (picture.width * 2, picture.height * 2)
    assert _credits(sim) == 1000


async def test_a_source_past_its_retention_is_source_expired(sim: FlowSimulator,
                                                             provider: UseapiProvider) -> None:
    sim.config.media_retention = 3600.0
    made = await _finished(provider, GenerationRequest(JobKind.VIDEO, "a dog surfing",
                                                       Aspect.PORTRAIT))
    assert made.media_id is not None
    held = sim.useapi.videos[made.media_id]
    sim.useapi.videos[made.media_id] = dataclasses.replace(held, made=held.made - 3601)
    for kind, options in ((JobKind.EXTEND, Options()),
                          (JobKind.UPSCALE, Options(resolution="4k"))):
        with pytest.raises(SourceExpired):
            await provider.submit(GenerationRequest(kind, "on", Aspect.PORTRAIT,
                                                    made.media_id, options))
    assert _credits(sim) == 990  # nothing more was charged
