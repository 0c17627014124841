"""`JobRunner`'s rules, driven through an in-memory provider and a recording notifier over a real
SQLite job store (a file per test: resuming after a stop reads what the first runner wrote)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiosqlite
import pytest

from bot.jobs.errors import (
    AccessDenied,
    AuthExpired,
    ErrorCode,
    UpstreamError,
    UpstreamUnavailable,
)
from bot.jobs.model import ExtraImage, ImageRole, Job, JobKind, JobState, NewJob, Options
from bot.jobs.notifier import DeliveryFailed
from bot.jobs.poller import BatchPoller
from bot.jobs.retry import RetryPolicy
from bot.jobs.runner import JobRunner, RunnerConfig
from storage.db import connect
from storage.jobs import JobStore
from tests.doubles import MP4, PNG, FakeProvider, RecordingNotifier, RecordingStore, until

S = JobState
VIDEO_STATES = [S.QUEUED, S.SUBMITTING, S.SUBMITTED, S.RENDERING, S.DOWNLOADED, S.DELIVERED]
VIDEO_EVENTS = [("progress", "queued"), ("progress", "submitting"), ("progress", "rendering"),
                ("progress", "uploading"), ("deliver", "downloaded"), ("progress", "done")]


@dataclass
class Rig:
    """A runner over a real store, with one fake provider per account."""

    db: aiosqlite.Connection
    store: RecordingStore
    config: RunnerConfig
    notifier: RecordingNotifier = field(default_factory=RecordingNotifier)
    providers: dict[str, FakeProvider] = field(default_factory=dict)
    runners: list[JobRunner] = field(default_factory=list)
    pollers: list[BatchPoller] = field(default_factory=list)

    @property
    def provider(self) -> FakeProvider:
        return self.providers.setdefault("default", FakeProvider())

    @property
    def runner(self) -> JobRunner:
        return self.runners[-1]

    @property
    def poller(self) -> BatchPoller:
        return self.pollers[-1]

    async def start(self) -> int:
        """A fresh runner (and poller) over the same store, as after a restart; returns how many
        jobs it resumed."""
        self.pollers.append(BatchPoller(interval=self.config.poll_interval,
                                        backoff=RetryPolicy(base_delay=0.01, max_delay=0.02)))
        runner = JobRunner(store=self.store, provider_for=self._provider_for,
                           poller=self.poller, notifier=self.notifier, config=self.config)
        self.runners.append(runner)
        return await runner.start()

    async def submit(self, new: NewJob | None = None) -> Job:
        return await self.runner.submit(new or video())

    async def finish(self, timeout: float = 3.0) -> None:
        await asyncio.wait_for(self.runner.join(), timeout)

    async def get(self, job_id: int) -> Job:
        return await self.store.get(job_id)

    async def in_state(self, job_id: int, state: JobState) -> bool:
        return (await self.get(job_id)).state is state

    async def rendering_together(self, ids: list[int], provider: FakeProvider) -> None:
        """Wait until every job renders and one status call has covered them all."""
        async def all_rendering() -> bool:
            return all([await self.in_state(job_id, S.RENDERING) for job_id in ids])

        await until(all_rendering, what="every job rendering")
        await until(lambda: bool(provider.check_batches)
                    and len(provider.check_batches[-1]) == len(ids),
                    what="a status call covering every job")

    def _provider_for(self, job: Job) -> FakeProvider:
        return self.providers.setdefault(job.account, FakeProvider())

    async def close(self) -> None:
        for runner in self.runners:
            await runner.stop(grace=1)
        for poller in self.pollers:
            await poller.close()
        await self.db.close()


def video(user: int = 1, **changes: Any) -> NewJob:
    return NewJob(user, user, JobKind.VIDEO, "a dog on a skateboard", **changes)


def image(user: int = 1, **changes: Any) -> NewJob:
    return NewJob(user, user, JobKind.IMAGE, "a red fox", **changes)


MakeRig = Callable[..., Awaitable[Rig]]


@pytest.fixture
async def make_rig(tmp_path: Path) -> AsyncIterator[MakeRig]:
    """A started rig; keyword arguments change the runner's config."""
    rigs: list[Rig] = []

    async def make(*, start: bool = True, **changes: Any) -> Rig:
        settings: dict[str, Any] = {"files_dir": tmp_path / "files", "poll_interval": 0.01,
                                    "max_jobs_per_user": 10, "submit_timeout": 2.0,
                                    "render_timeout": 10.0, "progress_every": 10.0}
        db = await connect(tmp_path / "jobs.sqlite3")
        rig = Rig(db, RecordingStore(JobStore(db)), RunnerConfig(**settings | changes))
        rigs.append(rig)
        if start:
            await rig.start()
        return rig

    yield make
    for rig in rigs:
        await rig.close()


@pytest.fixture
async def rig(make_rig: MakeRig) -> Rig:
    return await make_rig()


def files(rig: Rig) -> list[Path]:
    return list(rig.config.files_dir.iterdir())


# --- happy paths ---------------------------------------------------------------------------------

async def test_a_video_goes_through_every_state_and_is_delivered(rig: Rig) -> None:
    job = await rig.submit()
    await rig.finish()
    saved = await rig.get(job.id)
    assert rig.store.states[job.id] == VIDEO_STATES
    assert rig.notifier.of(job.id) == VIDEO_EVENTS
    assert rig.notifier.delivered[job.id] == MP4
    assert saved.task_id == "task-1" and saved.render == [{"op": "op-1"}]
    assert saved.file_path is None and files(rig) == []
    assert rig.provider.calls["submit"] == 1


@pytest.mark.parametrize("by_url", [False, True], ids=["bytes", "url"])
async def test_an_image_is_kept_then_delivered(rig: Rig, by_url: bool) -> None:
    rig.provider.image_by_url, rig.provider.result = by_url, PNG
    job = await rig.submit(image())
    await rig.finish()
    assert rig.store.states[job.id] == [S.QUEUED, S.SUBMITTING, S.SUBMITTED, S.DOWNLOADED,
                                        S.DELIVERED]
    assert rig.notifier.of(job.id) == [("progress", "queued"), ("progress", "submitting"),
                                       ("progress", "uploading"), ("deliver", "downloaded"),
                                       ("progress", "done")]
    assert rig.notifier.delivered[job.id] == PNG
    saved = await rig.get(job.id)
    # The picture stays after delivery: a later job may hand it to another provider as bytes.
    assert saved.media_id == "media-1" and [f.name for f in files(rig)] == [f"job-{job.id}.png"]
    assert saved.file_path is not None and Path(saved.file_path).read_bytes() == PNG
    assert rig.provider.calls["check"] == 0 and rig.provider.calls["download"] == int(by_url)


async def test_a_user_photo_is_uploaded_before_the_submission(rig: Rig, tmp_path: Path) -> None:
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(b"\xff\xd8jpeg")
    job = await rig.submit(NewJob(1, 1, JobKind.ANIMATE, "make it move", source_path=str(photo)))
    await rig.finish()
    assert (await rig.get(job.id)).state is S.DELIVERED
    assert rig.provider.submitted[0].reference_media_id == "upload-1"


async def test_an_albums_photos_are_uploaded_in_order_and_kept(rig: Rig, tmp_path: Path) -> None:
    first, last = tmp_path / "first.jpg", tmp_path / "last.png"
    first.write_bytes(b"\xff\xd8jpeg")
    last.write_bytes(b"\x89PNG\r\n\x1a\npng")
    job = await rig.submit(NewJob(
        1, 1, JobKind.ANIMATE, "from dawn to dusk", source_path=str(first),
        extra_images=(ExtraImage(source_path=str(last)), ExtraImage(media_id="known-3")),
        image_role=ImageRole.REFERENCES))
    await rig.finish()
    request = rig.provider.submitted[0]
    assert request.media_ids == ("upload-1", "upload-2", "known-3")
    assert request.image_role is ImageRole.REFERENCES
    assert rig.provider.upload_mimes == ["image/jpeg", "image/png"]
    stored = await rig.get(job.id)
    assert [image.media_id for image in stored.extra_images] == ["upload-2", "known-3"]
    assert stored.image_role is ImageRole.REFERENCES


# --- expired tokens ------------------------------------------------------------------------------

async def test_a_401_while_polling_is_renewed_and_the_job_carries_on(rig: Rig) -> None:
    rig.provider.fail_next("check", AuthExpired("401", credential="fp-old"))
    job = await rig.submit()
    await rig.finish()
    assert (await rig.get(job.id)).state is S.DELIVERED
    assert rig.provider.calls["renew_auth"] == 1 and rig.provider.calls["submit"] == 1
    assert rig.store.states[job.id][3:6] == [S.RENDERING, S.RENDERING, S.DOWNLOADED]
    assert rig.notifier.count("waiting_for_token", job.id) == 0


async def test_a_401_that_cannot_be_renewed_waits_then_resumes(rig: Rig) -> None:
    rig.provider.renew_answer = False
    rig.provider.fail_next("check", AuthExpired("401", credential="fp-old"))
    job = await rig.submit()
    await rig.finish()
    waiting = await rig.get(job.id)
    assert waiting.state is S.WAITING_FOR_TOKEN and waiting.error_code == ErrorCode.AUTH_EXPIRED
    assert rig.notifier.count("waiting_for_token", job.id) == 1
    assert await rig.runner.resume_waiting() == 1
    await rig.finish()
    done = await rig.get(job.id)
    assert done.state is S.DELIVERED and done.error_code is None
    assert rig.provider.calls["submit"] == 1 and rig.notifier.delivered[job.id] == MP4
    assert rig.notifier.count("waiting_for_token", job.id) == 1


async def test_a_job_renews_at_most_twice_then_waits(rig: Rig) -> None:
    rig.provider.fail_next("check", *(AuthExpired("401") for _ in range(3)))
    job = await rig.submit()
    await rig.finish()
    assert (await rig.get(job.id)).state is S.WAITING_FOR_TOKEN
    assert rig.provider.calls["renew_auth"] == 2


@pytest.mark.parametrize(("method", "error", "submissions"), [
    ("accepted", AuthExpired("401", refused_submission=True), 2),
    ("accepted", AuthExpired("401"), 1),
    ("submit", AuthExpired("401"), 2),
], ids=["refused-resubmitted", "ambiguous-not-resubmitted", "submit-401-resubmitted"])
async def test_only_a_refused_submission_goes_again(
        rig: Rig, method: str, error: AuthExpired, submissions: int) -> None:
    rig.provider.fail_next(method, error)
    job = await rig.submit()
    await rig.finish()
    saved = await rig.get(job.id)
    assert saved.state is S.DELIVERED and rig.provider.calls["submit"] == submissions
    assert saved.task_id == f"task-{len(rig.provider.submitted)}"
    assert rig.provider.acceptance_asks[-1] == saved.task_id


# --- resuming ------------------------------------------------------------------------------------

async def test_a_job_found_submitting_at_start_fails_interrupted(make_rig: MakeRig) -> None:
    rig = await make_rig(start=False)
    job = await rig.store.add(video())
    await rig.store.update(job, state=S.SUBMITTING)
    await rig.start()
    await rig.finish()
    saved = await rig.get(job.id)
    assert saved.state is S.FAILED and saved.error_code == ErrorCode.INTERRUPTED
    assert rig.provider.calls["submit"] == 0
    assert rig.notifier.of(job.id) == [("failed", "failed")]


@pytest.mark.parametrize(("kind", "saved", "again"), [
    (JobKind.VIDEO, {"task_id": "task-7", "render": [{"op": "op-7"}]}, S.RENDERING),
    (JobKind.IMAGE, {"task_id": "task-7"}, S.SUBMITTED),
], ids=["video", "image"])
async def test_a_vanished_file_is_fetched_again(
        make_rig: MakeRig, kind: JobKind, saved: dict[str, Any], again: JobState) -> None:
    rig = await make_rig(start=False)
    job = await rig.store.add(NewJob(1, 1, kind, "a cat"))
    gone = rig.config.files_dir / "wiped.mp4"
    await rig.store.update(job, state=S.DOWNLOADED, file_path=str(gone), **saved)
    await rig.start()
    await rig.finish()
    assert (await rig.get(job.id)).state is S.DELIVERED
    assert rig.store.states[job.id][2:] == [again, S.DOWNLOADED, S.DELIVERED]
    assert job.id in rig.notifier.delivered and rig.provider.calls["submit"] == 0


async def test_a_vanished_file_with_no_handle_left_is_lost(make_rig: MakeRig) -> None:
    rig = await make_rig(start=False)
    job = await rig.store.add(video())
    await rig.store.update(job, state=S.DOWNLOADED, file_path=str(rig.config.files_dir / "x"))
    await rig.start()
    await rig.finish()
    saved = await rig.get(job.id)
    assert saved.state is S.FAILED and saved.error_code == ErrorCode.LOST


# --- batched polling -----------------------------------------------------------------------------

async def test_the_renders_of_one_account_share_one_status_call(rig: Rig) -> None:
    provider = rig.provider
    provider.hold_renders = True
    jobs = [await rig.submit(video(user)) for user in range(1, 6)]
    await rig.rendering_together([job.id for job in jobs], provider)
    calls = provider.calls["check"]
    provider.hold_renders = False
    await rig.finish()
    assert provider.calls["check"] == calls + 1 == rig.poller.ticks
    assert sorted(provider.check_batches[-1]) == [f"op-{n}" for n in range(1, 6)]
    assert all(job.id in rig.notifier.delivered for job in jobs)


async def test_each_account_is_polled_on_its_own(rig: Rig) -> None:
    first, second = FakeProvider(hold_renders=True), FakeProvider(hold_renders=True)
    rig.providers |= {"a": first, "b": second}
    jobs = {account: [await rig.submit(video(n, account=account)) for n in (1, 2)]
            for account in ("a", "b")}
    await rig.rendering_together([job.id for job in jobs["a"]], first)
    await rig.rendering_together([job.id for job in jobs["b"]], second)
    first.hold_renders = second.hold_renders = False
    await rig.finish()
    for provider in (first, second):  # one shared batch would have sent 4 renders to one
        assert max(len(batch) for batch in provider.check_batches) == 2
        assert sorted(provider.check_batches[-1]) == ["op-1", "op-2"]
    assert len(rig.notifier.delivered) == 4


async def test_a_transient_status_failure_backs_off_then_succeeds(rig: Rig) -> None:
    rig.provider.fail_next("check", UpstreamUnavailable("503", status=503))
    job = await rig.submit()
    await rig.finish()
    assert (await rig.get(job.id)).state is S.DELIVERED and rig.provider.calls["check"] == 2


async def test_a_permanent_status_failure_fails_the_whole_batch(rig: Rig) -> None:
    rig.provider.hold_renders = True
    jobs = [await rig.submit(video(user)) for user in range(1, 4)]
    await rig.rendering_together([job.id for job in jobs], rig.provider)
    rig.provider.fail_next("check", AccessDenied("403 model access denied"))
    await rig.finish()
    for job in jobs:
        saved = await rig.get(job.id)
        assert saved.state is S.FAILED and saved.error_code == ErrorCode.ACCESS_DENIED
        assert rig.notifier.count("failed", job.id) == 1


async def test_a_bug_in_the_status_call_fails_the_batch_at_once(
        make_rig: MakeRig, caplog: pytest.LogCaptureFixture) -> None:
    rig = await make_rig(render_timeout=60.0)
    rig.provider.hold_renders = True
    jobs = [await rig.submit(video(user)) for user in range(1, 4)]
    await rig.rendering_together([job.id for job in jobs], rig.provider)
    rig.provider.fail_next("check", KeyError("operations"))
    started = time.monotonic()
    with caplog.at_level(logging.ERROR):
        await rig.finish()
    assert time.monotonic() - started < 1.0
    for job in jobs:
        saved = await rig.get(job.id)
        assert saved.state is S.FAILED and saved.error_code == ErrorCode.INTERNAL
        assert saved.error_detail == "KeyError" and rig.notifier.count("failed", job.id) == 1
    logged = [r for r in caplog.records if r.exc_info is not None]
    assert {r.name for r in logged} == {"bot.jobs.poller", "bot.jobs.runner"}
    assert all(f"job {job.id}:" in " ".join(r.getMessage() for r in logged) for job in jobs)


# --- refusals and failures -----------------------------------------------------------------------

@pytest.mark.parametrize("new", [
    video(options=Options(resolution="1080p")),
    image(options=Options(negative_prompt="blur")),
], ids=["video-resolution", "image-negative-prompt"])
async def test_an_unsupported_option_is_refused(rig: Rig, new: NewJob) -> None:
    job = await rig.submit(new)
    await rig.finish()
    saved = await rig.get(job.id)
    assert saved.state is S.FAILED and saved.error_code == ErrorCode.REJECTED
    assert rig.store.states[job.id] == [S.QUEUED, S.SUBMITTING, S.FAILED]
    assert rig.notifier.of(job.id)[-1] == ("failed", "failed")
    assert rig.provider.submitted == []


async def test_a_failed_render_fails_the_job_with_its_reason(rig: Rig) -> None:
    rig.provider.render_error = "PUBLIC_ERROR_UNSAFE_GENERATION"
    job = await rig.submit()
    await rig.finish()
    saved = await rig.get(job.id)
    assert saved.error_code == ErrorCode.GENERATION_FAILED
    assert saved.error_detail == "PUBLIC_ERROR_UNSAFE_GENERATION"


@pytest.mark.parametrize(("error", "code"), [
    (UpstreamUnavailable("503 from the status endpoint"), ErrorCode.UNAVAILABLE),
    (None, ErrorCode.TIMEOUT),
], ids=["last-transient-error", "still-rendering"])
async def test_a_render_past_its_cap_fails(
        make_rig: MakeRig, error: UpstreamError | None, code: ErrorCode) -> None:
    rig = await make_rig(render_timeout=0.2)
    rig.provider.hold_renders = True
    if error is not None:
        rig.provider.fail_always("check", error)
    job = await rig.submit()
    await rig.finish()
    saved = await rig.get(job.id)
    assert saved.state is S.FAILED and saved.error_code == code
    if error is not None:
        assert saved.error_detail == str(error)


@pytest.mark.parametrize(("shareable", "state"), [(True, S.DELIVERED), (False, S.FAILED)])
async def test_a_result_too_large_is_linked_when_shareable(
        make_rig: MakeRig, shareable: bool, state: JobState) -> None:
    rig = await make_rig(max_upload_bytes=4)
    rig.provider.shareable_links = shareable
    job = await rig.submit()
    await rig.finish()
    saved = await rig.get(job.id)
    assert saved.state is state and saved.error_code == ErrorCode.TOO_LARGE
    assert (job.id in rig.notifier.links) is shareable


async def test_a_refused_delivery_fails_and_removes_the_file(rig: Rig) -> None:
    rig.notifier.refuse_delivery = True
    job = await rig.submit()
    await rig.finish()
    saved = await rig.get(job.id)
    assert saved.error_code == ErrorCode.DELIVERY_FAILED and files(rig) == []


# --- cancel --------------------------------------------------------------------------------------

async def test_cancel_a_queued_job(make_rig: MakeRig) -> None:
    rig = await make_rig(max_jobs_per_user=1)
    rig.provider.submit_gate = gate = asyncio.Event()
    first = await rig.submit()
    queued = await rig.submit()
    await until(lambda: rig.provider.calls["submit"] == 1, what="the first submission")
    cancelled = await rig.runner.cancel(await rig.get(queued.id))
    assert cancelled.state is S.CANCELLED
    gate.set()
    await rig.finish()
    assert (await rig.get(queued.id)).state is S.CANCELLED
    assert (await rig.get(first.id)).state is S.DELIVERED
    assert rig.provider.calls["submit"] == 1
    assert rig.notifier.of(queued.id) == [("progress", "queued")]


async def test_cancel_a_rendering_job_stops_its_polling(rig: Rig) -> None:
    rig.provider.hold_renders = True
    job = await rig.submit()
    await rig.rendering_together([job.id], rig.provider)
    cancelled = await rig.runner.cancel(await rig.get(job.id))
    assert cancelled.state is S.CANCELLED and cancelled.finished_at is not None
    calls = rig.provider.calls["check"]
    await asyncio.sleep(0.05)
    assert rig.provider.calls["check"] == calls
    assert (await rig.get(job.id)).state is S.CANCELLED


async def test_cancel_a_downloaded_job_removes_its_file(rig: Rig) -> None:
    rig.notifier.deliver_gate = asyncio.Event()
    job = await rig.submit()
    await until(lambda: rig.notifier.count("deliver", job.id) == 1, what="the delivery")
    assert len(files(rig)) == 1
    await rig.runner.cancel(await rig.get(job.id))
    saved = await rig.get(job.id)
    assert saved.state is S.CANCELLED and saved.file_path is None and files(rig) == []


async def test_cancel_during_the_submission_stays_cancelled(rig: Rig) -> None:
    rig.provider.submit_gate = gate = asyncio.Event()
    job = await rig.submit()
    await until(lambda: rig.provider.calls["submit"] == 1, what="the submission")
    await rig.runner.cancel(await rig.get(job.id))
    gate.set()

    async def answer_saved() -> bool:
        return (await rig.get(job.id)).task_id is not None

    await until(answer_saved, what="the upstream's answer saved")
    saved = await rig.get(job.id)
    assert saved.state is S.CANCELLED and saved.task_id == "task-1"


# --- shutdown ------------------------------------------------------------------------------------

async def test_stop_lets_the_submission_in_flight_save_its_task_id(rig: Rig) -> None:
    rig.provider.submit_gate = gate = asyncio.Event()
    job = await rig.submit()
    await until(lambda: rig.provider.calls["submit"] == 1, what="the submission")
    stopping = asyncio.create_task(rig.runner.stop(grace=5))
    await asyncio.sleep(0.05)
    assert not stopping.done()  # it waits for the answer
    gate.set()
    await asyncio.wait_for(stopping, 2)
    saved = await rig.get(job.id)
    assert saved.state is S.SUBMITTED and saved.task_id == "task-1"
    assert await rig.start() == 1
    await rig.finish()
    assert (await rig.get(job.id)).state is S.DELIVERED
    assert rig.provider.calls["submit"] == 1


async def test_stop_gives_up_on_a_submission_past_its_grace(rig: Rig) -> None:
    rig.provider.submit_gate = gate = asyncio.Event()
    job = await rig.submit()
    await until(lambda: rig.provider.calls["submit"] == 1, what="the submission")
    started = time.monotonic()
    await rig.runner.stop(grace=0.05)
    assert time.monotonic() - started < 1.0
    gate.set()  # the answer would come now, too late: nothing may write it any more
    await asyncio.sleep(0.02)
    assert (await rig.get(job.id)).state is S.SUBMITTING
    await rig.start()
    await rig.finish()
    saved = await rig.get(job.id)
    assert saved.state is S.FAILED and saved.error_code == ErrorCode.INTERRUPTED
    assert rig.provider.submitted == []


# --- the owed word (outbox) ----------------------------------------------------------------------

def owed_writes(rig: Rig, job_id: int) -> list[dict[str, Any]]:
    """The writes of a job that set or cleared its owed word."""
    return [changes for changes in rig.store.writes[job_id] if "word_owed" in changes]


async def test_a_failure_is_owed_in_its_own_write_and_cleared_once_said(rig: Rig) -> None:
    rig.provider.render_error = "PUBLIC_ERROR_UNSAFE_GENERATION"
    job = await rig.submit()
    await rig.finish()
    ending, said = owed_writes(rig, job.id)
    assert ending["state"] is S.FAILED and ending["word_owed"] is True
    assert said == {"word_owed": False}  # a write of its own, after the front confirmed
    assert rig.notifier.said("failed", job.id) == 1
    assert not (await rig.get(job.id)).word_owed


async def test_an_unconfirmed_word_stays_owed_and_is_said_at_the_next_start(
        rig: Rig, caplog: pytest.LogCaptureFixture) -> None:
    rig.provider.render_error = "PUBLIC_ERROR_UNSAFE_GENERATION"
    rig.notifier.word_error = TimeoutError("Telegram did not answer")
    job = await rig.submit()
    with caplog.at_level(logging.ERROR):
        await rig.finish()
    assert (await rig.get(job.id)).word_owed and rig.notifier.said("failed", job.id) == 0
    assert f"job {job.id}: telling its owner it failed failed" in caplog.text
    rig.notifier.word_error = None
    assert await rig.start() == 0  # nothing to resume: only a word to say
    await rig.finish()
    assert rig.notifier.said("failed", job.id) == 1 and not (await rig.get(job.id)).word_owed
    await rig.start()
    await rig.finish()
    assert rig.notifier.said("failed", job.id) == 1 and rig.provider.calls["submit"] == 1


async def test_a_word_cut_off_by_a_stop_is_said_once_at_the_next_start(
        make_rig: MakeRig) -> None:
    rig = await make_rig(word_grace=0.05)
    rig.provider.render_error = "PUBLIC_ERROR_UNSAFE_GENERATION"
    rig.notifier.word_gate = asyncio.Event()  # Telegram holds its answer
    job = await rig.submit()
    await until(lambda: rig.notifier.count("failed", job.id) == 1, what="the word asked for")
    started = time.monotonic()
    await rig.runner.stop(grace=5)
    assert time.monotonic() - started < 1.0  # the word's grace, not the submissions'
    assert (await rig.get(job.id)).word_owed
    rig.notifier.word_gate.set()
    await rig.start()
    await rig.finish()
    assert rig.notifier.said("failed", job.id) == 1 and not (await rig.get(job.id)).word_owed


async def test_a_word_waits_outside_its_owners_job_slot(make_rig: MakeRig) -> None:
    rig = await make_rig(max_jobs_per_user=1)
    rig.notifier.word_gate = asyncio.Event()
    failing = await rig.submit(video(options=Options(resolution="1080p")))  # refused at once
    await until(lambda: rig.notifier.count("failed", failing.id) == 1, what="the refusal")
    after = await rig.submit()
    await until(lambda: after.id in rig.notifier.delivered, what="the next job delivered")
    assert rig.notifier.said("failed", failing.id) == 0
    rig.notifier.word_gate.set()
    await rig.finish()
    assert rig.notifier.said("failed", failing.id) == 1


async def test_a_word_the_owner_can_never_get_is_given_up(
        rig: Rig, caplog: pytest.LogCaptureFixture) -> None:
    rig.provider.render_error = "PUBLIC_ERROR_UNSAFE_GENERATION"
    rig.notifier.word_error = DeliveryFailed("Forbidden: bot was blocked by the user")
    job = await rig.submit()
    with caplog.at_level(logging.WARNING):
        await rig.finish()
    assert not (await rig.get(job.id)).word_owed
    assert f"job {job.id}: its owner cannot be told it failed (Forbidden" in caplog.text


async def test_a_job_found_failed_and_owing_at_start_is_only_told(make_rig: MakeRig) -> None:
    rig = await make_rig(start=False)
    job = await rig.store.add(video())
    await rig.store.update(job, state=S.FAILED, error_code=ErrorCode.GENERATION_FAILED,
                           word_owed=True)
    assert await rig.start() == 0
    await rig.finish()
    assert rig.notifier.of(job.id) == [("failed", "failed")]
    assert rig.notifier.failures[job.id] == (ErrorCode.GENERATION_FAILED, None)
    assert sum(rig.provider.calls.values()) == 0 and not (await rig.get(job.id)).word_owed


async def test_a_pause_is_owed_and_dropped_when_the_job_resumes(rig: Rig) -> None:
    rig.provider.renew_answer = False
    rig.provider.fail_next("check", AuthExpired("401", credential="fp-old"))
    rig.notifier.word_gate = asyncio.Event()  # the pause notice is stuck in the chat's pacing
    job = await rig.submit()
    await until(lambda: rig.notifier.count("waiting_for_token", job.id) == 1, what="the pause")
    paused = await rig.get(job.id)
    assert paused.state is S.WAITING_FOR_TOKEN and paused.word_owed
    assert await rig.runner.resume_waiting() == 1
    await rig.finish()
    done = await rig.get(job.id)
    assert done.state is S.DELIVERED and not done.word_owed
    assert rig.notifier.said("waiting_for_token", job.id) == 0  # old news: never said


async def test_cancelling_a_paused_job_drops_its_word(rig: Rig) -> None:
    rig.provider.renew_answer = False
    rig.provider.fail_next("check", AuthExpired("401", credential="fp-old"))
    rig.notifier.word_gate = asyncio.Event()
    job = await rig.submit()
    await until(lambda: rig.notifier.count("waiting_for_token", job.id) == 1, what="the pause")
    cancelled = await rig.runner.cancel(await rig.get(job.id))
    assert cancelled.state is S.CANCELLED and not (await rig.get(job.id)).word_owed
    rig.notifier.word_gate.set()
    await rig.finish()
    assert rig.notifier.said("waiting_for_token", job.id) == 0


async def test_a_link_is_owed_in_the_write_that_delivers_it(make_rig: MakeRig) -> None:
    rig = await make_rig(max_upload_bytes=4)
    rig.notifier.word_error = TimeoutError("Telegram did not answer")
    job = await rig.submit()
    await rig.finish()
    ending = owed_writes(rig, job.id)[0]
    assert ending["state"] is S.DELIVERED and ending["word_owed"] is True
    assert (await rig.get(job.id)).word_owed and job.id not in rig.notifier.links
    rig.notifier.word_error = None
    await rig.start()
    await rig.finish()
    assert rig.notifier.links[job.id] == "https://fake/op-1.mp4"
    assert rig.notifier.said("deliver_link", job.id) == 1 and rig.provider.calls["download"] == 1


async def test_a_delivery_cut_off_by_a_stop_knows_it_is_a_second_attempt(rig: Rig) -> None:
    rig.notifier.deliver_gate = asyncio.Event()  # Telegram has the video; its answer is late
    job = await rig.submit()
    await until(lambda: rig.notifier.count("deliver", job.id) == 1, what="the delivery")
    await rig.runner.stop(grace=0.1)
    stored = await rig.get(job.id)
    assert stored.state is S.DOWNLOADED and stored.delivery_attempts == 1
    rig.notifier.deliver_gate.set()
    await rig.start()
    await rig.finish()
    assert rig.notifier.delivery_attempts[job.id] == [1, 2]
    assert (await rig.get(job.id)).state is S.DELIVERED


async def test_a_replayed_update_gets_the_job_it_made(rig: Rig) -> None:
    first = await rig.submit(video(update_id=41))
    again = await rig.submit(video(update_id=41))
    await rig.finish()
    assert again.id == first.id and rig.provider.calls["submit"] == 1
    assert rig.notifier.delivered.keys() == {first.id}
    replayed = await rig.submit(video(update_id=41))  # once the job is done, too
    assert replayed.id == first.id and replayed.state is S.DELIVERED
    await rig.finish()
    assert rig.provider.calls["submit"] == 1
