"""The simulated Gemini API answers the documented requests (upstream-2026.md section 2), with
plain httpx requests written from the documentation, never from the bot's client."""

from __future__ import annotations

import asyncio
import base64
import io
from collections.abc import AsyncIterator
from typing import Any

import av
import httpx
import pytest

from bot.sim.gemini import env_lines
from bot.sim.media import encode_png
from bot.sim.server import FlowSimulator
from tests.conftest import MakeSim

KEY = "AIzaSy-sim-gemini-test-key"
OMNI = "gemini-omni-1.1-flash"
VERTEX = "/v1beta1/projects/my-project/locations/global"
VEO_PARENT = "/v1/projects/my-project/locations/us-central1/publishers/google/models"
TERMINAL = {"completed", "failed", "cancelled", "incomplete", "budget_exceeded"}
GOOGLE_HOST = "https://generativelanguage.googleapis.com"


@pytest.fixture
async def sim(make_sim: MakeSim) -> FlowSimulator:
    return await make_sim(latency=0.2, gemini_api_key=KEY)


@pytest.fixture
async def client(sim: FlowSimulator) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=sim.base_url, headers={"x-goog-api-key": KEY},
                                 timeout=10) as http:
        yield http


def png(rgb: tuple[int, int, int], width: int = 64, height: int = 36) -> bytes:
    return encode_png(bytes(rgb) * width * height, width, height)


def image_block(data: bytes) -> dict[str, Any]:
    return {"type": "image", "data": base64.b64encode(data).decode(), "mime_type": "image/png"}


def video_format(**fields: Any) -> dict[str, Any]:
    return {"type": "video", "aspect_ratio": "16:9", "resolution": "720p", "duration": "8s",
            **fields}


def create_body(prompt: Any = "a red fox in the snow", **fields: Any) -> dict[str, Any]:
    return {"model": OMNI, "input": prompt, "response_format": video_format(),
            "background": True, **fields}


async def create(client: httpx.AsyncClient, body: dict[str, Any],
                 root: str = "/v1beta") -> dict[str, Any]:
    answer = await client.post(f"{root}/interactions", json=body)
    assert answer.status_code == 200, answer.text
    created: dict[str, Any] = answer.json()
    return created


async def poll(client: httpx.AsyncClient, interaction_id: str,
               root: str = "/v1beta") -> dict[str, Any]:
    for _ in range(100):
        answer = await client.get(f"{root}/interactions/{interaction_id}")
        assert answer.status_code == 200, answer.text
        interaction: dict[str, Any] = answer.json()
        if interaction["status"] in TERMINAL:
            return interaction
        assert interaction["status"] in ("queued", "in_progress")
        await asyncio.sleep(0.05)
    raise AssertionError("the interaction never finished")


async def generate(client: httpx.AsyncClient, body: dict[str, Any],
                   root: str = "/v1beta") -> dict[str, Any]:
    return await poll(client, (await create(client, body, root))["id"], root)


def video_blocks(interaction: dict[str, Any]) -> list[dict[str, Any]]:
    return [block for step in interaction.get("steps", []) if step["type"] == "model_output"
            for block in step["content"] if block["type"] == "video"]


def first_frame_rgb(mp4: bytes) -> tuple[int, int, int]:
    """The colour at the middle of the first frame."""
    with av.open(io.BytesIO(mp4), mode="r") as container:
        frame = next(container.decode(video=0)).reformat(format="rgb24")
    plane = frame.planes[0]
    start = frame.height // 2 * int(plane.line_size) + frame.width // 2 * 3
    red, green, blue = bytes(plane)[start:start + 3]
    return red, green, blue


def frames(mp4: bytes) -> int:
    with av.open(io.BytesIO(mp4), mode="r") as container:
        return sum(1 for _ in container.decode(video=0))


def assert_error(answer: httpx.Response, code: int, status: str, *words: str) -> None:
    assert answer.status_code == code, answer.text
    error = answer.json()["error"]
    assert error["code"] == code and error["status"] == status
    for word in words:
        assert word in error["message"], error["message"]


# Interactions API: Gemini Omni on the Developer API


async def test_text_to_video_polls_to_an_inline_video(
        sim: FlowSimulator, client: httpx.AsyncClient) -> None:
    body = create_body(generation_config={"video_config": {"task": "text_to_video"}})
    created = await create(client, body)
    assert created["status"] == "in_progress" and created["id"]
    assert "steps" not in created
    done = await poll(client, created["id"])
    assert done["status"] == "completed" and done["id"] == created["id"]
    [video] = video_blocks(done)
    assert video["mime_type"] == "video/mp4" and "uri" not in video
    assert frames(base64.b64decode(video["data"])) >= 1
    [record] = sim.interactions()
    assert record.id == created["id"] and record.status == "completed" and not record.vertex
    assert record.request.prompt == "a red fox in the snow"
    assert record.request.task == "text_to_video" and record.request.duration == "8s"
    assert record.request.aspect_ratio == "16:9" and record.request.resolution == "720p"
    assert sim.count("/v1beta/interactions", "POST") == 1


async def test_uri_delivery_is_a_file_downloaded_with_the_key(
        sim: FlowSimulator, client: httpx.AsyncClient) -> None:
    done = await generate(client, create_body(response_format=video_format(delivery="uri")))
    [video] = video_blocks(done)
    uri = video["uri"]
    assert uri.startswith(f"{GOOGLE_HOST}/v1beta/files/") and uri.endswith(":download?alt=media")
    assert "data" not in video
    local = uri.replace(GOOGLE_HOST, sim.base_url)
    mp4 = await client.get(local)
    assert mp4.status_code == 200 and mp4.headers["content-type"] == "video/mp4"
    assert frames(mp4.content) >= 1
    async with httpx.AsyncClient() as anonymous:
        assert_error(await anonymous.get(local), 403, "PERMISSION_DENIED", "unregistered")
    assert_error(await client.get(local.split("?")[0]), 400, "INVALID_ARGUMENT", "alt=media")
    info = (await client.get(local.split(":download")[0])).json()
    assert info["state"] == "ACTIVE" and info["mimeType"] == "video/mp4"
    assert info["sizeBytes"] == str(len(mp4.content)) and info["expirationTime"]


async def test_google_may_answer_inline_when_uri_was_asked(
        sim: FlowSimulator, client: httpx.AsyncClient) -> None:
    sim.config.omni_delivery = "inline"
    done = await generate(client, create_body(response_format=video_format(delivery="uri")))
    [video] = video_blocks(done)
    assert "uri" not in video and frames(base64.b64decode(video["data"])) >= 1


async def test_a_video_over_the_inline_cap_comes_as_a_uri(
        sim: FlowSimulator, client: httpx.AsyncClient) -> None:
    sim.config.omni_inline_limit = 4 * 1024 * 1024
    sim.config.video_bytes = 5 * 1024 * 1024
    done = await generate(client, create_body(response_format=video_format(delivery="inline")))
    [video] = video_blocks(done)
    assert "data" not in video
    mp4 = await client.get(video["uri"].replace(GOOGLE_HOST, sim.base_url))
    assert len(mp4.content) >= 5 * 1024 * 1024 and frames(mp4.content) >= 1


async def test_image_to_video_starts_on_the_given_picture(
        sim: FlowSimulator, client: httpx.AsyncClient) -> None:
    picture = png((220, 30, 30))
    body = create_body([{"type": "text", "text": "the fox runs"}, image_block(picture)],
                       generation_config={"video_config": {"task": "image_to_video"}})
    done = await generate(client, body)
    red, green, blue = first_frame_rgb(base64.b64decode(video_blocks(done)[0]["data"]))
    assert red > 150 and green < 90 and blue < 90
    assert sim.interactions()[0].images == (picture,)


async def test_first_and_last_frame_and_reference_images(
        sim: FlowSimulator, client: httpx.AsyncClient) -> None:
    first, last = png((20, 200, 20)), png((20, 20, 200))
    frames_body = create_body(
        [{"type": "text", "text": "a sunrise"}, image_block(first), image_block(last)],
        generation_config={"video_config": {"task": "image_to_video"}})
    references = create_body(
        [{"type": "text", "text": "these two together"}, image_block(first), image_block(last),
         image_block(png((1, 2, 3)))],
        generation_config={"video_config": {"task": "reference_to_video"}})
    for body in (frames_body, references):
        done = await generate(client, body)
        red, green, _ = first_frame_rgb(base64.b64decode(video_blocks(done)[0]["data"]))
        assert green > 150 and red < 90
    assert [len(record.images) for record in sim.interactions()] == [2, 3]


@pytest.mark.parametrize("given", [
    "plain text",
    {"type": "text", "text": "plain text"},
    [{"type": "text", "text": "plain text"}],
    [{"type": "user_input", "content": [{"type": "text", "text": "plain text"}]}],
])
async def test_the_documented_input_forms(sim: FlowSimulator, client: httpx.AsyncClient,
                                          given: Any) -> None:
    done = await generate(client, create_body(given))
    assert done["status"] == "completed" and video_blocks(done)
    assert sim.interactions()[0].request.prompt == "plain text"


async def test_a_minimal_create_is_accepted(client: httpx.AsyncClient) -> None:
    done = await generate(client, {"model": OMNI, "input": "a marble", "background": True})
    assert video_blocks(done)[0]["data"]


@pytest.mark.parametrize(("change", "words"), [
    ({"negative_prompt": "blurry"}, ['Unknown name "negative_prompt"']),
    ({"seed": 7}, ['Unknown name "seed"']),
    ({"generation_config": {"seed": 7}}, ["seed", "not supported"]),
    ({"generation_config": {"video_config": {"task": "dance"}}}, ["task", "'dance'"]),
    ({"generation_config": {"video_config": {"mode": "x"}}}, ['Unknown name "mode"']),
    ({"generation_config": {"video_config": {"task": "image_to_video"}}},
     ["image_to_video", "got 0"]),
    ({"generation_config": {"video_config": {"task": "reference_to_video"}}},
     ["reference image"]),
    ({"generation_config": {"video_config": {"task": "extend"}}}, ["extend needs a video"]),
    ({"response_format": video_format(duration="8")}, ["duration", "8s"]),
    ({"response_format": video_format(duration=8)}, ["duration", "8s"]),
    ({"response_format": video_format(duration="11s")}, ["out of range", "3s to 10s"]),
    ({"response_format": video_format(duration="2s")}, ["out of range"]),
    ({"response_format": video_format(aspect_ratio="1:1")}, ["aspect_ratio", "'1:1'"]),
    ({"response_format": video_format(resolution="8k")}, ["resolution", "'8k'"]),
    ({"response_format": video_format(resolution="4K")}, ["resolution", "'4K'"]),
    ({"response_format": video_format(delivery="email")}, ["delivery"]),
    ({"response_format": video_format(gcs_uri="gs://b/v")}, ["gcs_uri", "not supported"]),
    ({"response_format": {"type": "text"}}, ["response_format.type"]),
    ({"response_format": video_format(fps=24)}, ['Unknown name "fps"']),
    ({"background": "yes"}, ["background must be a boolean"]),
    ({"input": None}, ["input is required"]),
    ({"input": ""}, ["a text prompt"]),
    ({"input": [{"type": "image", "data": "not base64!", "mime_type": "image/png"}]},
     ["not valid base64"]),
    ({"input": [{"type": "image", "data": "aGVsbG8="}]}, ["mime_type is required"]),
    ({"input": [{"type": "image", "data": "aGVsbG8=", "mime_type": "image/gif"}]},
     ["mime_type"]),
    ({"input": [{"type": "image", "data": "aGVsbG8=", "mime_type": "image/png"}]},
     ["Unable to process input image"]),
    ({"input": [{"type": "sticker"}]}, ["'sticker' is not a content type"]),
    ({"input": [{"type": "user_input", "content": "hi"}]}, ["content must be a list"]),
    ({"previous_interaction_id": "v1_nope"}, ["previous_interaction_id", "not found"]),
    ({"model": None}, ["model is required"]),
])
async def test_a_wrong_create_is_a_clear_400(sim: FlowSimulator, client: httpx.AsyncClient,
                                             change: dict[str, Any], words: list[str]) -> None:
    body = {key: value for key, value in {**create_body(), **change}.items() if value is not None
            or key != "model"}
    assert_error(await client.post("/v1beta/interactions", json=body), 400, "INVALID_ARGUMENT",
                 *words)
    assert sim.interactions() == []


async def test_too_many_images_is_a_400(client: httpx.AsyncClient) -> None:
    picture = png((9, 9, 9))
    blocks = [{"type": "text", "text": "many"}, *[image_block(picture)] * 11]
    assert_error(await client.post("/v1beta/interactions", json=create_body(blocks)), 400,
                 "INVALID_ARGUMENT", "at most 10 images")


async def test_omni_1_2_accepts_longer_videos_than_1_1(
        sim: FlowSimulator, client: httpx.AsyncClient) -> None:
    longer = create_body(model="gemini-omni-1.2-flash",
                         response_format=video_format(duration="15s"))
    done = await generate(client, longer)
    assert done["model"] == "gemini-omni-1.2-flash" and video_blocks(done)
    assert done["usage"]["total_output_tokens"] > 0
    two_frames = create_body(
        [{"type": "text", "text": "x"}, image_block(png((1, 1, 1))), image_block(png((2, 2, 2)))],
        model="gemini-omni-1.2-flash", response_format=video_format(duration="12s"),
        generation_config={"video_config": {"task": "image_to_video"}})
    assert_error(await client.post("/v1beta/interactions", json=two_frames), 400,
                 "INVALID_ARGUMENT", "3s to 10s")


@pytest.mark.parametrize(("model", "words"), [
    ("gemini-omni-flash-preview", ["models/gemini-omni-flash-preview is no longer available"]),
    ("veo-3.1-generate-preview", ["no longer available"]),
    ("gemini-omni-2.0-flash", ["not found for API version v1beta", "interactions"]),
    ("gemini-3.1-flash-image", ["not supported for interactions"]),
])
async def test_retired_and_unknown_models_are_google_404s(
        sim: FlowSimulator, client: httpx.AsyncClient, model: str, words: list[str]) -> None:
    answer = await client.post("/v1beta/interactions", json=create_body(model=model))
    assert_error(answer, 404, "NOT_FOUND", *words)
    assert sim.interactions() == []


@pytest.mark.parametrize(("marker", "status"), [
    ("FORCE_FAIL", "failed"), ("FORCE_CANCELLED", "cancelled"),
    ("FORCE_INCOMPLETE", "incomplete"), ("FORCE_BUDGET", "budget_exceeded"),
])
async def test_markers_end_in_each_final_state(
        sim: FlowSimulator, client: httpx.AsyncClient, marker: str, status: str) -> None:
    created = await create(client, create_body(f"a cat {marker}"))
    assert created["status"] == "in_progress"
    done = await poll(client, created["id"])
    assert done["status"] == status and video_blocks(done) == []
    if status == "failed":
        assert done["errors"][0]["message"]
    assert sim.interactions()[0].status == status


async def test_unsafe_is_completed_with_text_and_no_video(client: httpx.AsyncClient) -> None:
    done = await generate(client, create_body("FORCE_UNSAFE something"))
    assert done["status"] == "completed" and video_blocks(done) == []
    [step] = done["steps"]
    assert step["type"] == "model_output" and step["content"][0]["type"] == "text"


async def test_stuck_stays_in_progress_until_cancelled(
        sim: FlowSimulator, client: httpx.AsyncClient) -> None:
    created = await create(client, create_body("FORCE_STUCK forever"))
    await asyncio.sleep(0.35)
    again = (await client.get(f"/v1beta/interactions/{created['id']}")).json()
    assert again["status"] == "in_progress"
    cancelled = await client.post(f"/v1beta/interactions/{created['id']}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert (await poll(client, created["id"]))["status"] == "cancelled"
    assert_error(await client.post(f"/v1beta/interactions/{created['id']}/cancel"), 400,
                 "FAILED_PRECONDITION", "already finished")


async def test_unknown_or_deleted_ids_answer_400(client: httpx.AsyncClient) -> None:
    assert_error(await client.get("/v1beta/interactions/v1_unknown"), 400, "INVALID_ARGUMENT",
                 "v1_unknown")
    created = await create(client, create_body())
    assert (await client.delete(f"/v1beta/interactions/{created['id']}")).status_code == 200
    assert_error(await client.get(f"/v1beta/interactions/{created['id']}"), 400,
                 "INVALID_ARGUMENT")


async def test_queued_then_in_progress(sim: FlowSimulator, client: httpx.AsyncClient) -> None:
    sim.config.omni_queued = 0.2
    created = await create(client, create_body())
    assert created["status"] == "queued"
    await asyncio.sleep(0.25)
    answer = (await client.get(f"/v1beta/interactions/{created['id']}")).json()
    assert answer["status"] == "in_progress"
    assert (await poll(client, created["id"]))["status"] == "completed"


async def test_without_background_the_create_waits_for_the_video(
        client: httpx.AsyncClient) -> None:
    done = await create(client, create_body(background=False))
    assert done["status"] == "completed" and video_blocks(done)


async def test_extend_continues_the_previous_interaction(
        sim: FlowSimulator, client: httpx.AsyncClient) -> None:
    picture = png((230, 230, 20))
    first = await generate(client, create_body(
        [{"type": "text", "text": "a lemon"}, image_block(picture)],
        generation_config={"video_config": {"task": "image_to_video"}}))
    extended = await generate(client, create_body(
        "keep rolling", previous_interaction_id=first["id"], response_format=video_format(
            duration="5s"), generation_config={"video_config": {"task": "extend"}}))
    red, green, _ = first_frame_rgb(base64.b64decode(video_blocks(extended)[0]["data"]))
    assert red > 150 and green > 150
    assert sim.interactions()[1].request.previous_interaction_id == first["id"]


async def test_the_key_is_checked_as_google_does(sim: FlowSimulator) -> None:
    url = f"{sim.base_url}/v1beta/interactions"
    async with httpx.AsyncClient() as http:
        assert_error(await http.post(url, json=create_body()), 403, "PERMISSION_DENIED")
        assert_error(await http.post(url, json=create_body(), headers={"x-goog-api-key": "no"}),
                     400, "INVALID_ARGUMENT", "API key not valid")
        by_query = await http.post(url, params={"key": KEY}, json=create_body())
        assert by_query.status_code == 200
    assert len(sim.interactions()) == 1


async def test_injected_errors_reach_the_interactions_path(
        sim: FlowSimulator, client: httpx.AsyncClient) -> None:
    sim.inject("/v1beta/interactions", 429, retry_after=1)
    refused = await client.post("/v1beta/interactions", json=create_body())
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "1"
    assert sim.interactions() == []
    await create(client, create_body())
    assert len(sim.interactions()) == 1 and sim.count("/v1beta/interactions", "POST") == 2


# Interactions API on Agent Platform


async def test_omni_on_agent_platform(sim: FlowSimulator, client: httpx.AsyncClient) -> None:
    body = create_body(model="gemini-omni-1.2-flash")
    done = await generate(client, body, VERTEX)
    assert frames(base64.b64decode(video_blocks(done)[0]["data"])) >= 1
    to_gcs = create_body(model="gemini-omni-1.2-flash", response_format=video_format(
        delivery="uri", gcs_uri="gs://bucket/out"))
    done = await generate(client, to_gcs, VERTEX)
    assert video_blocks(done)[0]["uri"].startswith("gs://bucket/out/")
    assert [record.vertex for record in sim.interactions()] == [True, True]
    assert_error(await client.get(f"/v1beta/interactions/{done['id']}"), 400, "INVALID_ARGUMENT")


async def test_agent_platform_omni_refusals(client: httpx.AsyncClient) -> None:
    regional = "/v1beta1/projects/my-project/locations/us-central1/interactions"
    assert_error(await client.post(regional, json=create_body(model="gemini-omni-1.2-flash")),
                 400, "INVALID_ARGUMENT", "global")
    assert_error(await client.post(f"{VERTEX}/interactions", json=create_body()), 404,
                 "NOT_FOUND", "Publisher Model", OMNI)
    no_bucket = create_body(model="gemini-omni-1.2-flash",
                            response_format=video_format(delivery="uri"))
    assert_error(await client.post(f"{VERTEX}/interactions", json=no_bucket), 400,
                 "INVALID_ARGUMENT", "gcs_uri is required")


# images: generateContent


@pytest.mark.parametrize("model", ["gemini-3.1-flash-image", "gemini-3-pro-image",
                                   "gemini-3.1-flash-lite-image"])
async def test_current_image_models_answer_an_inline_png(
        client: httpx.AsyncClient, model: str) -> None:
    body = {"contents": [{"role": "user", "parts": [{"text": "a lighthouse"}]}],
            "generationConfig": {"responseModalities": ["IMAGE"],
                                 "imageConfig": {"aspectRatio": "16:9", "imageSize": "2K"}}}
    answer = await client.post(f"/v1beta/models/{model}:generateContent", json=body)
    assert answer.status_code == 200, answer.text
    [part] = answer.json()["candidates"][0]["content"]["parts"]
    assert part["inlineData"]["mimeType"] == "image/png"
    picture = base64.b64decode(part["inlineData"]["data"])
    assert picture.startswith(b"\x89PNG")
    width, height = int.from_bytes(picture[16:20], "big"), int.from_bytes(picture[20:24], "big")
    assert abs(width / height - 16 / 9) < 0.05


async def test_bigger_image_sizes_and_text_parts(client: httpx.AsyncClient) -> None:
    widths = []
    for size in ("1K", "4K"):
        body = {"contents": [{"parts": [{"text": "a lighthouse"}]}],
                "generationConfig": {"responseModalities": ["TEXT", "IMAGE"],
                                     "imageConfig": {"imageSize": size}}}
        answer = await client.post("/v1beta/models/gemini-3.1-flash-image:generateContent",
                                   json=body)
        parts = answer.json()["candidates"][0]["content"]["parts"]
        assert "text" in parts[0]
        widths.append(int.from_bytes(base64.b64decode(parts[1]["inlineData"]["data"])[16:20],
                                     "big"))
    assert widths[1] > widths[0]


@pytest.mark.parametrize(("model", "image_config", "words"), [
    ("gemini-3.1-flash-image", {"imageSize": "1k"}, ["imageSize", "'1k'"]),
    ("gemini-3-pro-image", {"aspectRatio": "1:8"}, ["aspectRatio"]),
    ("gemini-3.1-flash-image", {"numberOfImages": 2}, ['Unknown name "numberOfImages"']),
])
async def test_wrong_image_config_is_a_400(client: httpx.AsyncClient, model: str,
                                           image_config: dict[str, Any],
                                           words: list[str]) -> None:
    body = {"contents": [{"parts": [{"text": "x"}]}],
            "generationConfig": {"responseModalities": ["IMAGE"], "imageConfig": image_config}}
    answer = await client.post(f"/v1beta/models/{model}:generateContent", json=body)
    assert_error(answer, 400, "INVALID_ARGUMENT", *words)


async def test_wide_ratios_on_flash_image(client: httpx.AsyncClient) -> None:
    body = {"contents": [{"parts": [{"text": "a banner"}]}],
            "generationConfig": {"imageConfig": {"aspectRatio": "8:1"}}}
    answer = await client.post("/v1beta/models/gemini-3.1-flash-image:generateContent", json=body)
    assert answer.status_code == 200, answer.text


async def test_image_refusals(client: httpx.AsyncClient) -> None:
    url = "/v1beta/models/gemini-3.1-flash-image:generateContent"
    unsafe = await client.post(url, json={"contents": [{"parts": [{"text": "FORCE_UNSAFE"}]}]})
    assert unsafe.json()["promptFeedback"]["blockReason"] == "PROHIBITED_CONTENT"
    assert "candidates" not in unsafe.json()
    failed = await client.post(url, json={"contents": [{"parts": [{"text": "FORCE_FAIL"}]}]})
    candidate = failed.json()["candidates"][0]
    assert candidate["finishReason"] == "NO_IMAGE"
    assert all("inlineData" not in part for part in candidate["content"]["parts"])


# retired models and paths


@pytest.mark.parametrize("path", [
    "/v1beta/models/gemini-2.5-flash-image:generateContent",
    "/v1beta/models/veo-3.1-generate-preview:predictLongRunning",
    "/v1beta/models/veo-3.1-fast-generate-preview:predictLongRunning",
    "/v1beta/models/veo-3.1-lite-generate-preview:predictLongRunning",
    "/v1beta/models/imagen-4.0-generate-001:predict",
    "/v1beta/models/imagen-4.0-fast-generate-001:predict",
    "/v1beta/models/veo-2.0-generate-001:predictLongRunning",
    "/v1beta/models/veo-3.0-fast-generate-001:predictLongRunning",
])
async def test_retired_developer_models_are_no_longer_available(
        client: httpx.AsyncClient, path: str) -> None:
    model = path.split("/")[-1].split(":")[0]
    assert_error(await client.post(path, json={}), 404, "NOT_FOUND",
                 f"This model models/{model} is no longer available")


async def test_no_veo_is_left_on_the_developer_api(client: httpx.AsyncClient) -> None:
    ga = await client.post("/v1beta/models/veo-3.1-generate-001:predictLongRunning", json={})
    assert_error(ga, 404, "NOT_FOUND", "not found for API version v1beta")
    poll_path = "/v1beta/models/veo-3.1-generate-preview/operations/abc123"
    assert (await client.get(poll_path)).status_code == 404


@pytest.mark.parametrize("model", ["imagen-4.0-generate-001", "veo-3.0-generate-001",
                                   "veo-3.1-generate-preview", "gemini-2.5-flash-image",
                                   "veo-9-unknown"])
async def test_retired_agent_platform_models_are_not_found(
        client: httpx.AsyncClient, model: str) -> None:
    method = "generateContent" if "gemini" in model else "predictLongRunning"
    answer = await client.post(f"{VEO_PARENT}/{model}:{method}", json={})
    assert_error(answer, 404, "NOT_FOUND", "Publisher Model", model)


# Veo 3.1 on Agent Platform


def veo_image(data: bytes) -> dict[str, Any]:
    return {"bytesBase64Encoded": base64.b64encode(data).decode(), "mimeType": "image/png"}


async def run_veo(client: httpx.AsyncClient, model: str,
                  body: dict[str, Any]) -> dict[str, Any]:
    started = await client.post(f"{VEO_PARENT}/{model}:predictLongRunning", json=body)
    assert started.status_code == 200, started.text
    name = started.json()["name"]
    assert name.startswith(f"projects/my-project/locations/us-central1/publishers/google/"
                           f"models/{model}/operations/")
    for _ in range(100):
        answer = await client.post(f"{VEO_PARENT}/{model}:fetchPredictOperation",
                                   json={"operationName": name})
        assert answer.status_code == 200, answer.text
        operation: dict[str, Any] = answer.json()
        if operation.get("done"):
            return operation
        await asyncio.sleep(0.05)
    raise AssertionError("the operation never finished")


@pytest.mark.parametrize("model", ["veo-3.1-generate-001", "veo-3.1-fast-generate-001",
                                   "veo-3.1-lite-generate-001"])
async def test_veo_on_agent_platform_answers_inline_videos(
        client: httpx.AsyncClient, model: str) -> None:
    body = {"instances": [{"prompt": "a boat", "image": veo_image(png((200, 20, 20))),
                           "lastFrame": veo_image(png((20, 20, 200)))}],
            "parameters": {"aspectRatio": "9:16", "durationSeconds": 6, "resolution": "1080p",
                           "negativePrompt": "fog", "seed": 42, "generateAudio": True,
                           "sampleCount": 2}}
    done = await run_veo(client, model, body)
    videos = done["response"]["videos"]
    assert len(videos) == 2 and videos[0]["mimeType"] == "video/mp4"
    red, _, blue = first_frame_rgb(base64.b64decode(videos[0]["bytesBase64Encoded"]))
    assert red > 150 and blue < 90


async def test_veo_reference_images_and_storage(client: httpx.AsyncClient) -> None:
    references = [{"image": veo_image(png((20, 200, 20))), "referenceType": "asset"}]
    body = {"instances": [{"prompt": "the mug on a table", "referenceImages": references}],
            "parameters": {"storageUri": "gs://bucket/veo"}}
    done = await run_veo(client, "veo-3.1-generate-001", body)
    [video] = done["response"]["videos"]
    assert video["gcsUri"].startswith("gs://bucket/veo/") and video["gcsUri"].endswith(".mp4")


@pytest.mark.parametrize(("instance", "parameters", "words"), [
    ({"prompt": "x"}, {"durationSeconds": 5}, ["durationSeconds"]),
    ({"prompt": "x"}, {"durationSeconds": "8"}, ["durationSeconds"]),
    ({"prompt": "x"}, {"resolution": "4k"}, ["resolution"]),
    ({"prompt": "x"}, {"aspectRatio": "1:1"}, ["aspectRatio"]),
    ({"prompt": "x"}, {"seed": "42"}, ["seed must be a int"]),
    ({"prompt": "x"}, {"generateAudio": "yes"}, ["generateAudio"]),
    ({"prompt": "x"}, {"sampleCount": 5}, ["sampleCount"]),
    ({"prompt": "x"}, {"fps": 24}, ['Unknown name "fps"']),
    ({"prompt": "x", "lastFrame": {"bytesBase64Encoded": "aGk=", "mimeType": "image/png"}}, {},
     ["lastFrame needs"]),
    ({"prompt": "x", "referenceImages": [{"image": {"bytesBase64Encoded": "aGk=",
                                                    "mimeType": "image/png"},
                                          "referenceType": "style"}]}, {}, ["referenceType"]),
    ({"prompt": "x", "image": {"bytesBase64Encoded": "aGk=", "mimeType": "image/png"}}, {},
     ["Unable to process input image"]),
])
async def test_wrong_veo_requests_are_400s(client: httpx.AsyncClient, instance: dict[str, Any],
                                           parameters: dict[str, Any], words: list[str]) -> None:
    answer = await client.post(f"{VEO_PARENT}/veo-3.1-fast-generate-001:predictLongRunning",
                               json={"instances": [instance], "parameters": parameters})
    assert_error(answer, 400, "INVALID_ARGUMENT", *words)


async def test_veo_failure_and_refusal(client: httpx.AsyncClient) -> None:
    failed = await run_veo(client, "veo-3.1-fast-generate-001",
                           {"instances": [{"prompt": "FORCE_FAIL"}]})
    assert failed["error"]["code"] == 13 and "response" not in failed
    unsafe = await run_veo(client, "veo-3.1-fast-generate-001",
                           {"instances": [{"prompt": "FORCE_UNSAFE"}]})
    assert unsafe["response"]["raiMediaFilteredCount"] == 1
    assert "videos" not in unsafe["response"]


# python -m bot sim


def test_the_sim_command_prints_the_current_gemini_defaults() -> None:
    lines = env_lines("http://127.0.0.1:8765", KEY)
    assert "PROVIDER=gemini" in lines and "GEMINI_API_URL=http://127.0.0.1:8765" in lines
    assert f"GEMINI_VIDEO_MODEL={OMNI}" in lines
    assert "GEMINI_IMAGE_MODEL=gemini-3.1-flash-image" in lines
    assert f"GEMINI_API_KEY={KEY}" in lines
