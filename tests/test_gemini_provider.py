"""GeminiProvider through the real google-genai SDK against the simulator's Gemini API on loopback.

Images run on both ways in (an AI Studio key on the Developer API, Agent Platform express mode).
Videos: Omni on the Interactions API on the Developer API, Veo 3.1 on Agent Platform.
`tests/test_gemini_omni.py` covers Omni on `httpx.MockTransport` too.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import av
import httpx
import pytest
from aiohttp.web import Response

from bot.jobs.errors import (
    AuthExpired,
    GenerationFailed,
    QuotaExhausted,
    RateLimited,
    RequestRejected,
    ResultLost,
    ResultTooLarge,
    SafetyBlocked,
    UpstreamUnavailable,
)
from bot.jobs.model import (
    Aspect,
    Job,
    JobKind,
    JobState,
    NewJob,
    Options,
    Phase,
    ProviderName,
)
from bot.jobs.poller import BatchPoller
from bot.jobs.provider import GenerationRequest, Provider, RenderState, RenderStatus
from bot.jobs.retry import RetryPolicy
from bot.jobs.runner import JobRunner, RunnerConfig
from bot.providers.gemini.provider import GeminiProvider
from bot.sim.config import SimConfig
from bot.sim.gemini import quota_error
from bot.sim.media import image_size, make_png
from bot.sim.server import FlowSimulator
from storage.db import connect
from storage.jobs import JobStore

API_KEY = "AIzaSyTest-gemini-key-0123456789abcdef"
MODES = pytest.mark.parametrize("vertex", [False, True], ids=["developer", "vertex"])


#: Video scenarios: Veo 3.1 on Agent Platform runs; the Developer-API variant waits for the sim.
VEO_MODES = pytest.mark.parametrize("vertex", [pytest.param(False, id="developer"),
                                               pytest.param(True, id="vertex")])
LEGACY_OPERATION = "models/veo-3.1-fast-generate-preview/operations/abc"


async def _no_sleep(_: float) -> None:
    return None


@pytest.fixture
async def sim() -> AsyncIterator[FlowSimulator]:
    simulator = FlowSimulator(SimConfig(latency=0.1, gemini_api_key=API_KEY))
    await simulator.start()
    yield simulator
    await simulator.stop()


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10) as client:
        yield client


def provider(sim: FlowSimulator, http: httpx.AsyncClient, tmp_path: Path, *, vertex: bool = False,
             api_key: str = API_KEY, **options: Any) -> GeminiProvider:
    options = {"timeout": 10.0, **options}
    retry = RetryPolicy(attempts=3, base_delay=0.0, max_delay=0.0, sleep=_no_sleep)
    return GeminiProvider(api_key=api_key, media_dir=tmp_path / "gemini", http=http,
                          base_url=sim.base_url, vertex=vertex, retry=retry, **options)


def video(prompt: str, reference: str | None = None, aspect: Aspect = Aspect.LANDSCAPE
          ) -> GenerationRequest:
    kind = JobKind.VIDEO if reference is None else JobKind.ANIMATE
    return GenerationRequest(kind, prompt, aspect, reference)


async def rendered(gemini: GeminiProvider, name: str, timeout: float = 5.0) -> RenderStatus:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        [status] = await gemini.check([{"name": name}])
        if status.state in (RenderState.DONE, RenderState.FAILED):
            return status
        assert asyncio.get_running_loop().time() < deadline, "the operation never finished"
        await asyncio.sleep(0.05)


def frames(path: Path) -> tuple[int, int, int]:
    """(frames, width, height) of a video file, decoded with PyAV."""
    with av.open(str(path)) as container:
        decoded = list(container.decode(video=0))
    return len(decoded), decoded[0].width, decoded[0].height


# images


@MODES
@pytest.mark.parametrize("model", ["gemini-3.1-flash-image", "gemini-3-pro-image"])
async def test_image_is_kept_as_a_handle(sim: FlowSimulator, http: httpx.AsyncClient,
                                         tmp_path: Path, vertex: bool, model: str) -> None:
    gemini = provider(sim, http, tmp_path, vertex=vertex, image_model=model)
    request = GenerationRequest(JobKind.IMAGE, "a red fox", Aspect.PORTRAIT)
    task_id = await gemini.submit(request)
    accepted = await gemini.accepted(task_id, JobKind.IMAGE)
    assert task_id.startswith("gemini-image:") and accepted is not None
    assert accepted.media_id == task_id and accepted.image_bytes is not None
    assert image_size(accepted.image_bytes) == (180, 320)
    prefix = "/v1beta1/publishers/google/models/" if vertex else "/v1beta/models/"
    assert sim.count(f"{prefix}{model}:generateContent", "POST") == 1


@MODES
async def test_image_refusals_are_clear(sim: FlowSimulator, http: httpx.AsyncClient,
                                        tmp_path: Path, vertex: bool) -> None:
    gemini = provider(sim, http, tmp_path, vertex=vertex)
    with pytest.raises(SafetyBlocked, match="PROHIBITED_CONTENT"):
        await gemini.submit(GenerationRequest(JobKind.IMAGE, "FORCE_UNSAFE", Aspect.LANDSCAPE))
    with pytest.raises(GenerationFailed, match="NO_IMAGE"):
        await gemini.submit(GenerationRequest(JobKind.IMAGE, "FORCE_FAIL", Aspect.LANDSCAPE))


# videos


@VEO_MODES
async def test_text_to_video_streams_a_playable_mp4(sim: FlowSimulator,
                                                    http: httpx.AsyncClient, tmp_path: Path,
                                                    vertex: bool) -> None:
    gemini = provider(sim, http, tmp_path, vertex=vertex)
    name = await gemini.submit(video("a cat surfing"))
    accepted = await gemini.accepted(name, JobKind.VIDEO)
    assert accepted is not None and accepted.render == [{"name": name}]
    status = await rendered(gemini, name)
    assert status.state is RenderState.DONE and status.url is not None
    if vertex:
        assert status.url.startswith("gemini-video:")
        assert sim.count(":fetchPredictOperation", "POST") >= 1
    else:  # Google's own host in the uri; the SDK fetches it through GEMINI_API_URL
        assert status.url.startswith("https://generativelanguage.googleapis.com/v1beta/files/")
        assert sim.count(":download", "GET") == 0
    dest = tmp_path / "video.mp4"
    size = await gemini.download(status.url, dest, max_bytes=10_000_000)
    assert size == dest.stat().st_size > 0
    assert frames(dest) == (8, 320, 180)


@VEO_MODES
async def test_image_to_video_sends_the_image_as_first_frame(
        sim: FlowSimulator, http: httpx.AsyncClient, tmp_path: Path, vertex: bool) -> None:
    gemini = provider(sim, http, tmp_path, vertex=vertex)
    photo = make_png("a user's photo", 180, 320)
    handle = await gemini.upload_image(photo, mime="image/jpeg")
    name = await gemini.submit(video("make it dance", handle, Aspect.PORTRAIT))
    assert sim.gemini.operations[name].image == photo
    status = await rendered(gemini, name)
    assert status.url is not None
    await gemini.download(status.url, tmp_path / "v.mp4", max_bytes=10_000_000)
    assert frames(tmp_path / "v.mp4")[1:] == (180, 320)


@VEO_MODES
async def test_failed_and_filtered_operations(sim: FlowSimulator, http: httpx.AsyncClient,
                                              tmp_path: Path, vertex: bool) -> None:
    gemini = provider(sim, http, tmp_path, vertex=vertex)
    failing = await gemini.submit(video("FORCE_FAIL a storm"))
    unsafe = await gemini.submit(video("FORCE_UNSAFE a storm"))
    good = await gemini.submit(video("a storm"))
    await asyncio.sleep(0.15)
    statuses = await gemini.check([{"name": failing}, {"name": unsafe}, {"name": good}])
    assert [s.state for s in statuses] == [RenderState.FAILED, RenderState.FAILED,
                                           RenderState.DONE]
    assert "internal error" in (statuses[0].error or "")
    assert "safety filters blocked the video" in (statuses[1].error or "")


@VEO_MODES
async def test_stuck_and_unknown_operations_fail_alone(sim: FlowSimulator,
                                                       http: httpx.AsyncClient,
                                                       tmp_path: Path, vertex: bool) -> None:
    gemini = provider(sim, http, tmp_path, vertex=vertex)
    stuck = await gemini.submit(video("FORCE_STUCK"))
    await asyncio.sleep(0.15)
    unknown = stuck.rsplit("/", 1)[0] + "/000000000000"
    statuses = await gemini.check([{"name": stuck}, {"name": unknown}, {}])
    assert [s.state for s in statuses] == [RenderState.ACTIVE, RenderState.FAILED,
                                           RenderState.FAILED]
    assert "not found" in (statuses[1].error or "")


# errors


@VEO_MODES
async def test_daily_quota_is_not_retried(sim: FlowSimulator, http: httpx.AsyncClient,
                                          tmp_path: Path, vertex: bool) -> None:
    gemini = provider(sim, http, tmp_path, vertex=vertex)
    sim.inject(":predictLongRunning", 429, body=quota_error(per_day=True))
    with pytest.raises(QuotaExhausted, match="quota is used up"):
        await gemini.submit(video("a dog"))
    assert sim.count(":predictLongRunning") == 1


@VEO_MODES
async def test_per_minute_limit_and_5xx_are_retried(sim: FlowSimulator,
                                                    http: httpx.AsyncClient,
                                                    tmp_path: Path, vertex: bool) -> None:
    gemini = provider(sim, http, tmp_path, vertex=vertex)
    sim.inject(":predictLongRunning", 429, body=quota_error(per_day=False, retry_delay=0))
    sim.inject(":predictLongRunning", 503)
    name = await gemini.submit(video("a dog"))
    assert name in sim.gemini.operations
    assert sim.count(":predictLongRunning") == 3
    sim.inject(":generateContent", 429, times=5, body=quota_error(per_day=False, retry_delay=0))
    with pytest.raises(RateLimited):
        await gemini.submit(GenerationRequest(JobKind.IMAGE, "a dog", Aspect.LANDSCAPE))


@VEO_MODES
async def test_a_failing_poll_fails_the_batch_for_a_retry(sim: FlowSimulator,
                                                          http: httpx.AsyncClient,
                                                          tmp_path: Path, vertex: bool) -> None:
    gemini = provider(sim, http, tmp_path, vertex=vertex)
    name = await gemini.submit(video("a dog"))
    sim.inject(":fetchPredictOperation" if vertex else "/operations/", 503)
    with pytest.raises(UpstreamUnavailable):
        await gemini.check([{"name": name}])


@VEO_MODES
async def test_a_wrong_key_is_an_expired_credential(sim: FlowSimulator,
                                                    http: httpx.AsyncClient, tmp_path: Path,
                                                    vertex: bool) -> None:
    wrong = "AIzaSyWrong-key-for-the-test-987654321"
    gemini = provider(sim, http, tmp_path, vertex=vertex, api_key=wrong)
    with pytest.raises(AuthExpired, match="GEMINI_API_KEY") as caught:
        await gemini.submit(video("a dog"))
    assert wrong not in str(caught.value)
    with pytest.raises(AuthExpired):
        await gemini.submit(GenerationRequest(JobKind.IMAGE, "a dog", Aspect.LANDSCAPE))


async def test_invalid_argument_is_a_rejection(sim: FlowSimulator, http: httpx.AsyncClient,
                                               tmp_path: Path) -> None:
    gemini = provider(sim, http, tmp_path, video_model="gemini-2.5-flash")
    with pytest.raises(RequestRejected, match="not found"):
        await gemini.submit(video("a dog"))
    body = {"instances": [{"prompt": "x"}], "parameters": {"aspectRatio": "4:3"}}
    answer = await http.post(f"{sim.base_url}/v1beta/models/veo-3.1-fast-generate-preview"
                             ":predictLongRunning", json=body, headers={"x-goog-api-key": API_KEY})
    assert answer.status_code == 400 and "aspectRatio" in answer.json()["error"]["message"]


@VEO_MODES
async def test_download_past_the_limit(sim: FlowSimulator, http: httpx.AsyncClient,
                                       tmp_path: Path, vertex: bool) -> None:
    sim.config.video_bytes = 400_000
    gemini = provider(sim, http, tmp_path, vertex=vertex)
    status = await rendered(gemini, await gemini.submit(video("a long video")))
    assert status.url is not None
    dest = tmp_path / "big.mp4"
    with pytest.raises(ResultTooLarge) as caught:
        await gemini.download(status.url, dest, max_bytes=100_000)
    assert caught.value.url == status.url and not dest.exists()


# restart


@VEO_MODES
async def test_handles_survive_a_new_provider(sim: FlowSimulator, http: httpx.AsyncClient,
                                              tmp_path: Path, vertex: bool) -> None:
    before = provider(sim, http, tmp_path, vertex=vertex)
    image = await before.submit(GenerationRequest(JobKind.IMAGE, "a lighthouse", Aspect.LANDSCAPE))
    name = await before.submit(video("waves"))
    await before.aclose()

    after = provider(sim, http, tmp_path, vertex=vertex)  # a new process: nothing in memory
    accepted = await after.accepted(image, JobKind.IMAGE)
    assert accepted is not None and accepted.image_bytes is not None
    animate = await after.submit(video("the light turns", image))
    for operation in (name, animate):
        status = await rendered(after, operation)
        assert status.state is RenderState.DONE and status.url is not None
        dest = tmp_path / f"{operation.rsplit('/', 1)[1]}.mp4"
        await after.download(status.url, dest, max_bytes=10_000_000)
        assert frames(dest)[0] == 8

    for file in (tmp_path / "gemini" / "images").iterdir():
        file.unlink()
    with pytest.raises(ResultLost):
        await after.accepted(image, JobKind.IMAGE)
    with pytest.raises(RequestRejected, match="no longer kept"):
        await after.submit(video("again", image))


async def test_foreign_or_bad_pictures_are_refused(sim: FlowSimulator,
                                                   http: httpx.AsyncClient,
                                                   tmp_path: Path) -> None:
    gemini = provider(sim, http, tmp_path)
    with pytest.raises(RequestRejected, match="Gemini provider"):
        await gemini.submit(video("move", "CAMaJDk4YjQ5flow-media-id"))
    with pytest.raises(RequestRejected, match="Gemini provider"):
        await gemini.submit(video("move", "gemini-image:../../etc/passwd.png"))
    with pytest.raises(RequestRejected, match="PNG, JPEG or WebP"):
        await gemini.upload_image(io.BytesIO(b"GIF89a...").getvalue(), mime="image/gif")
    assert sim.count(":predictLongRunning") == 0


@VEO_MODES
async def test_a_lost_answer_to_a_submission_is_not_sent_again(
        sim: FlowSimulator, http: httpx.AsyncClient, tmp_path: Path, vertex: bool,
        monkeypatch: pytest.MonkeyPatch) -> None:
    original = sim.gemini._start_video

    async def slow(*args: Any, **kwargs: Any) -> Response:
        await asyncio.sleep(0.3)
        return await original(*args, **kwargs)

    monkeypatch.setattr(sim.gemini, "_start_video", slow)
    gemini = provider(sim, http, tmp_path, vertex=vertex, timeout=0.1)
    with pytest.raises(UpstreamUnavailable) as caught:
        await gemini.submit(video("a dog"))
    assert caught.value.maybe_processed
    await asyncio.sleep(0.3)  # the simulator finishes the one request it got: it did the work
    assert sim.count(":predictLongRunning") == 1 and len(sim.gemini.operations) == 1


async def test_a_wrong_key_stops_the_whole_poll(sim: FlowSimulator,
                                                http: httpx.AsyncClient, tmp_path: Path) -> None:
    gemini = provider(sim, http, tmp_path, api_key="AIzaSyWrong-key-for-the-test-987654321")
    with pytest.raises(AuthExpired):
        await gemini.check([{"interaction": "v1_made-with-another-key"}])


# the engine, unchanged, driving the Gemini provider


class _Recorder:
    """A front that keeps what the engine hands over."""

    def __init__(self) -> None:
        self.delivered: dict[int, bytes] = {}
        self.failures: list[Job] = []

    async def progress(self, job: Job, phase: Phase) -> None:
        return None

    async def deliver(self, job: Job, path: Path) -> None:
        self.delivered[job.id] = path.read_bytes()

    async def deliver_link(self, job: Job, url: str) -> None:
        raise AssertionError(url)

    async def failed(self, job: Job) -> None:
        self.failures.append(job)

    async def waiting_for_token(self, job: Job) -> None:
        self.failures.append(job)


def _runner(store: JobStore, gemini: Provider, notifier: _Recorder,
            tmp_path: Path) -> tuple[JobRunner, BatchPoller]:
    poller = BatchPoller(interval=0.05, backoff=RetryPolicy(base_delay=0.01, sleep=_no_sleep))
    config = RunnerConfig(files_dir=tmp_path / "files", poll_interval=0.05, progress_every=0.1,
                          render_timeout=10.0, submit_timeout=5.0)
    runner = JobRunner(store=store, provider_for=lambda job: gemini, poller=poller,
                       notifier=notifier, config=config)
    return runner, poller


async def _wait_for(store: JobStore, job_id: int, state: JobState) -> Job:
    for _ in range(200):
        job = await store.get(job_id)
        if job.state is state:
            return job
        await asyncio.sleep(0.02)
    raise AssertionError(f"job {job_id} never reached {state.value}")


@VEO_MODES
async def test_engine_makes_an_image_animates_it_and_resumes_after_a_restart(
        sim: FlowSimulator, http: httpx.AsyncClient, tmp_path: Path, vertex: bool) -> None:
    sim.config.latency = 0.3
    db = await connect(tmp_path / "bot.sqlite3")
    store, notifier = JobStore(db), _Recorder()
    runner, poller = _runner(store, provider(sim, http, tmp_path, vertex=vertex), notifier,
                             tmp_path)
    await runner.start()
    image = await runner.submit(NewJob(1, 1, JobKind.IMAGE, "a lighthouse",
                                       provider=ProviderName.GEMINI))
    image = await _wait_for(store, image.id, JobState.DELIVERED)
    assert image.media_id is not None and image.media_id.startswith("gemini-image:")
    animate = await runner.submit(NewJob(1, 1, JobKind.ANIMATE, "the light turns",
                                         reference_media_id=image.media_id,
                                         provider=ProviderName.GEMINI))
    job = await _wait_for(store, animate.id, JobState.RENDERING)
    await runner.stop()  # the "crash": the job stays RENDERING with its operation name
    await poller.close()
    assert job.task_id is not None and job.render == [{"name": job.task_id}]

    runner, poller = _runner(store, provider(sim, http, tmp_path, vertex=vertex), notifier,
                             tmp_path)
    assert await runner.start() == 1
    await _wait_for(store, animate.id, JobState.DELIVERED)
    await runner.stop()
    await poller.close()
    await db.close()
    assert not notifier.failures
    assert sim.count(":predictLongRunning") == 1
    assert notifier.delivered[image.id].startswith(b"\x89PNG")
    assert b"ftyp" in notifier.delivered[animate.id][:16]


# options


@VEO_MODES
async def test_video_options_reach_google(sim: FlowSimulator, http: httpx.AsyncClient,
                                          tmp_path: Path, vertex: bool) -> None:
    gemini = provider(sim, http, tmp_path, vertex=vertex)
    seed = 42 if vertex else None
    options = Options(negative_prompt="blurry", resolution="1080p", duration=8, seed=seed)
    await gemini.submit(GenerationRequest(JobKind.VIDEO, "a dog", Aspect.LANDSCAPE, None, options))
    [sent] = [entry.body for entry in sim.log if entry.path.endswith(":predictLongRunning")]
    expected = {"sampleCount": 1, "aspectRatio": "16:9", "negativePrompt": "blurry",
                "resolution": "1080p", "durationSeconds": 8, "generateAudio": True}
    assert sent["parameters"] == (expected | {"seed": 42} if vertex else expected)
    assert ("seed" in gemini.supported_options) is vertex


async def test_unsupported_options_get_a_sentence(sim: FlowSimulator,
                                                  http: httpx.AsyncClient,
                                                  tmp_path: Path) -> None:
    gemini = provider(sim, http, tmp_path)
    with pytest.raises(RequestRejected, match="cannot honour seed for videos"):
        await gemini.submit(GenerationRequest(JobKind.VIDEO, "a dog", Aspect.LANDSCAPE, None,
                                              Options(seed=1)))
    with pytest.raises(RequestRejected, match="cannot honour negative_prompt for images"):
        await gemini.submit(GenerationRequest(JobKind.IMAGE, "a dog", Aspect.LANDSCAPE, None,
                                              Options(negative_prompt="cats")))
    with pytest.raises(RequestRejected, match="cannot honour negative_prompt for videos"):
        await gemini.submit(GenerationRequest(JobKind.VIDEO, "a dog", Aspect.LANDSCAPE, None,
                                              Options(negative_prompt="cats")))
    with pytest.raises(RequestRejected, match="3 to 10 seconds, not 12"):
        await gemini.submit(GenerationRequest(JobKind.VIDEO, "a dog", Aspect.LANDSCAPE, None,
                                              Options(duration=12)))
    assert not sim.log  # all refused before anything was sent
    image = await gemini.submit(GenerationRequest(JobKind.IMAGE, "a dog", Aspect.LANDSCAPE, None,
                                                  Options(seed=7)))
    assert image.startswith("gemini-image:")
    [sent] = [entry.body for entry in sim.log if entry.path.endswith(":generateContent")]
    assert sent["generationConfig"]["seed"] == 7


async def test_without_a_key_jobs_wait_for_one(sim: FlowSimulator, http: httpx.AsyncClient,
                                               tmp_path: Path) -> None:
    gemini = provider(sim, http, tmp_path, api_key="")
    with pytest.raises(AuthExpired, match="GEMINI_API_KEY"):
        await gemini.submit(video("a dog"))
    with pytest.raises(AuthExpired, match="GEMINI_API_KEY"):
        await gemini.check([{"name": LEGACY_OPERATION}])
    with pytest.raises(AuthExpired, match="GEMINI_API_KEY"):
        await gemini.check([{"interaction": "v1_abc"}])
    assert not await gemini.renew_auth(AuthExpired("x"))
    assert await gemini.account_status() is None
    assert not sim.log
