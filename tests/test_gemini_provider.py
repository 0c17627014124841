"""GeminiProvider against the simulator's Gemini API on loopback (real HTTP).

Images run on both ways in (an AI Studio key on the Developer API, Agent Platform express mode),
through the real google-genai SDK. Videos: Gemini Omni on the Interactions API with a Developer
API key (`POST /v1beta/interactions`, polled with `GET /v1beta/interactions/{id}`; what the
simulator received is read back with `sim.interactions()`), Veo 3.1 on Agent Platform through the
SDK (`:predictLongRunning`). `tests/test_gemini_omni.py` covers Omni on `httpx.MockTransport` too.
"""

from __future__ import annotations

import asyncio
import io
from pathlib import Path
from typing import Any

import av
import httpx
import pytest

from bot.jobs.errors import (
    AuthExpired,
    ErrorCode,
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
from bot.sim import interactions as sim_interactions
from bot.sim.gemini import quota_error
from bot.sim.google import google_error
from bot.sim.interactions import InteractionRecord
from bot.sim.media import image_size, make_png
from bot.sim.server import FlowSimulator
from storage.db import connect
from storage.jobs import JobStore
from tests.conftest import MakeSim

API_KEY = "AIzaSyTest-gemini-key-0123456789abcdef"
MODES = pytest.mark.parametrize("vertex", [False, True], ids=["developer", "vertex"])


#: Video scenarios: Omni interactions on the Developer API, Veo 3.1 operations on Agent Platform.
VEO_MODES = pytest.mark.parametrize("vertex", [pytest.param(False, id="developer"),
                                               pytest.param(True, id="vertex")])
LEGACY_OPERATION = "models/veo-3.1-fast-generate-preview/operations/abc"
#: Where an Omni video is created on the Developer API (upstream-2026.md, section 2).
OMNI_CREATE = "/v1beta/interactions"
OMNI_MODEL = "gemini-omni-1.1-flash"
GOOGLE_FILES = "https://generativelanguage.googleapis.com/v1beta/files/"


async def _no_sleep(_: float) -> None:
    return None


@pytest.fixture
async def sim(make_sim: MakeSim) -> FlowSimulator:
    return await make_sim(latency=0.1, gemini_api_key=API_KEY)




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


def render_of(task_id: str, vertex: bool) -> dict[str, Any]:
    """The render handle the engine keeps: an Omni interaction, or a Veo operation."""
    return {"name": task_id} if vertex else {"interaction": task_id}


def create_path(vertex: bool) -> str:
    """What the path of a video submission contains (for `sim.inject`)."""
    return ":predictLongRunning" if vertex else OMNI_CREATE


def creates(sim: FlowSimulator, vertex: bool) -> int:
    """Video submissions that reached the simulator (answered or not)."""
    if vertex:
        return sim.count(":predictLongRunning", "POST")
    return sum(1 for entry in sim.log if entry.method == "POST" and entry.path == OMNI_CREATE)


def interaction(sim: FlowSimulator) -> InteractionRecord:
    """The one Omni interaction the simulator made."""
    [record] = sim.interactions()
    return record


async def rendered(gemini: GeminiProvider, render: dict[str, Any],
                   timeout: float = 5.0) -> RenderStatus:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        [status] = await gemini.check([render])
        if status.state in (RenderState.DONE, RenderState.FAILED):
            return status
        assert asyncio.get_running_loop().time() < deadline, "the render never finished"
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
    task_id = await gemini.submit(video("a cat surfing"))
    accepted = await gemini.accepted(task_id, JobKind.VIDEO)
    assert accepted is not None and accepted.render == [render_of(task_id, vertex)]
    status = await rendered(gemini, render_of(task_id, vertex))
    assert status.state is RenderState.DONE and status.url is not None
    if vertex:
        assert status.url.startswith("gemini-video:")
        assert sim.count(":fetchPredictOperation", "POST") >= 1
    else:  # one Omni interaction, asked for a uri on Google's host, fetched through GEMINI_API_URL
        record = interaction(sim)
        assert record.id == task_id and record.status == "completed"
        wanted = record.request
        assert (wanted.model, wanted.prompt, wanted.task, wanted.images) == (
            OMNI_MODEL, "a cat surfing", "text_to_video", ())
        assert (wanted.aspect_ratio, wanted.resolution, wanted.duration, wanted.delivery,
                wanted.background) == ("16:9", "720p", "8s", "uri", True)
        assert creates(sim, vertex) == 1
        assert status.url.startswith(GOOGLE_FILES) and status.url.endswith(":download?alt=media")
        assert sim.count(":download", "GET") == 0
    dest = tmp_path / "video.mp4"
    size = await gemini.download(status.url, dest, max_bytes=10_000_000)
    assert size == dest.stat().st_size > 0
    assert frames(dest) == (8, 320, 180)
    if not vertex:  # the simulator checks the key on the download: the key went along
        assert sim.count(":download", "GET") == 1


async def test_an_omni_video_may_come_inline(sim: FlowSimulator, http: httpx.AsyncClient,
                                             tmp_path: Path) -> None:
    sim.config.omni_delivery = "inline"  # Google may answer inline data though a uri was asked
    gemini = provider(sim, http, tmp_path)
    task_id = await gemini.submit(video("a cat surfing", aspect=Aspect.PORTRAIT))
    status = await rendered(gemini, render_of(task_id, False))
    assert status.state is RenderState.DONE and status.url is not None
    assert status.url.startswith("gemini-video:") and interaction(sim).request.delivery == "uri"
    dest = tmp_path / "inline.mp4"
    assert await gemini.download(status.url, dest, max_bytes=10_000_000) == dest.stat().st_size
    assert frames(dest) == (8, 180, 320)
    assert sim.count("/files/") == 0  # nothing left to fetch


@VEO_MODES
async def test_image_to_video_sends_the_image_as_first_frame(
        sim: FlowSimulator, http: httpx.AsyncClient, tmp_path: Path, vertex: bool) -> None:
    gemini = provider(sim, http, tmp_path, vertex=vertex)
    photo = make_png("a user's photo", 180, 320)
    handle = await gemini.upload_image(photo, mime="image/jpeg")
    task_id = await gemini.submit(video("make it dance", handle, Aspect.PORTRAIT))
    if vertex:
        assert sim.gemini.operations[task_id].image == photo
    else:
        record = interaction(sim)
        assert record.id == task_id and record.images == (photo,)
        wanted = record.request
        assert (wanted.task, wanted.prompt, wanted.aspect_ratio) == (
            "image_to_video", "make it dance", "9:16")
        assert [image.mime_type for image in wanted.images] == ["image/png"]  # by its bytes
    status = await rendered(gemini, render_of(task_id, vertex))
    assert status.url is not None
    await gemini.download(status.url, tmp_path / "v.mp4", max_bytes=10_000_000)
    assert frames(tmp_path / "v.mp4")[1:] == (180, 320)


#: Developer API (Omni): every way an interaction ends without a video, and its own sentence.
OMNI_ENDINGS = {
    "FORCE_FAIL": ("failed", "the video generation failed at Google: Video generation failed: "
                             "internal error"),
    "FORCE_UNSAFE": ("completed", "Google's safety filters blocked the video: the answer has no "
                                  "video: “I can't create this video."),
    "FORCE_CANCELLED": ("cancelled", "the video generation was cancelled at Google"),
    "FORCE_INCOMPLETE": ("incomplete", "the video generation stopped before the video was "
                                       "finished (incomplete)"),
    "FORCE_BUDGET": ("budget_exceeded", "the video generation ran over its budget at Google "
                                        "(budget_exceeded): The interaction ran out of budget"),
}
#: Agent Platform (Veo): a failed operation and a filtered one.
VEO_ENDINGS = {"FORCE_FAIL": ("", "internal error"),
               "FORCE_UNSAFE": ("", "safety filters blocked the video")}


@VEO_MODES
async def test_failed_and_filtered_operations(sim: FlowSimulator, http: httpx.AsyncClient,
                                              tmp_path: Path, vertex: bool) -> None:
    gemini = provider(sim, http, tmp_path, vertex=vertex)
    endings = VEO_ENDINGS if vertex else OMNI_ENDINGS
    ended = [await gemini.submit(video(f"{marker} a storm")) for marker in endings]
    good = await gemini.submit(video("a storm"))
    await asyncio.sleep(0.15)
    statuses = await gemini.check([render_of(task_id, vertex) for task_id in [*ended, good]])
    assert [s.state for s in statuses] == [RenderState.FAILED] * len(endings) + [RenderState.DONE]
    errors = [status.error or "" for status in statuses[:-1]]
    for error, (_, sentence) in zip(errors, endings.values(), strict=True):
        assert sentence in error, error
    assert len(set(errors)) == len(errors)  # each ending says its own thing
    if not vertex:  # and the refusal really was Google's "completed without a video"
        states = {record.id: str(record.status) for record in sim.interactions()}
        assert [states[task_id] for task_id in ended] == [s for s, _ in endings.values()]
        assert states[good] == "completed"
        assert creates(sim, vertex) == len(endings) + 1


@VEO_MODES
async def test_stuck_and_unknown_operations_fail_alone(sim: FlowSimulator,
                                                       http: httpx.AsyncClient,
                                                       tmp_path: Path, vertex: bool) -> None:
    gemini = provider(sim, http, tmp_path, vertex=vertex)
    stuck = await gemini.submit(video("FORCE_STUCK"))
    await asyncio.sleep(0.15)
    unknown = (stuck.rsplit("/", 1)[0] + "/000000000000" if vertex
               else "v1_" + "0" * 32)  # an id Google never gave: answered 400
    statuses = await gemini.check([render_of(stuck, vertex), render_of(unknown, vertex), {}])
    assert [s.state for s in statuses] == [RenderState.ACTIVE, RenderState.FAILED,
                                           RenderState.FAILED]
    assert ("not found" if vertex else "is not valid or does not exist") in (
        statuses[1].error or "")
    assert statuses[2].error == "malformed render entry"
    if not vertex:
        assert interaction(sim).status == "in_progress"


# errors


@VEO_MODES
async def test_daily_quota_is_not_retried(sim: FlowSimulator, http: httpx.AsyncClient,
                                          tmp_path: Path, vertex: bool) -> None:
    gemini = provider(sim, http, tmp_path, vertex=vertex)
    sim.inject(create_path(vertex), 429, body=quota_error(per_day=True))
    with pytest.raises(QuotaExhausted, match="quota is used up"):
        await gemini.submit(video("a dog"))
    assert creates(sim, vertex) == 1
    assert not sim.interactions() and not sim.gemini.operations


@VEO_MODES
async def test_per_minute_limit_and_5xx_are_retried(sim: FlowSimulator,
                                                    http: httpx.AsyncClient,
                                                    tmp_path: Path, vertex: bool) -> None:
    gemini = provider(sim, http, tmp_path, vertex=vertex)
    sim.inject(create_path(vertex), 429, body=quota_error(per_day=False, retry_delay=0))
    sim.inject(create_path(vertex), 503)
    task_id = await gemini.submit(video("a dog"))
    made = list(sim.gemini.operations) if vertex else [r.id for r in sim.interactions()]
    assert made == [task_id]
    assert creates(sim, vertex) == 3
    sim.inject(":generateContent", 429, times=5, body=quota_error(per_day=False, retry_delay=0))
    with pytest.raises(RateLimited):
        await gemini.submit(GenerationRequest(JobKind.IMAGE, "a dog", Aspect.LANDSCAPE))


@VEO_MODES
async def test_a_failing_poll_fails_the_batch_for_a_retry(sim: FlowSimulator,
                                                          http: httpx.AsyncClient,
                                                          tmp_path: Path, vertex: bool) -> None:
    gemini = provider(sim, http, tmp_path, vertex=vertex)
    task_id = await gemini.submit(video("a dog"))
    sim.inject(":fetchPredictOperation" if vertex else f"{OMNI_CREATE}/", 503)
    with pytest.raises(UpstreamUnavailable):
        await gemini.check([render_of(task_id, vertex)])
    assert sim.log[-1].status == 503  # the poll itself met the 503
    [status] = await gemini.check([render_of(task_id, vertex)])  # the next tick goes on
    assert status.state in (RenderState.ACTIVE, RenderState.DONE)


@VEO_MODES
async def test_a_wrong_key_is_an_expired_credential(sim: FlowSimulator,
                                                    http: httpx.AsyncClient, tmp_path: Path,
                                                    vertex: bool) -> None:
    wrong = "AIzaSyWrong-key-for-the-test-987654321"
    gemini = provider(sim, http, tmp_path, vertex=vertex, api_key=wrong)
    with pytest.raises(AuthExpired, match="GEMINI_API_KEY") as caught:
        await gemini.submit(video("a dog"))
    assert wrong not in str(caught.value)
    assert creates(sim, vertex) == 1  # Google answered the key: not sent again
    with pytest.raises(AuthExpired):
        await gemini.submit(GenerationRequest(JobKind.IMAGE, "a dog", Aspect.LANDSCAPE))


async def test_invalid_argument_is_a_rejection(sim: FlowSimulator, http: httpx.AsyncClient,
                                               tmp_path: Path) -> None:
    gemini = provider(sim, http, tmp_path, video_model="gemini-2.5-flash")
    with pytest.raises(RequestRejected, match="not found"):
        await gemini.submit(video("a dog"))
    assert creates(sim, False) == 1
    gemini = provider(sim, http, tmp_path)
    refusal = "response_format.resolution: '8k' is not one of 360p, 720p, 1080p, 4k"
    sim.inject(OMNI_CREATE, 400, body=google_error(400, refusal))
    with pytest.raises(RequestRejected, match=r"response_format\.resolution: .8k. is not one of"):
        await gemini.submit(video("a dog"))
    assert creates(sim, False) == 2 and not sim.interactions()  # a 400 is not sent again
    body = {"model": OMNI_MODEL, "input": "x", "background": True,
            "response_format": {"type": "video", "aspect_ratio": "4:3"}}
    answer = await http.post(f"{sim.base_url}{OMNI_CREATE}", json=body,
                             headers={"x-goog-api-key": API_KEY})
    error = answer.json()["error"]
    assert answer.status_code == 400 and error["status"] == "INVALID_ARGUMENT"
    assert "response_format.aspect_ratio" in error["message"]


@VEO_MODES
async def test_download_past_the_limit(sim: FlowSimulator, http: httpx.AsyncClient,
                                       tmp_path: Path, vertex: bool) -> None:
    sim.config.video_bytes = 400_000
    gemini = provider(sim, http, tmp_path, vertex=vertex)
    task_id = await gemini.submit(video("a long video"))
    status = await rendered(gemini, render_of(task_id, vertex))
    assert status.url is not None
    assert status.url.startswith("gemini-video:" if vertex else GOOGLE_FILES)
    dest = tmp_path / "big.mp4"
    with pytest.raises(ResultTooLarge) as caught:
        await gemini.download(status.url, dest, max_bytes=100_000)
    assert caught.value.url == status.url and not dest.exists()  # Google's url, not the sim's
    assert caught.value.size is not None and caught.value.size > 100_000


# restart


@VEO_MODES
async def test_handles_survive_a_new_provider(sim: FlowSimulator, http: httpx.AsyncClient,
                                              tmp_path: Path, vertex: bool) -> None:
    before = provider(sim, http, tmp_path, vertex=vertex)
    image = await before.submit(GenerationRequest(JobKind.IMAGE, "a lighthouse", Aspect.LANDSCAPE))
    waves = await before.submit(video("waves"))
    await before.aclose()

    after = provider(sim, http, tmp_path, vertex=vertex)  # a new process: nothing in memory
    accepted = await after.accepted(image, JobKind.IMAGE)
    assert accepted is not None and accepted.image_bytes is not None
    animate = await after.submit(video("the light turns", image))
    for index, task_id in enumerate((waves, animate)):
        status = await rendered(after, render_of(task_id, vertex))
        assert status.state is RenderState.DONE and status.url is not None
        dest = tmp_path / f"video-{index}.mp4"
        await after.download(status.url, dest, max_bytes=10_000_000)
        assert frames(dest)[0] == 8
    if not vertex:
        assert [record.id for record in sim.interactions()] == [waves, animate]
        assert sim.interactions()[1].images == (accepted.image_bytes,)
        assert creates(sim, vertex) == 2

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
    assert not sim.log  # nothing was sent


@VEO_MODES
async def test_a_lost_answer_to_a_submission_is_not_sent_again(
        sim: FlowSimulator, http: httpx.AsyncClient, tmp_path: Path, vertex: bool,
        monkeypatch: pytest.MonkeyPatch) -> None:
    # The simulator's work on a create, slowed past the client's timeout: Google takes the
    # request, the answer never arrives.
    owner: Any = sim.gemini if vertex else sim_interactions
    step = "_start_video" if vertex else "_picture"
    original = getattr(owner, step)

    async def slow(*args: Any, **kwargs: Any) -> Any:
        await asyncio.sleep(0.3)
        return await original(*args, **kwargs)

    monkeypatch.setattr(owner, step, slow)
    gemini = provider(sim, http, tmp_path, vertex=vertex, timeout=0.1)
    with pytest.raises(UpstreamUnavailable) as caught:
        await gemini.submit(video("a dog"))
    assert caught.value.maybe_processed
    await asyncio.sleep(0.3)  # the simulator finishes the one request it got: it did the work
    made = sim.gemini.operations if vertex else sim.interactions()
    assert creates(sim, vertex) == 1 and len(made) == 1


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

    async def account_back(self, job: Job) -> None:
        return None

    async def failed_over(self, job: Job, reason: ErrorCode) -> None:
        return None


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
    await runner.stop()  # the "crash": the job stays RENDERING with its interaction / operation
    await poller.close()
    assert job.task_id is not None and job.render == [render_of(job.task_id, vertex)]

    runner, poller = _runner(store, provider(sim, http, tmp_path, vertex=vertex), notifier,
                             tmp_path)
    assert await runner.start() == 1
    await _wait_for(store, animate.id, JobState.DELIVERED)
    await runner.stop()
    await poller.close()
    await db.close()
    assert not notifier.failures
    assert creates(sim, vertex) == 1  # resumed by polling, never created again
    assert notifier.delivered[image.id].startswith(b"\x89PNG")
    assert b"ftyp" in notifier.delivered[animate.id][:16]
    if not vertex:  # the image the engine made is the picture the interaction started from
        record = interaction(sim)
        assert record.id == job.task_id and record.request.task == "image_to_video"
        assert record.images == (notifier.delivered[image.id],)


# options


@VEO_MODES
async def test_video_options_reach_google(sim: FlowSimulator, http: httpx.AsyncClient,
                                          tmp_path: Path, vertex: bool) -> None:
    gemini = provider(sim, http, tmp_path, vertex=vertex)
    options = Options(negative_prompt="blurry", resolution="1080p", duration=8, seed=42)
    if vertex:
        await gemini.submit(GenerationRequest(JobKind.VIDEO, "a dog", Aspect.LANDSCAPE, None,
                                              options))
        [sent] = [entry.body for entry in sim.log if entry.path.endswith(":predictLongRunning")]
        assert sent["parameters"] == {
            "sampleCount": 1, "aspectRatio": "16:9", "negativePrompt": "blurry", "seed": 42,
            "resolution": "1080p", "durationSeconds": 8, "generateAudio": True}
        assert "seed" in gemini.supported_options
    else:  # Omni has no seed and no negative prompt: refused before anything is paid
        with pytest.raises(RequestRejected,
                           match="cannot honour negative_prompt, seed for videos"):
            await gemini.submit(GenerationRequest(JobKind.VIDEO, "a dog", Aspect.LANDSCAPE, None,
                                                  options))
        assert not sim.log
        await gemini.submit(GenerationRequest(JobKind.VIDEO, "a dog", Aspect.PORTRAIT, None,
                                              Options(resolution="1080p", duration=6)))
        sent = interaction(sim).body
        assert sent["response_format"] == {"type": "video", "aspect_ratio": "9:16",
                                           "resolution": "1080p", "duration": "6s",
                                           "delivery": "uri"}
        assert sent["generation_config"] == {"video_config": {"task": "text_to_video"}}
        assert (sent["model"], sent["input"], sent["background"]) == (OMNI_MODEL, "a dog", True)
        assert gemini.supported_options == {"resolution", "duration"}


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
