"""Failover (issue 11): a job its provider refused before any possible charge moves to
FALLBACK_PROVIDER once; never after a saved task id or an unclear failure."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bot import texts
from bot.health_canary import Canary
from bot.jobs.errors import (
    AccessDenied,
    AuthExpired,
    CaptchaExhausted,
    CaptchaRejected,
    ErrorCode,
    GenerationFailed,
    ModelRetired,
    QuotaExhausted,
    RateLimited,
    UpstreamError,
    UpstreamUnavailable,
)
from bot.jobs.failover import Failover
from bot.jobs.model import (
    Aspect,
    ExtraImage,
    Job,
    JobKind,
    JobState,
    NewJob,
    Options,
    ProviderName,
)
from bot.jobs.poller import BatchPoller
from bot.jobs.retry import RetryPolicy
from bot.jobs.runner import JobRunner, RunnerConfig
from bot.sim.server import FlowSimulator
from bot.sim.useapi_state import DEFAULT_EMAIL
from storage.db import connect
from storage.jobs import JobStore
from tests.conftest import USER, StartBot
from tests.doubles import MP4, FakeProvider, RecordingNotifier, RecordingStore

FLOW, GEMINI = ProviderName.FLOW, ProviderName.GEMINI


@dataclass
class Pair:
    runner: JobRunner
    store: RecordingStore
    notifier: RecordingNotifier
    flow: FakeProvider
    gemini: FakeProvider

    async def run(self, new: NewJob) -> Job:
        job = await self.runner.submit(new)
        await asyncio.wait_for(self.runner.join(), 3.0)
        return await self.store.get(job.id)


async def _pair(tmp_path: Path, fallback: ProviderName | None,
                healthy: dict[ProviderName, bool] | None = None) -> AsyncIterator[Pair]:
    db = await connect(tmp_path / "jobs.sqlite3")
    store = RecordingStore(JobStore(db))
    providers = {FLOW: FakeProvider(name=FLOW, renew_answer=False),
                 GEMINI: FakeProvider(name=GEMINI, renew_answer=False)}
    poller = BatchPoller(interval=0.01, backoff=RetryPolicy(base_delay=0.01, max_delay=0.02))
    notifier = RecordingNotifier()
    config = RunnerConfig(files_dir=tmp_path / "files", poll_interval=0.01, submit_timeout=2.0,
                          render_timeout=5.0, progress_every=10.0)
    runner = JobRunner(store=store, provider_for=lambda job: providers[job.provider],
                       poller=poller, notifier=notifier, config=config,
                       failover=Failover(fallback, lambda name: (healthy or {}).get(name, True)))
    await runner.start()
    yield Pair(runner, store, notifier, providers[FLOW], providers[GEMINI])
    await runner.stop(grace=1)
    await poller.close()
    await db.close()


@pytest.fixture
async def pair(tmp_path: Path) -> AsyncIterator[Pair]:
    async for made in _pair(tmp_path, GEMINI):
        yield made


@pytest.fixture
async def alone(tmp_path: Path) -> AsyncIterator[Pair]:
    async for made in _pair(tmp_path, FLOW):
        yield made


def video(**changes: Any) -> NewJob:
    return NewJob(1, 1, JobKind.VIDEO, "a dog on a skateboard", **changes)


def _retired() -> ModelRetired:
    return ModelRetired("retired", model="veo-2", kind="video", variable="FLOW_VIDEO_MODEL",
                        replacement="veo-3")


REFUSALS: list[UpstreamError] = [
    AuthExpired("401", status=401), CaptchaRejected("captcha refused", status=403),
    CaptchaExhausted("captcha failed"), _retired(), AccessDenied("no access", status=403),
    QuotaExhausted("no credits", status=429), UpstreamUnavailable("connect failed"),
]


@pytest.mark.parametrize("error", REFUSALS, ids=lambda error: type(error).__name__)
async def test_a_refusal_before_any_charge_moves_the_job_to_the_fallback(
        pair: Pair, error: UpstreamError) -> None:
    pair.flow.fail_next("submit", error)
    job = await pair.run(video())
    assert job.state is JobState.DELIVERED
    assert (job.first_provider, job.provider) == (FLOW, GEMINI)
    assert len(pair.gemini.submitted) == 1 and not pair.flow.submitted
    assert ("failed_over", f"flow->gemini:{error.code}") in pair.notifier.of(job.id)
    assert pair.notifier.delivered[job.id] == MP4
    assert not pair.notifier.failures


async def test_the_refusal_after_a_failed_renewal_moves_the_job(pair: Pair) -> None:
    pair.flow.renew_answer = True
    pair.flow.fail_next("submit", *[AuthExpired("401", status=401)] * 3)
    job = await pair.run(video())
    assert pair.flow.calls["renew_auth"] == 2  # renewals first, failover once they are spent
    assert (job.state, job.provider, job.first_provider) == (JobState.DELIVERED, GEMINI, FLOW)


async def test_no_failover_once_a_task_id_was_saved(pair: Pair) -> None:
    pair.flow.fail_next("accepted", QuotaExhausted("no credits", status=429))
    job = await pair.run(video())
    assert (job.state, job.provider, job.first_provider) == (JobState.FAILED, FLOW, None)
    assert job.task_id == "task-1" and not pair.gemini.calls
    assert pair.notifier.count("failed_over", job.id) == 0


async def test_no_failover_after_an_unclear_failure(pair: Pair) -> None:
    pair.flow.fail_next("submit", UpstreamUnavailable("read timeout", maybe_processed=True))
    job = await pair.run(video())
    assert (job.state, job.error_code, job.provider) == (JobState.FAILED, ErrorCode.UNCLEAR, FLOW)
    assert not pair.gemini.calls


@pytest.mark.parametrize("error", [GenerationFailed("bad"), RateLimited("slow", status=429)],
                         ids=lambda error: type(error).__name__)
async def test_no_failover_on_other_failures(pair: Pair, error: UpstreamError) -> None:
    pair.flow.fail_next("submit", error)
    job = await pair.run(video())
    assert (job.state, job.provider) == (JobState.FAILED, FLOW)
    assert not pair.gemini.calls


async def test_no_failover_when_the_fallback_is_the_same_provider(alone: Pair) -> None:
    alone.flow.fail_next("submit", QuotaExhausted("no credits", status=429))
    job = await alone.run(video())
    assert (job.state, job.error_code, job.provider) == (JobState.FAILED, ErrorCode.QUOTA, FLOW)
    assert job.first_provider is None


async def test_no_second_failover(pair: Pair) -> None:
    pair.flow.fail_next("submit", QuotaExhausted("no credits", status=429))
    pair.gemini.fail_next("submit", QuotaExhausted("no credits either", status=429))
    job = await pair.run(video())
    assert (job.state, job.error_code) == (JobState.FAILED, ErrorCode.QUOTA)
    assert (job.first_provider, job.provider) == (FLOW, GEMINI)
    assert pair.flow.calls["submit"] == 1 and pair.notifier.count("failed_over", job.id) == 1


async def test_no_failover_of_a_picture_only_the_first_provider_holds(pair: Pair) -> None:
    pair.flow.fail_next("submit", QuotaExhausted("no credits", status=429))
    job = await pair.run(NewJob(1, 1, JobKind.ANIMATE, "move", reference_media_id="flow-media"))
    assert (job.state, job.provider) == (JobState.FAILED, FLOW)
    assert not pair.gemini.calls


async def test_the_users_photos_are_uploaded_again_to_the_fallback(
        pair: Pair, tmp_path: Path) -> None:
    first, second = tmp_path / "a.jpg", tmp_path / "b.jpg"
    first.write_bytes(b"\xff\xd8first")
    second.write_bytes(b"\xff\xd8second")
    pair.flow.fail_next("submit", CaptchaRejected("captcha refused", status=403))
    job = await pair.run(NewJob(1, 1, JobKind.ANIMATE, "move", source_path=str(first),
                                extra_images=(ExtraImage(source_path=str(second)),)))
    assert (job.state, job.provider) == (JobState.DELIVERED, GEMINI)
    assert pair.flow.calls["upload_image"] == 2 and pair.gemini.calls["upload_image"] == 2
    assert pair.gemini.submitted[0].reference_media_id == "upload-1"
    assert pair.gemini.submitted[0].extra_media_ids == ("upload-2",)


async def test_a_picture_the_first_provider_made_goes_to_the_fallback_as_its_bytes(
        pair: Pair, tmp_path: Path) -> None:
    """An image flow made is kept as a file: the fallback gets those bytes, not flow's handle."""
    made = tmp_path / "image-7.png"
    made.write_bytes(b"\x89PNG\r\n\x1a\nmade by flow")
    pair.flow.fail_next("submit", QuotaExhausted("no credits", status=429))
    job = await pair.run(NewJob(1, 1, JobKind.ANIMATE, "move", reference_media_id="flow-media",
                                source_path=str(made)))
    assert (job.state, job.provider, job.first_provider) == (JobState.DELIVERED, GEMINI, FLOW)
    assert not pair.flow.calls["upload_image"]  # flow had its own handle
    assert pair.gemini.upload_mimes == ["image/png"]
    assert pair.gemini.submitted[0].reference_media_id == "upload-1"


async def test_an_upscale_of_the_first_providers_result_never_moves(pair: Pair) -> None:
    pair.flow.fail_next("submit", QuotaExhausted("no credits", status=429))
    job = await pair.run(NewJob(1, 1, JobKind.UPSCALE, "", reference_media_id="flow-video",
                                options=Options(resolution="4k")))
    assert (job.state, job.error_code, job.provider) == (JobState.FAILED, ErrorCode.QUOTA, FLOW)
    assert not pair.gemini.calls


async def test_a_provider_failing_its_health_checks_is_not_tried(tmp_path: Path) -> None:
    """The canary finds flow down when the job is about to go: it goes to the fallback at
    once, and flow gets no request."""
    async for pair in _pair(tmp_path, GEMINI, healthy={FLOW: False}):
        job = await pair.run(video())
        assert (job.state, job.provider, job.first_provider) == (JobState.DELIVERED, GEMINI, FLOW)
        assert not pair.flow.calls
        assert ("failed_over", "flow->gemini:unhealthy") in pair.notifier.of(job.id)


async def test_no_move_when_the_fallback_fails_its_checks_too(tmp_path: Path) -> None:
    async for pair in _pair(tmp_path, GEMINI, healthy={FLOW: False, GEMINI: False}):
        job = await pair.run(video())
        assert (job.state, job.provider, job.first_provider) == (JobState.DELIVERED, FLOW, None)
        assert not pair.gemini.calls


def test_the_failover_line_in_both_languages() -> None:
    assert (texts.failover_line("en", "flow", "gemini", "unhealthy")
            == "↪️ Flow is failing its health checks; trying Google's API instead.")
    assert "Google" in texts.failover_line("vi", "flow", "gemini", "unhealthy")
    assert (texts.failover_line("en", "flow", "gemini", "captcha")
            == "↪️ Flow refused this (captcha); trying Google's API instead.")
    assert "API của Google" in texts.failover_line("vi", "flow", "gemini", "quota")
    assert texts.text("en", "status_failover", first="flow", provider="gemini").strip() \
        == "↳ flow → gemini"


async def test_a_refused_proxy_token_moves_the_job_to_googles_api_end_to_end(
        start_bot: StartBot) -> None:
    """The real bot: flow refuses the proxy token before anything is made; the job goes to the
    fallback (Omni on the Gemini API) once, and /status shows both providers."""
    bot = await start_bot(fallback_provider="gemini", flow_proxy_token="proxy-token-revoked-1234")
    bot.telegram.send_text(USER, "/video a heron takes off")
    await bot.wait_videos(USER)
    job = await bot.wait_job(USER, lambda j: j.state is JobState.DELIVERED)
    assert (job.first_provider, job.provider) == (ProviderName.FLOW, ProviderName.GEMINI)
    assert bot.sim.count("create-video-veo3", "POST") == 1  # refused: 401, nothing made
    assert len(bot.sim.interactions()) == 1
    assert "trying" in await bot.wait_text(USER, "trying")
    bot.telegram.send_text(USER, "/status")
    assert "flow → gemini" in await bot.wait_text(USER, "flow → gemini")


async def test_a_provider_the_canary_finds_down_gets_no_request_end_to_end(
        start_bot: StartBot, sim: FlowSimulator) -> None:
    """useapi's account lost its Google session: the canary finds it at start-up, so the next
    video goes straight to the fallback (Omni), and useapi gets no create at all."""
    sim.useapi.disconnect()
    bot = await start_bot(provider="useapi", useapi_email=DEFAULT_EMAIL,
                          fallback_provider="gemini", health_check_interval=60.0)
    assert bot.app is not None
    canary: Canary = bot.app.bot_data["health_canary"]
    await bot.telegram.wait_for(lambda: not canary.provider_healthy("useapi"))
    bot.telegram.send_text(USER, "/video a kite over the dunes")
    await bot.wait_videos(USER)
    job = await bot.wait_job(USER, lambda j: j.state is JobState.DELIVERED)
    assert (job.first_provider, job.provider) == (ProviderName.USEAPI, ProviderName.GEMINI)
    assert bot.sim.count("/videos", "POST") == 0
    assert len(bot.sim.interactions()) == 1
    assert "failing its health checks" in await bot.wait_text(USER, "health checks")


async def test_an_image_flow_made_is_animated_by_the_fallback_from_its_bytes(
        start_bot: StartBot) -> None:
    """Flow made the image, then refuses the animation before anything is made: the picture
    goes to Omni as the very bytes flow gave (inline in the interaction), not as flow's id."""
    bot = await start_bot(fallback_provider="gemini")
    bot.telegram.send_text(USER, "/image a lighthouse at dusk")
    photo = (await bot.wait_photos(USER))[0]
    image = await bot.wait_job(USER, lambda j: j.state is JobState.DELIVERED)
    assert image.file_path is not None
    made = Path(image.file_path).read_bytes()
    bot.sim.inject("create-video-veo3", 401)  # the proxy refuses its token
    bot.telegram.send_text(USER, "/animate the light turns", reply_to=photo["message_id"])
    await bot.wait_videos(USER)
    job = await bot.wait_job(USER, lambda j: j.kind is JobKind.ANIMATE
                             and j.state is JobState.DELIVERED)
    assert (job.first_provider, job.provider) == (ProviderName.FLOW, ProviderName.GEMINI)
    sent = bot.sim.interactions()[0]
    assert made in sent.images


async def test_an_aspect_the_fallback_may_not_make_keeps_the_job_where_it_is(pair: Pair) -> None:
    pair.flow.fail_next("submit", QuotaExhausted("no credits", status=429))
    job = await pair.run(video(aspect=Aspect.SQUARE))
    assert (job.state, job.provider, job.first_provider) == (JobState.FAILED, FLOW, None)
    assert not pair.gemini.calls
