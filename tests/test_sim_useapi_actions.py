"""The useapi.net simulator's extend and upscale endpoints answer as useapi's "Extend Videos",
"Upscale Videos" and "Upscale Images" pages say, over real HTTP, with plain httpx."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import io
from typing import Any
from urllib.parse import quote

import av
import httpx
import pytest

from bot.sim.media import image_size, make_png
from bot.sim.server import FlowSimulator
from bot.sim.useapi_state import DEFAULT_EMAIL
from tests.conftest import MakeSim

TOKEN = "user:12345-sim-token-abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}", "User-Agent": "sim-test/1"}


@pytest.fixture
async def sim(make_sim: MakeSim) -> FlowSimulator:
    return await make_sim(latency=0.15, useapi_token=TOKEN)


@pytest.fixture
def client(http: httpx.AsyncClient) -> httpx.AsyncClient:
    return http


def _width(data: bytes) -> int:
    with av.open(io.BytesIO(data), mode="r") as container:
        for frame in container.decode(video=0):
            return int(frame.width)
    raise AssertionError("no frame")


def _credits(sim: FlowSimulator) -> int:
    return sim.useapi.accounts[DEFAULT_EMAIL].credits


async def _post(client: httpx.AsyncClient, sim: FlowSimulator, path: str,
                **body: Any) -> httpx.Response:
    return await client.post(f"{sim.useapi_url}{path}", headers=AUTH, json=body)


async def _done(client: httpx.AsyncClient, sim: FlowSimulator, answer: httpx.Response
                ) -> dict[str, Any]:
    """The finished record of the job a 201 names."""
    assert answer.status_code == 201, answer.text
    jobid = answer.json()["jobid"]
    for _ in range(100):
        record = (await client.get(f"{sim.useapi_url}/jobs/{quote(jobid, safe='')}",
                                   headers=AUTH)).json()
        if record["status"] in ("completed", "failed"):
            assert record["status"] == "completed", record
            media: dict[str, Any] = record["response"]["media"][0]
            return {**media, "remainingCredits": record["response"]["remainingCredits"]}
        await asyncio.sleep(0.03)
    raise AssertionError(f"job {jobid} did not finish")


async def _post_video(client: httpx.AsyncClient, sim: FlowSimulator,
                      **body: Any) -> httpx.Response:
    return await client.post(f"{sim.useapi_url}/videos", headers=AUTH,
                             json={"prompt": "a dog surfing", "async": True, **body})


async def _video_id(client: httpx.AsyncClient, sim: FlowSimulator, **body: Any) -> str:
    media = await _done(client, sim, await _post_video(client, sim, **body))
    return str(media["mediaGenerationId"])


async def _extend(client: httpx.AsyncClient, sim: FlowSimulator, media: str,
                  **body: Any) -> httpx.Response:
    return await client.post(f"{sim.useapi_url}/videos/extend", headers=AUTH, json={
        "mediaGenerationId": media, "prompt": "the wave breaks", "async": True, **body})


async def _upscale(client: httpx.AsyncClient, sim: FlowSimulator, media: str,
                   **body: Any) -> httpx.Response:
    return await client.post(f"{sim.useapi_url}/videos/upscale", headers=AUTH,
                             json={"mediaGenerationId": media, "async": True, **body})


# extend


async def test_an_extension_is_a_new_video_charged_as_its_model_and_extends_again(
        sim: FlowSimulator, client: httpx.AsyncClient) -> None:
    source = await _done(client, sim, await _post_video(client, sim, aspectRatio="portrait"))
    assert _credits(sim) == 990  # veo-3.1-fast on Ultra: 10
    extended = await _done(client, sim, await _extend(client, sim,
                                                      source["mediaGenerationId"]))
    assert extended["mediaGenerationId"] != source["mediaGenerationId"]
    assert extended["remainingCredits"] == _credits(sim) == 980
    first = (await client.get(source["videoUrl"])).content
    second = (await client.get(extended["videoUrl"])).content
    assert second != first and _width(second) == _width(first)  # the source's portrait aspect
    again = await _done(client, sim, await _extend(client, sim, extended["mediaGenerationId"],
                                                   model="veo-3.1-quality"))
    assert again["mediaGenerationId"] and _credits(sim) == 880  # Quality: 100


async def test_an_extend_without_async_waits_for_its_job(sim: FlowSimulator,
                                                         client: httpx.AsyncClient) -> None:
    media = await _video_id(client, sim)
    answer = await _extend(client, sim, media, **{"async": False})
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "completed"
    assert answer.json()["response"]["media"][0]["videoUrl"]


@pytest.mark.parametrize(("body", "words"), [
    ({"mediaGenerationId": None}, "mediaGenerationId is required"),
    ({"prompt": " "}, "prompt is required"),
    ({"model": "omni-flash"}, "model 'omni-flash' is not supported"),
    ({"aspectRatio": "portrait"}, "unknown parameter aspectRatio"),
    ({"captchaRetry": 3, "captchaOrder": "EzCaptcha"}, "mutually exclusive"),
    ({"mediaGenerationId": "user:12345-email:x-video:nope"}, "was not found"),
])
async def test_bad_extends_are_400_naming_the_field(sim: FlowSimulator,
                                                    client: httpx.AsyncClient,
                                                    body: dict[str, Any], words: str) -> None:
    media = await _video_id(client, sim)
    before = _credits(sim)
    answer = await _extend(client, sim, media, **body)
    assert answer.status_code == 400 and words in answer.json()["error"], answer.text
    assert _credits(sim) == before


async def test_an_omni_video_cannot_be_extended_but_can_be_upscaled(
        sim: FlowSimulator, client: httpx.AsyncClient) -> None:
    media = await _video_id(client, sim, model="omni-flash")
    refused = await _extend(client, sim, media)
    assert refused.status_code == 400 and "cannot be extended" in refused.json()["error"]
    assert (await _upscale(client, sim, media)).status_code == 201


async def test_markers_work_in_an_extensions_prompt(sim: FlowSimulator,
                                                    client: httpx.AsyncClient) -> None:
    media = await _video_id(client, sim)
    answer = await _extend(client, sim, media, prompt="FORCE_UNSAFE the wave")
    jobid = answer.json()["jobid"]
    for _ in range(100):
        record = (await client.get(f"{sim.useapi_url}/jobs/{quote(jobid, safe='')}",
                                   headers=AUTH)).json()
        if record["status"] == "failed":
            break
        await asyncio.sleep(0.03)
    reason = record["response"]["error"]["details"][0]["reason"]
    assert reason == "PUBLIC_ERROR_UNSAFE_GENERATION"
    assert _credits(sim) == 990  # a safety refusal is not charged


# video upscale


async def test_1080p_is_free_4k_costs_50_and_a_second_4k_is_the_cached_result(
        sim: FlowSimulator, client: httpx.AsyncClient) -> None:
    source = await _done(client, sim, await _post_video(client, sim))
    media = source["mediaGenerationId"]
    hd = await _done(client, sim, await _upscale(client, sim, media, resolution="1080p"))
    assert _credits(sim) == 990
    uhd = await _done(client, sim, await _upscale(client, sim, media, resolution="4K"))
    assert _credits(sim) == uhd["remainingCredits"] == 940
    small = _width((await client.get(source["videoUrl"])).content)
    assert _width((await client.get(hd["videoUrl"])).content) == small * 3 // 2
    assert _width((await client.get(uhd["videoUrl"])).content) == small * 2
    cached = await _done(client, sim, await _upscale(client, sim, media, resolution="4K"))
    assert cached["mediaGenerationId"] == uhd["mediaGenerationId"] and _credits(sim) == 940


async def test_a_synchronous_upscale_answers_job_id_operations_and_media(
        sim: FlowSimulator, client: httpx.AsyncClient) -> None:
    media = await _video_id(client, sim)
    answer = await _upscale(client, sim, media, **{"async": False})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["jobId"] and body["media"][0]["videoUrl"] and body["media"][0]["mediaGenerationId"]
    assert body["operations"][0]["video"]["fifeUrl"] == body["media"][0]["videoUrl"]


@pytest.mark.parametrize(("resolution", "status", "words"), [
    ("4k", 400, "resolution '4k' is not supported"),  # the docs spell it 4K
    ("720p", 400, "resolution"),
])
async def test_upscale_resolutions_are_the_documented_ones(
        sim: FlowSimulator, client: httpx.AsyncClient, resolution: str, status: int,
        words: str) -> None:
    media = await _video_id(client, sim)
    answer = await _upscale(client, sim, media, resolution=resolution)
    assert answer.status_code == status and words in answer.json()["error"]


async def test_4k_needs_ultra_and_the_credits(sim: FlowSimulator,
                                              client: httpx.AsyncClient) -> None:
    media = await _video_id(client, sim)
    sim.useapi.accounts[DEFAULT_EMAIL].credits = 49
    poor = await _upscale(client, sim, media, resolution="4K")
    assert poor.status_code == 402
    sim.useapi.make_pro()
    sim.useapi.accounts[DEFAULT_EMAIL].credits = 500
    pro = await _upscale(client, sim, media, resolution="4K")
    assert pro.status_code == 403 and "MODEL_ACCESS_DENIED" in pro.json()["error"]
    assert (await _upscale(client, sim, media)).status_code == 201  # 1080p on Pro
    assert _credits(sim) == 500


# image upscale


async def _image(client: httpx.AsyncClient, sim: FlowSimulator, model: str) -> str:
    answer = await client.post(f"{sim.useapi_url}/images", headers=AUTH, json={
        "prompt": "a cat", "model": model, "aspectRatio": "16:9"})
    assert answer.status_code == 200, answer.text
    return str(answer.json()["media"][0]["image"]["generatedImage"]["mediaGenerationId"])


async def test_an_image_upscale_answers_the_larger_picture_inline(
        sim: FlowSimulator, client: httpx.AsyncClient) -> None:
    media = await _image(client, sim, "nano-banana-pro")
    width, height = sim.useapi.pictures[media].width, sim.useapi.pictures[media].height
    for resolution, scale in (("2k", 2), ("4k", 3)):
        answer = await _post(client, sim, "/images/upscale", mediaGenerationId=media,
                             resolution=resolution)
        assert answer.status_code == 200, answer.text
        picture = base64.b64decode(answer.json()["encodedImage"])
        assert picture.startswith(b"\x89PNG")
        assert image_size(picture) == (width * scale, height * scale)
    assert _credits(sim) == 1000  # images cost no Flow credits


@pytest.mark.parametrize(("body", "words"), [
    ({}, "mediaGenerationId is required"),
    ({"resolution": "2K"}, "resolution '2K' is not supported"),
    ({"async": True}, "unknown parameter async"),
], ids=["no-id", "2K", "async"])
async def test_bad_image_upscales_are_400(sim: FlowSimulator, client: httpx.AsyncClient,
                                          body: dict[str, Any], words: str) -> None:
    media = await _image(client, sim, "nano-banana-2")
    answer = await _post(client, sim, "/images/upscale",
                         **({"mediaGenerationId": media} if body else {}), **body)
    assert answer.status_code == 400 and words in answer.json()["error"], answer.text


async def test_only_generated_nano_banana_images_upscale(sim: FlowSimulator,
                                                         client: httpx.AsyncClient) -> None:
    imagen = await _image(client, sim, "imagen-4")
    refused = await _post(client, sim, "/images/upscale", mediaGenerationId=imagen)
    assert refused.status_code == 400 and "imagen-4 images cannot be upscaled" in refused.text
    upload = await client.post(f"{sim.useapi_url}/assets", content=make_png("mine", 64, 48),
                               headers={**AUTH, "Content-Type": "image/png"})
    uploaded = upload.json()["mediaGenerationId"]["mediaGenerationId"]
    refused = await _post(client, sim, "/images/upscale", mediaGenerationId=uploaded)
    assert refused.status_code == 400 and "uploaded images" in refused.text
    video = await _video_id(client, sim)
    wrong = await _post(client, sim, "/images/upscale", mediaGenerationId=video)
    assert wrong.status_code == 400 and "was not found" in wrong.text


# retention, sessions and injections


async def test_sources_past_the_retention_are_unknown(sim: FlowSimulator,
                                                      client: httpx.AsyncClient) -> None:
    sim.config.media_retention = 3600.0
    video = await _video_id(client, sim)
    image = await _image(client, sim, "nano-banana-pro")
    assert (await _upscale(client, sim, video)).status_code == 201  # still kept
    held = sim.useapi.videos[video]
    sim.useapi.videos[video] = dataclasses.replace(held, made=held.made - 3601)
    picture = sim.useapi.pictures[image]
    sim.useapi.pictures[image] = dataclasses.replace(picture, made=picture.made - 3601)
    before = _credits(sim)
    for answer in (await _extend(client, sim, video),
                   await _upscale(client, sim, video, resolution="4K"),
                   await _post(client, sim, "/images/upscale", mediaGenerationId=image),
                   await _post_video(client, sim, startImage=image)):
        assert answer.status_code == 400 and "was not found" in answer.json()["error"]
    assert _credits(sim) == before


async def test_a_broken_session_and_injected_errors_reach_the_new_endpoints(
        sim: FlowSimulator, client: httpx.AsyncClient) -> None:
    video = await _video_id(client, sim)
    sim.inject("/v1/google-flow/videos/extend", 503)
    down = await _extend(client, sim, video)
    assert down.status_code == 503 and down.json()["code"] == 503
    sim.inject("/v1/google-flow/videos/upscale", 429, retry_after=2)
    busy = await _upscale(client, sim, video)
    assert busy.status_code == 429 and busy.json()["retryAfter"] == 2
    assert sim.count("/v1/google-flow/videos/", "POST") == 2
    sim.useapi.disconnect()
    assert (await _extend(client, sim, video)).status_code == 596
    assert (await _upscale(client, sim, video)).status_code == 596
