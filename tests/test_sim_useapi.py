"""The useapi.net simulator answers as its docs say, over real HTTP, with plain httpx."""

from __future__ import annotations

import asyncio
import io
from typing import Any
from urllib.parse import quote

import av
import httpx
import pytest

from bot.sim.cli import env_lines
from bot.sim.config import SimConfig
from bot.sim.media import make_png
from bot.sim.server import FlowSimulator
from bot.sim.useapi_state import DEFAULT_EMAIL, PRO
from tests.conftest import MakeSim

TOKEN = "user:12345-sim-token-abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}", "User-Agent": "sim-test/1"}


@pytest.fixture
async def sim(make_sim: MakeSim) -> FlowSimulator:
    return await make_sim(latency=0.3, useapi_token=TOKEN)


@pytest.fixture
def client(http: httpx.AsyncClient) -> httpx.AsyncClient:
    return http


def _frames(data: bytes) -> int:
    with av.open(io.BytesIO(data), mode="r") as container:
        return sum(1 for _ in container.decode(video=0))


async def _poll(client: httpx.AsyncClient, sim: FlowSimulator, jobid: str,
                timeout: float = 5.0) -> dict[str, Any]:
    seen: list[str] = []
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        answer = await client.get(f"{sim.useapi_url}/jobs/{quote(jobid, safe='')}",
                                  headers=AUTH)
        assert answer.status_code == 200, answer.text
        record: dict[str, Any] = answer.json()
        seen.append(record["status"])
        if record["status"] in ("completed", "failed"):
            record["_seen"] = seen
            return record
        assert asyncio.get_running_loop().time() < deadline, seen
        await asyncio.sleep(0.05)


async def _video(client: httpx.AsyncClient, sim: FlowSimulator,
                 **body: Any) -> httpx.Response:
    return await client.post(f"{sim.useapi_url}/videos", headers=AUTH,
                             json={"prompt": "a dog surfing", "async": True, **body})


async def test_a_missing_or_wrong_token_is_refused(sim: FlowSimulator,
                                                   client: httpx.AsyncClient) -> None:
    for headers in ({}, {"Authorization": "Bearer user:1-wrong-token"}):
        answer = await client.get(f"{sim.useapi_url}/accounts", headers=headers)
        assert answer.status_code == 401 and answer.json() == {"error": "Unauthorized"}


async def test_accounts_list_health_and_one_account_tells_credits(
        sim: FlowSimulator, client: httpx.AsyncClient) -> None:
    sim.useapi.add_account("second@example.com", tier=PRO, credits=40)
    sim.useapi.disconnect("second@example.com")
    listed = (await client.get(f"{sim.useapi_url}/accounts", headers=AUTH)).json()
    assert listed[DEFAULT_EMAIL]["health"] == "OK"
    assert listed["second@example.com"]["health"] != "OK"
    one = await client.get(f"{sim.useapi_url}/accounts/{quote('second@example.com')}",
                           headers=AUTH)
    assert one.json()["credits"] == {"credits": 40, "userPaygateTier": PRO}
    assert one.json()["models"]["videoModels"]
    missing = await client.get(f"{sim.useapi_url}/accounts/nobody%40example.com", headers=AUTH)
    assert missing.status_code == 404 and "error" in missing.json()


async def test_an_async_video_goes_created_started_completed_with_a_signed_link(
        sim: FlowSimulator, client: httpx.AsyncClient) -> None:
    created = await _video(client, sim, model="veo-3.1-fast", aspectRatio="portrait",
                           duration=8, seed=7)
    assert created.status_code == 201
    job = created.json()
    assert job["status"] == "created" and "@" in job["jobid"] and ":" in job["jobid"]
    record = await _poll(client, sim, job["jobid"])
    assert record["status"] == "completed" and "started" in record["_seen"]
    assert sim.useapi.job_paths and all("%40" in path for path in sim.useapi.job_paths)
    media = record["response"]["media"][0]
    assert media["mediaGenerationId"] and record["response"]["remainingCredits"] == 990
    video = await client.get(media["videoUrl"])  # signed: no token
    assert video.status_code == 200 and _frames(video.content) >= 1
    with_token = await client.get(media["videoUrl"], headers=AUTH)
    assert with_token.status_code == 400  # a signed link does not take the API's token


async def test_a_link_past_its_expiry_answers_403(sim: FlowSimulator,
                                                  client: httpx.AsyncClient) -> None:
    sim.config.useapi_link_seconds = -1
    job = (await _video(client, sim)).json()
    record = await _poll(client, sim, job["jobid"])
    expired = await client.get(record["response"]["media"][0]["videoUrl"])
    assert expired.status_code == 403 and b"ExpiredToken" in expired.content
    tampered = record["response"]["media"][0]["videoUrl"].replace("Signature=", "Signature=0")
    assert (await client.get(tampered)).status_code == 403


async def test_an_image_is_synchronous_and_its_id_animates(sim: FlowSimulator,
                                                           client: httpx.AsyncClient) -> None:
    answer = await client.post(f"{sim.useapi_url}/images", headers=AUTH, json={
        "prompt": "a cat", "model": "nano-banana-pro", "aspectRatio": "9:16", "count": 1})
    assert answer.status_code == 200, answer.text
    generated = answer.json()["media"][0]["image"]["generatedImage"]
    picture = await client.get(generated["fifeUrl"])
    assert picture.content.startswith(b"\x89PNG")
    job = await _video(client, sim, startImage=generated["mediaGenerationId"])
    assert job.status_code == 201, job.text
    assert (await _poll(client, sim, job.json()["jobid"]))["status"] == "completed"


async def test_an_upload_keeps_the_exact_bytes_for_its_account(
        sim: FlowSimulator, client: httpx.AsyncClient) -> None:
    png = make_png("mine", 64, 48)
    answer = await client.post(f"{sim.useapi_url}/assets/{quote(DEFAULT_EMAIL, safe='')}",
                               headers={**AUTH, "Content-Type": "image/png"}, content=png)
    assert answer.status_code == 200, answer.text
    media = answer.json()["mediaGenerationId"]["mediaGenerationId"]
    assert sim.useapi.pictures[media].data == png
    wrong_type = await client.post(f"{sim.useapi_url}/assets", content=png,
                                   headers={**AUTH, "Content-Type": "image/jpeg"})
    assert wrong_type.status_code == 400
    sim.useapi.add_account("other@example.com")
    elsewhere = await _video(client, sim, startImage=media, email="other@example.com")
    assert elsewhere.status_code == 400 and "another account" in elsewhere.json()["error"]


@pytest.mark.parametrize(("body", "words"), [
    ({"model": "veo-3.1-quality", "duration": 4}, "duration"),
    ({"aspectRatio": "16:9"}, "aspectRatio"),
    ({"start_image": "x"}, "unknown parameter start_image"),
    ({"endImage": "x"}, "endImage requires startImage"),
    ({"model": "omni-flash", "startImage": "a", "endImage": "b"}, "start frame only"),
    ({f"referenceImage_{n}": "x" for n in range(1, 5)}, "at most 3"),
    ({"prompt": ""}, "prompt is required"),
])
async def test_bad_parameters_are_400_naming_them(sim: FlowSimulator, client: httpx.AsyncClient,
                                                  body: dict[str, Any], words: str) -> None:
    answer = await _video(client, sim, **body)
    assert answer.status_code == 400 and words in answer.json()["error"]


async def test_plans_credits_and_a_broken_session(sim: FlowSimulator,
                                                  client: httpx.AsyncClient) -> None:
    sim.useapi.make_pro()
    short = await _video(client, sim, duration=4)
    assert short.status_code == 403 and "MODEL_ACCESS_DENIED" in short.json()["error"]
    sim.useapi.accounts[DEFAULT_EMAIL].credits = 5
    assert (await _video(client, sim)).status_code == 402
    sim.useapi.disconnect()
    broken = await _video(client, sim)
    assert broken.status_code == 596 and "reconnect" in broken.json()["error"]


async def test_markers_fail_refuse_and_stick(sim: FlowSimulator,
                                             client: httpx.AsyncClient) -> None:
    failed = await _poll(client, sim, (await _video(client, sim, prompt="FORCE_FAIL")
                                       ).json()["jobid"])
    assert failed["status"] == "failed" and failed["error"] and failed["code"] == 500
    unsafe = await _poll(client, sim, (await _video(client, sim, prompt="FORCE_UNSAFE")
                                       ).json()["jobid"])
    reason = unsafe["response"]["error"]["details"][0]["reason"]
    assert reason == "PUBLIC_ERROR_UNSAFE_GENERATION"
    assert sim.useapi.accounts[DEFAULT_EMAIL].credits == 990  # only FORCE_FAIL was charged
    stuck = (await _video(client, sim, prompt="FORCE_STUCK")).json()["jobid"]
    await asyncio.sleep(0.5)
    record = (await client.get(f"{sim.useapi_url}/jobs/{quote(stuck, safe='')}",
                               headers=AUTH)).json()
    assert record["status"] == "started"
    image = await client.post(f"{sim.useapi_url}/images", headers=AUTH,
                              json={"prompt": "FORCE_UNSAFE a cat"})
    assert image.status_code == 400 and "PUBLIC_ERROR_UNSAFE_GENERATION" in image.text


async def test_a_slow_image_answers_408_and_its_job_goes_on(
        sim: FlowSimulator, client: httpx.AsyncClient) -> None:
    sim.config.image_latency, sim.config.useapi_sync_wait = 0.4, 0.1
    answer = await client.post(f"{sim.useapi_url}/images", headers=AUTH,
                               json={"prompt": "a slow cat"})
    assert answer.status_code == 408
    record = await _poll(client, sim, answer.json()["jobid"])
    assert record["response"]["media"][0]["image"]["generatedImage"]["fifeUrl"]


async def test_injected_errors_carry_useapi_bodies_and_the_log_counts(
        sim: FlowSimulator, client: httpx.AsyncClient) -> None:
    sim.inject("/v1/google-flow/videos", 429, retry_after=2)
    throttled = await _video(client, sim)
    assert throttled.status_code == 429 and throttled.json()["retryAfter"] == 2
    assert throttled.headers["retry-after"] == "2"
    sim.inject("/v1/google-flow/videos", 596)
    assert (await _video(client, sim)).status_code == 596
    assert (await _video(client, sim)).status_code == 201
    assert sim.count("/v1/google-flow/videos", "POST") == 3


def test_the_environment_lines_name_useapi() -> None:
    lines = env_lines("http://127.0.0.1:8765", SimConfig(useapi_token=TOKEN))
    assert "USEAPI_URL=http://127.0.0.1:8765/v1/google-flow" in lines
    assert f"USEAPI_TOKEN={TOKEN}" in lines
