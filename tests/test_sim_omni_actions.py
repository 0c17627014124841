"""The simulated Interactions API extends and upscales Omni videos as Agent Platform's "Extend
videos" and "Upscale videos" pages document them (`video_config.task`, the video as
`previous_interaction_id` or one `{"type": "video"}` input block), with plain httpx requests."""

from __future__ import annotations

import base64
import io
from collections.abc import AsyncIterator
from typing import Any

import av
import httpx
import pytest

from bot.sim.server import FlowSimulator
from tests.conftest import MakeSim
from tests.test_sim_gemini import (
    GOOGLE_HOST,
    KEY,
    assert_error,
    create_body,
    frames,
    generate,
    video_blocks,
    video_format,
)

OMNI_12 = "gemini-omni-1.2-flash"


@pytest.fixture
async def sim(make_sim: MakeSim) -> FlowSimulator:
    return await make_sim(latency=0.1, gemini_api_key=KEY)


@pytest.fixture
async def client(sim: FlowSimulator) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=sim.base_url, headers={"x-goog-api-key": KEY},
                                 timeout=10) as http:
        yield http


def task(name: str) -> dict[str, Any]:
    return {"video_config": {"task": name}}


def size(mp4: bytes) -> tuple[int, int]:
    with av.open(io.BytesIO(mp4), mode="r") as container:
        frame = next(container.decode(video=0))
        return int(frame.width), int(frame.height)


async def mp4_of(client: httpx.AsyncClient, interaction: dict[str, Any]) -> bytes:
    [video] = video_blocks(interaction)
    if "data" in video:
        return base64.b64decode(video["data"])
    answer = await client.get(video["uri"].replace(GOOGLE_HOST, client_base(client)))
    assert answer.status_code == 200, answer.text
    return answer.content


def client_base(client: httpx.AsyncClient) -> str:
    return str(client.base_url).rstrip("/")


async def source_video(client: httpx.AsyncClient, *, seconds: int = 4, delivery: str = "uri",
                       model: str = OMNI_12, prompt: str = "a lemon rolling") -> dict[str, Any]:
    return await generate(client, create_body(prompt, model=model, response_format=video_format(
        duration=f"{seconds}s", delivery=delivery)))


async def test_extend_then_upscale_by_previous_interaction(
        sim: FlowSimulator, client: httpx.AsyncClient) -> None:
    first = await source_video(client)
    extended = await generate(client, create_body(
        "it rolls off the table", model=OMNI_12, previous_interaction_id=first["id"],
        response_format=video_format(duration="4s"), generation_config=task("extend")))
    upscaled = await generate(client, create_body(
        "", model=OMNI_12, previous_interaction_id=extended["id"],
        response_format=video_format(resolution="4k"), generation_config=task("upscale")))
    assert size(await mp4_of(client, first)) == (320, 180)
    assert size(await mp4_of(client, extended)) == (320, 180)
    big = await mp4_of(client, upscaled)
    assert size(big) == (640, 360) and frames(big) >= 1
    source, extension, upscale = sim.interactions()
    assert (source.seconds, extension.seconds, upscale.seconds) == (4.0, 8.0, 8.0)
    assert extension.source == f"interactions/{first['id']}"
    assert (upscale.source, upscale.resolution) == (f"interactions/{extended['id']}", "4k")
    assert upscaled["usage"]["total_input_tokens"] == 0
    assert upscaled["usage"]["total_output_tokens"] == 11584 * 8


async def test_a_files_uri_or_inline_video_is_a_source(
        sim: FlowSimulator, client: httpx.AsyncClient) -> None:
    first = await source_video(client)
    [video] = video_blocks(first)
    by_file = await generate(client, create_body(
        [{"type": "text", "text": "and then it stops"},
         {"type": "video", "uri": video["uri"].split(":download")[0], "mime_type": "video/mp4"}],
        model=OMNI_12, generation_config=task("extend")))
    inline = await generate(client, create_body(
        [{"type": "video", "mime_type": "video/mp4",
          "data": base64.b64encode(await mp4_of(client, first)).decode()}],
        model=OMNI_12, response_format=video_format(resolution="1080p"),
        generation_config=task("upscale")))
    assert size(await mp4_of(client, inline)) == (480, 270)
    records = sim.interactions()
    assert records[1].source == f"files/{video['uri'].split('/files/')[1].split(':')[0]}"
    assert records[1].seconds == 4.0 + 8.0 and video_blocks(by_file)
    assert (records[2].source, records[2].resolution) == ("inline", "1080p")


async def test_omni_1_1_extends_but_does_not_upscale(client: httpx.AsyncClient) -> None:
    first = await source_video(client, model="gemini-omni-1.1-flash")
    extended = await generate(client, create_body(
        "more", previous_interaction_id=first["id"], generation_config=task("extend")))
    assert video_blocks(extended)
    answer = await client.post("/v1beta/interactions", json=create_body(
        "", previous_interaction_id=first["id"], response_format=video_format(resolution="4k"),
        generation_config=task("upscale")))
    assert_error(answer, 400, "INVALID_ARGUMENT", "upscale is not supported by "
                                                 "gemini-omni-1.1-flash")


async def test_upscale_refusals(sim: FlowSimulator, client: httpx.AsyncClient) -> None:
    first = await source_video(client)
    hd = await generate(client, create_body("hd", model=OMNI_12,
                                            response_format=video_format(resolution="1080p")))
    long = await generate(client, create_body(
        "longer", model=OMNI_12, previous_interaction_id=hd["id"],
        response_format=video_format(duration="10s"), generation_config=task("extend")))
    no_target = create_body("", model=OMNI_12, previous_interaction_id=first["id"],
                            generation_config=task("upscale"))
    del no_target["response_format"]
    cases: list[tuple[dict[str, Any], list[str]]] = [
        (no_target, ["response_format.resolution is required for upscale"]),
        (create_body("", model=OMNI_12, previous_interaction_id=first["id"],
                     response_format=video_format(resolution="360p"),
                     generation_config=task("upscale")), ["'360p' is not an upscale target"]),
        (create_body("", model=OMNI_12, previous_interaction_id=hd["id"],
                     response_format=video_format(resolution="4k"),
                     generation_config=task("upscale")), ["1080p video to 4k is not supported"]),
        (create_body("", model=OMNI_12, previous_interaction_id=long["id"],
                     response_format=video_format(resolution="1080p"),
                     generation_config=task("upscale")), ["up to 15 seconds", "18 seconds"]),
        (create_body("", model=OMNI_12, generation_config=task("upscale"),
                     response_format=video_format(resolution="1080p")),
         ["upscale needs a video"]),
        (create_body([{"type": "video", "uri": "files/a1", "mime_type": "video/mp4"}] * 2,
                     model=OMNI_12, generation_config=task("extend")),
         ["extend takes one video, got 2"]),
        (create_body("more", model=OMNI_12, previous_interaction_id=first["id"],
                     response_format=video_format(duration="11s"),
                     generation_config=task("extend")), ["out of range", "3s to 10s"]),
        (create_body([{"type": "video", "data": "AAAA"}], model=OMNI_12,
                     generation_config=task("extend")), ["mime_type is required"]),
        (create_body([{"type": "video", "data": "AAAA", "mime_type": "video/mp4"}],
                     model=OMNI_12, generation_config=task("extend")),
         ["Unable to process input video"]),
        (create_body([{"type": "video", "uri": "https://example.com/clip.mp4"}],
                     model=OMNI_12, generation_config=task("extend")),
         ["is not a Files API file"]),
    ]
    before = len(sim.interactions())
    for body, words in cases:
        answer = await client.post("/v1beta/interactions", json=body)
        assert_error(answer, 400, "INVALID_ARGUMENT", *words)
    assert len(sim.interactions()) == before


async def test_a_source_without_a_video_is_a_400(client: httpx.AsyncClient) -> None:
    refused = await source_video(client, prompt="FORCE_UNSAFE a lemon")
    answer = await client.post("/v1beta/interactions", json=create_body(
        "more", model=OMNI_12, previous_interaction_id=refused["id"],
        generation_config=task("extend")))
    assert_error(answer, 400, "INVALID_ARGUMENT", "has no video to extend")


async def test_an_expired_source_is_a_404(sim: FlowSimulator,
                                          client: httpx.AsyncClient) -> None:
    first = await source_video(client)
    [video] = video_blocks(first)
    sim.config.gemini_file_seconds = 0.0  # every generated file is now past its retention
    by_previous = await client.post("/v1beta/interactions", json=create_body(
        "more", model=OMNI_12, previous_interaction_id=first["id"],
        generation_config=task("extend")))
    assert_error(by_previous, 404, "NOT_FOUND", f"interaction {first['id']} has expired")
    by_file = await client.post("/v1beta/interactions", json=create_body(
        [{"type": "video", "uri": video["uri"], "mime_type": "video/mp4"}], model=OMNI_12,
        response_format=video_format(resolution="1080p"), generation_config=task("upscale")))
    assert_error(by_file, 404, "NOT_FOUND", "not found")
    download = await client.get(video["uri"].replace(GOOGLE_HOST, sim.base_url))
    assert_error(download, 404, "NOT_FOUND")
    assert len(sim.interactions()) == 1
