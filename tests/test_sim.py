"""The Flow simulator answers like the proxy and Google, over real HTTP, with real media."""

from __future__ import annotations

import argparse
import asyncio
import base64
import io
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import av
import httpx
import pytest

from bot.sim.cli import add_arguments, config_from_args, env_lines
from bot.sim.config import SimConfig
from bot.sim.media import make_mp4, make_png, pad_mp4, padded_size
from bot.sim.server import FlowSimulator
from tests.conftest import MakeSim

ROOT = Path(__file__).resolve().parent.parent
PROJECT = "11111111-2222-3333-4444-555555555555"
SUCCESSFUL = "MEDIA_GENERATION_STATUS_SUCCESSFUL"
PENDING = "MEDIA_GENERATION_STATUS_PENDING"
ACTIVE = "MEDIA_GENERATION_STATUS_ACTIVE"
FAILED = "MEDIA_GENERATION_STATUS_FAILED"
AUTH = {"Authorization": "Bearer ya29.test"}


@pytest.fixture
async def sim(make_sim: MakeSim) -> FlowSimulator:
    return await make_sim(latency=0.3, task_polls=1)


@pytest.fixture
def client(http: httpx.AsyncClient) -> httpx.AsyncClient:
    return http


def image_payload(sim: FlowSimulator, prompt: str, token: str = "ya29.test") -> dict[str, Any]:
    context = {"sessionId": ";1732500000000", "projectId": PROJECT, "tool": "PINHOLE"}
    request = {"clientContext": context, "seed": 123456, "imageModelName": "GEM_PIX_2",
               "imageAspectRatio": "IMAGE_ASPECT_RATIO_LANDSCAPE", "prompt": prompt,
               "imageInputs": []}
    return {"body_json": {"clientContext": context, "requests": [request]},
            "flow_auth_token": token,
            "flow_url": f"{sim.api_url}/v1/projects/{PROJECT}/flowMedia:batchGenerateImages"}


def video_payload(sim: FlowSimulator, prompt: str, media_id: str | None = None,
                  token: str = "ya29.test") -> dict[str, Any]:
    request: dict[str, Any] = {
        "aspectRatio": "VIDEO_ASPECT_RATIO_LANDSCAPE", "metadata": {"sceneId": str(uuid.uuid4())},
        "seed": 8465, "textInput": {"prompt": prompt}, "videoModelKey": "veo_3_1_t2v_fast"}
    method = "batchAsyncGenerateVideoText"
    if media_id is not None:
        request["referenceImages"] = [{"imageUsageType": "IMAGE_USAGE_TYPE_ASSET",
                                       "mediaId": media_id}]
        request["videoModelKey"] = "veo_3_0_r2v_fast_ultra"
        method = "batchAsyncGenerateVideoReferenceImages"
    context = {"projectId": PROJECT, "recaptchaToken": "", "sessionId": ";1732500000000",
               "tool": "PINHOLE", "userPaygateTier": "PAYGATE_TIER_TWO"}
    return {"body_json": {"clientContext": context, "requests": [request]},
            "flow_auth_token": token, "flow_url": f"{sim.api_url}/v1/video:{method}"}


async def run_task(client: httpx.AsyncClient, sim: FlowSimulator, kind: str,
                   payload: dict[str, Any]) -> dict[str, Any]:
    created = await client.post(f"{sim.proxy_url}/create-{kind}-veo3", json=payload)
    assert created.status_code == 200, created.text
    task_id = created.json()["taskId"]
    for _ in range(20):
        answer = await client.get(f"{sim.proxy_url}/task-status", params={"taskId": task_id})
        assert answer.status_code == 200 and answer.json()["success"] is True
        result: dict[str, Any] = answer.json()["result"]
        if result:
            return result
    raise AssertionError("task never finished")


async def poll_until_done(client: httpx.AsyncClient, sim: FlowSimulator,
                          operations: list[dict[str, Any]], *,
                          pending_first: bool = False) -> list[dict[str, Any]]:
    """Polls until every operation is final. `pending_first`: a poll saw PENDING on the way (the
    first fifth of the latency); ask it only with a latency long enough for that to be sure."""
    seen: set[str] = set()
    for _ in range(100):
        answer = await client.post(f"{sim.api_url}/v1/video:batchCheckAsyncVideoGenerationStatus",
                                   json={"operations": operations}, headers=AUTH)
        assert answer.status_code == 200, answer.text
        operations = answer.json()["operations"]
        seen.update(entry["status"] for entry in operations)
        if all(entry["status"] in (SUCCESSFUL, FAILED) for entry in operations):
            assert PENDING in seen or not pending_first
            return operations
        await asyncio.sleep(0.03)
    raise AssertionError(f"never finished: {operations}")


def decoded_frames(data: bytes) -> int:
    with av.open(io.BytesIO(data), mode="r") as container:
        stream = container.streams.video[0]
        return sum(1 for _ in container.decode(stream))


async def test_image_task_gives_media(sim: FlowSimulator, client: httpx.AsyncClient) -> None:
    created = await client.post(f"{sim.proxy_url}/create-image-veo3",
                                json=image_payload(sim, "A cute cat"))
    task_id = created.json()["taskId"]
    first = await client.get(f"{sim.proxy_url}/task-status", params={"taskId": task_id})
    assert first.json() == {"success": True, "result": {}}
    second = await client.get(f"{sim.proxy_url}/task-status", params={"taskId": task_id})
    media = second.json()["result"]["media"][0]
    generated = media["image"]["generatedImage"]
    assert media["name"] == generated["mediaGenerationId"]
    assert generated["modelNameType"] == "GEM_PIX_2" and generated["prompt"] == "A cute cat"
    png = base64.b64decode(generated["encodedImage"])
    assert png.startswith(b"\x89PNG")
    assert "Expires=" in generated["fifeUrl"]
    fetched = await client.get(generated["fifeUrl"])
    assert fetched.content == png and fetched.headers["content-type"] == "image/png"


async def test_t2v_flow_downloads_playable_mp4(sim: FlowSimulator,
                                               client: httpx.AsyncClient) -> None:
    payload = video_payload(sim, "A red fox runs")
    result = await run_task(client, sim, "video", payload)
    entry = result["operations"][0]
    assert entry["status"] == PENDING and result["remainingCredits"] == 980
    assert entry["sceneId"] == payload["body_json"]["requests"][0]["metadata"]["sceneId"]
    done = (await poll_until_done(client, sim, result["operations"], pending_first=True))[0]
    assert done["status"] == SUCCESSFUL
    video = done["operation"]["metadata"]["video"]
    assert video["model"] == "veo_3_1_t2v_fast" and video["prompt"] == "A red fox runs"
    download = await client.get(video["fifeUrl"])
    assert download.headers["content-type"] == "video/mp4"
    assert int(download.headers["content-length"]) == len(download.content)
    assert decoded_frames(download.content) >= 1
    assert sim.count("batchCheckAsyncVideoGenerationStatus", "POST") >= 2
    assert all(e.ops == 1 for e in sim.log if "batchCheck" in e.path)


async def test_i2v_from_uploaded_image(sim: FlowSimulator, client: httpx.AsyncClient) -> None:
    sim.config.latency = 0.1
    body = {"imageInput": {"rawImageBytes": base64.b64encode(make_png("mine", 64, 48)).decode(),
                           "mimeType": "image/png", "isUserUploaded": True,
                           "aspectRatio": "IMAGE_ASPECT_RATIO_LANDSCAPE"},
            "clientContext": {"sessionId": ";1", "tool": "ASSET_MANAGER"}}
    uploaded = await client.post(f"{sim.api_url}/v1:uploadUserImage", json=body, headers=AUTH)
    assert uploaded.json()["width"] == 64 and uploaded.json()["height"] == 48
    media_id = uploaded.json()["mediaGenerationId"]["mediaGenerationId"]
    result = await run_task(client, sim, "video", video_payload(sim, "It moves", media_id))
    done = (await poll_until_done(client, sim, result["operations"]))[0]
    download = await client.get(done["operation"]["metadata"]["video"]["fifeUrl"])
    assert decoded_frames(download.content) >= 1


async def test_invalid_payloads_are_refused_by_proxy(sim: FlowSimulator,
                                                     client: httpx.AsyncClient) -> None:
    unknown = await client.post(f"{sim.proxy_url}/create-video-veo3",
                                json=video_payload(sim, "x", media_id="CAMnope"))
    assert unknown.status_code == 400 and "mediaId" in unknown.json()["message"]
    wrong_url = image_payload(sim, "x")
    wrong_url["flow_url"] = f"{sim.api_url}/v1/video:batchAsyncGenerateVideoText"
    answer = await client.post(f"{sim.proxy_url}/create-image-veo3", json=wrong_url)
    assert answer.status_code == 400 and answer.json()["success"] is False
    bad_model = video_payload(sim, "x")
    bad_model["body_json"]["requests"][0]["videoModelKey"] = "veo_9"
    answer = await client.post(f"{sim.proxy_url}/create-video-veo3", json=bad_model)
    assert answer.status_code == 400 and "videoModelKey" in answer.json()["message"]
    missing = await client.get(f"{sim.proxy_url}/task-status", params={"taskId": "nope"})
    assert missing.status_code == 404 and missing.json()["message"] == "task not found"


async def test_poll_needs_whole_entries(sim: FlowSimulator, client: httpx.AsyncClient) -> None:
    url = f"{sim.api_url}/v1/video:batchCheckAsyncVideoGenerationStatus"
    for operations in ([{"operation": {"name": "abc"}}], ["abc"]):
        answer = await client.post(url, json={"operations": operations}, headers=AUTH)
        assert answer.status_code == 400
        assert answer.json()["error"]["status"] == "INVALID_ARGUMENT"
    entry = {"operation": {"name": "nope"}, "sceneId": "s", "status": PENDING}
    answer = await client.post(url, json={"operations": [entry]}, headers=AUTH)
    failed = answer.json()["operations"][0]
    assert failed["status"] == FAILED and failed["operation"]["error"]["code"] == 404


async def test_force_markers(sim: FlowSimulator, client: httpx.AsyncClient) -> None:
    sim.config.latency = 0.1
    for kind, payload in (("image", image_payload(sim, "FORCE_UNSAFE")),
                          ("video", video_payload(sim, "a FORCE_UNSAFE b"))):
        result = await run_task(client, sim, kind, payload)
        assert result["error"]["details"][0]["reason"] == "PUBLIC_ERROR_UNSAFE_GENERATION"
    fail = await run_task(client, sim, "video", video_payload(sim, "FORCE_FAIL"))
    stuck = await run_task(client, sim, "video", video_payload(sim, "FORCE_STUCK"))
    done = (await poll_until_done(client, sim, fail["operations"]))[0]
    assert done["status"] == FAILED and done["operation"]["error"]["code"] == 13
    await asyncio.sleep(0.15)
    answer = await client.post(f"{sim.api_url}/v1/video:batchCheckAsyncVideoGenerationStatus",
                               json={"operations": stuck["operations"]}, headers=AUTH)
    assert answer.json()["operations"][0]["status"] == ACTIVE


async def test_inject_429_with_retry_after(sim: FlowSimulator,
                                           client: httpx.AsyncClient) -> None:
    sim.inject("create-video", 429, retry_after=2)
    url = f"{sim.proxy_url}/create-video-veo3"
    first = await client.post(url, json=video_payload(sim, "x"))
    assert first.status_code == 429 and first.headers["retry-after"] == "2"
    assert first.json()["error"]["status"] == "RESOURCE_EXHAUSTED"
    second = await client.post(url, json=video_payload(sim, "x"))
    assert second.status_code == 200
    assert [e.status for e in sim.log if "create-video" in e.path] == [429, 200]


async def test_tokens_are_checked(sim: FlowSimulator, client: httpx.AsyncClient) -> None:
    sim.config.bearer_token = "ya29.good"
    sim.config.proxy_token = "proxy"
    credits = f"{sim.api_url}/v1/credits"
    assert (await client.get(credits, headers=AUTH)).status_code == 401
    good = await client.get(credits, headers={"Authorization": "Bearer ya29.good"})
    assert good.json() == {"credits": 1000, "userPaygateTier": "PAYGATE_TIER_TWO"}
    url = f"{sim.proxy_url}/create-image-veo3"
    assert (await client.post(url, json=image_payload(sim, "x"))).status_code == 401
    client.headers["Authorization"] = "Bearer proxy"
    result = await run_task(client, sim, "image", image_payload(sim, "x", token="ya29.bad"))
    assert result["error"]["code"] == 401 and result["error"]["status"] == "UNAUTHENTICATED"


async def test_padded_download_stays_playable(sim: FlowSimulator,
                                              client: httpx.AsyncClient) -> None:
    sim.config.latency = 0.4  # long enough that the first poll still sees PENDING
    sim.config.video_bytes = 300_000
    result = await run_task(client, sim, "video", video_payload(sim, "padded"))
    done = (await poll_until_done(client, sim, result["operations"], pending_first=True))[0]
    download = await client.get(done["operation"]["metadata"]["video"]["fifeUrl"])
    assert len(download.content) == 300_000
    assert decoded_frames(download.content) >= 1


def test_mp4_decodes_also_after_padding() -> None:
    mp4 = make_mp4(bytes(range(90)) * 240, 120, 60)
    assert decoded_frames(mp4) >= 1
    padded = pad_mp4(mp4, len(mp4) + 5)
    assert len(padded) == padded_size(len(mp4), len(mp4) + 5)
    assert padded[len(mp4) + 4:len(mp4) + 8] == b"free"
    assert decoded_frames(padded) >= 1
    assert pad_mp4(mp4, 10) == mp4


def test_cli_arguments() -> None:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(["--latency", "0.5", "--task-polls", "3", "--bearer-token", "b"])
    config = config_from_args(args)
    assert args.port == 8765 and config.latency == 0.5 and config.task_polls == 3
    assert config.bearer_token == "b" and config.proxy_token is None
    lines = env_lines("http://127.0.0.1:8765", config)
    assert "FLOW_PROXY_URL=http://127.0.0.1:8765/api/fix" in lines
    assert "FLOW_BEARER_TOKEN=b" in lines


async def test_without_bodies_the_log_still_counts_and_times_videos(
        client: httpx.AsyncClient) -> None:
    simulator = FlowSimulator(SimConfig(latency=0.3, task_polls=0), keep_bodies=False)
    async with simulator as sim:
        result = await run_task(client, sim, "video", video_payload(sim, "timed"))
        done = (await poll_until_done(client, sim, result["operations"]))[0]
        assert sim.video_times()["timed"].fetched is None
        await client.get(done["operation"]["metadata"]["video"]["fifeUrl"])
        await client.get(done["operation"]["metadata"]["video"]["fifeUrl"])
    assert all(entry.body is None for entry in sim.log)
    assert all(e.ops == 1 for e in sim.log if "batchCheck" in e.path)
    created, fetched = sim.video_times()["timed"]
    first_fetch = next(e.at for e in sim.log if e.path.startswith("/media/video/"))
    assert fetched is not None and created + 0.3 <= fetched
    assert abs(fetched - first_fetch) < 0.05


def _python(code: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=60, check=False)


@pytest.mark.parametrize("missing", ["av", "aiohttp"])
def test_sim_command_without_the_extra_says_how_to_install_it(missing: str) -> None:
    done = _python(f"import sys; sys.modules[{missing!r}] = None\n"
                   "from bot.__main__ import main; sys.exit(main(['sim', '--port', '0']))")
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().endswith('pip install -e ".[sim]"')
    assert "Traceback" not in done.stderr


def test_the_bot_runs_without_the_sim_extra() -> None:
    done = _python(
        "import sys; sys.modules['av'] = sys.modules['aiohttp'] = None\n"
        "import bot.app, bot.terminal\n"
        "from bot.__main__ import _parser\n"
        "_parser().parse_known_args(['generate', '--video', 'x', '-o', 'x.mp4'])\n"
        "print(sorted(name for name in sys.modules if name.startswith('bot.sim')))")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
