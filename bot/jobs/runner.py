"""`JobRunner`: drives each job through its states in its own asyncio task, resumably.

Every transition is committed before the next upstream call, so after a crash `start()` picks each
unfinished job up where it stood: a saved task id is never submitted again, a saved render goes
straight back to batched polling, a downloaded file goes straight to delivery.

The owed-word rule (the outbox): the write that ends or pauses a job also sets `word_owed`; the
front is then asked to tell the owner (the failure, the pause, the link to a result too large),
and only once it confirms does a second write clear the flag. `start()` asks again for every
word still owed, so a crash between the two writes costs at most a repeated word, never silence.
A delivery counts its attempts before each one: a result handed over again after a crash is
marked as possibly already received.

A job whose gateway account lost its Google session (`AccountDisconnected`) waits in
WAITING_FOR_TOKEN with the code `account_disconnected`: while any does, the account's health is
asked every `health_check_interval` seconds, and its jobs resume once it is healthy (a saved task
is polled again, a create the gateway refused is sent again).

Failover (`bot.jobs.failover`): with a fallback provider, a job its own provider refused before
anything could have been charged, or one about to be sent to a provider the health canary finds
failing, moves to the fallback once, keeping its first provider in `first_provider`.

Pictures a provider made are kept as files after delivery (`file_path` of an image job), so a
later job can hand them to another provider as bytes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.jobs import files
from bot.jobs.account_watch import AccountWatch
from bot.jobs.errors import (
    AccountDisconnected,
    AuthExpired,
    ErrorCode,
    GenerationFailed,
    Interrupted,
    ProviderUnhealthy,
    ResultTooLarge,
    SubmissionUnclear,
    TimedOut,
    UpstreamError,
    UpstreamUnavailable,
)
from bot.jobs.failover import Failover
from bot.jobs.model import ExtraImage, Job, JobState, NewJob, Phase
from bot.jobs.notifier import DeliveryFailed, Notifier
from bot.jobs.poller import BatchPoller, Watch
from bot.jobs.provider import Accepted, GenerationRequest, Provider, RenderState, RenderStatus
from bot.jobs.store import JobStore

logger = logging.getLogger(__name__)

ProviderFor = Callable[[Job], Provider]


@dataclass(frozen=True)
class RunnerConfig:
    files_dir: Path
    poll_interval: float = 5.0
    max_jobs_per_user: int = 2
    submit_timeout: float = 300.0
    render_timeout: float = 600.0
    max_upload_bytes: int = 50 * 1024 * 1024
    progress_every: float = 3.0
    #: at stop, seconds a final word on its way gets to be confirmed (else it is said at start)
    word_grace: float = 2.0
    #: seconds between two looks at a disconnected account while jobs wait on it; 0: never
    health_check_interval: float = 600.0
    #: seconds a kept file (a made picture, a user's photo) stays beside the database; 0: forever
    files_keep: float = 7 * 86400.0
    #: seconds between two sweeps of the old files
    sweep_every: float = 6 * 3600.0


MAX_RENEWALS_PER_JOB = 2


class JobRunner:
    """Owns the job tasks; the fronts call `submit`, `cancel`; the app calls `start`, `stop`."""

    def __init__(
        self, *, store: JobStore, provider_for: ProviderFor, poller: BatchPoller,
        notifier: Notifier, config: RunnerConfig, clock: Callable[[], float] = time.time,
        failover: Failover | None = None,
    ) -> None:
        self._store = store
        self._provider_for = provider_for
        self._poller = poller
        self._notifier = notifier
        self._config = config
        self._clock = clock
        self._failover = failover or Failover()
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self._renewals: dict[int, int] = {}
        self._in_flight: dict[int, asyncio.Future[Job]] = {}
        self._cancelled: set[int] = set()  #: cancelled while their submission is in flight
        self._words: dict[int, asyncio.Task[None]] = {}  #: final words being said, by job id
        self._slots: defaultdict[int, asyncio.Semaphore] = defaultdict(
            lambda: asyncio.Semaphore(config.max_jobs_per_user))
        self._accounts = AccountWatch(  #: looks at disconnected accounts while jobs wait
            waiting=self._waiting_on_accounts, provider_for=provider_for,
            resume=self._resume_account, interval=config.health_check_interval)
        self._sweeper: asyncio.Task[None] | None = None  #: removes old files

    async def start(self) -> int:
        """Resume every unfinished job and tell every owner still owed a finished job's end;
        return how many jobs were resumed."""
        self._config.files_dir.mkdir(parents=True, exist_ok=True)
        jobs = await self._store.unfinished()
        for job in jobs:
            logger.info("job %d: resuming from %s", job.id, job.state.value)
            self._spawn(job)
        for job in await self._store.owing():
            logger.info("job %d: its owner was not told it %s yet", job.id, job.state.value)
            self._say(job)
        if self._config.files_keep > 0 and self._sweeper is None:
            self._sweeper = asyncio.create_task(files.keep_sweeping(
                self._config.files_dir, older_than=self._config.files_keep,
                every=self._config.sweep_every, needed=self._needed_files), name="files")
        return len(jobs)

    async def submit(self, new: NewJob) -> Job:
        """Store the job (before any upstream call) and start driving it. A request made again
        (its update replayed after a crash) gets the job it already has."""
        job = await self._store.add(new)
        if job.state is not JobState.QUEUED or job.id in self._tasks:
            logger.info("job %d: already stored for update %s", job.id, new.update_id)
            return job
        logger.info("job %d: queued (%s) for user %d", job.id, job.kind.value, job.user_id)
        self._spawn(job)
        return job

    async def cancel(self, job: Job) -> Job:
        """Stop a job of any state that has not finished; it stays in storage as CANCELLED."""
        if job.state.terminal:
            return job
        self._hush(job.id)
        if job.id in self._in_flight:
            self._cancelled.add(job.id)
        task = self._tasks.pop(job.id, None)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._poller.unwatch(_poll_key(job), job.id)
        job = await self._store.get(job.id)
        _remove(job.file_path)
        logger.info("job %d: cancelled", job.id)
        return await self._store.update(job, state=JobState.CANCELLED, finished_at=self._clock(),
                                        file_path=None, word_owed=False)

    async def resume_waiting(self, account: str | None = None, *,
                             code: ErrorCode = ErrorCode.AUTH_EXPIRED) -> int:
        """Restart jobs paused on an expired token, or on another `code` (all, or one
        account's)."""
        waiting = [job for job in await self._store.unfinished()
                   if job.state is JobState.WAITING_FOR_TOKEN and _waits_on(job, code)
                   and (account is None or job.account == account) and job.id not in self._tasks]
        for job in waiting:
            self._spawn(job)
        return len(waiting)

    async def join(self) -> None:
        """Wait until no job task and no final word is left (the terminal front and tests)."""
        while self._tasks or self._words:
            await asyncio.gather(*self._tasks.values(), *self._words.values(),
                                 return_exceptions=True)

    async def stop(self, *, grace: float = 15.0) -> None:
        """Stop driving jobs without touching their saved state (they resume on next start);
        submissions already in flight get `grace` seconds to save their answer, final words
        on their way `word_grace` seconds to be confirmed (else they stay owed)."""
        self._accounts.stop()
        if self._sweeper is not None:
            self._sweeper.cancel()
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()
        # Past the grace an answer is given up rather than written after the store closes: the
        # job stays SUBMITTING and fails as interrupted on the next start.
        await asyncio.gather(
            _settle(list(self._in_flight.values()), grace),
            _settle(list(self._words.values()), min(grace, self._config.word_grace)))

    def _spawn(self, job: Job) -> None:
        task = asyncio.create_task(self._drive(job.id), name=f"job:{job.id}")
        self._tasks[job.id] = task
        task.add_done_callback(lambda _: self._forget(job.id, task))

    def _forget(self, job_id: int, task: asyncio.Task[None]) -> None:
        if self._tasks.get(job_id) is task:
            del self._tasks[job_id]
            self._renewals.pop(job_id, None)

    async def _drive(self, job_id: int) -> None:
        job = await self._store.get(job_id)
        if job.state is JobState.WAITING_FOR_TOKEN:
            self._hush(job.id)  # a pause notice not out yet is old news now
            job = await self._store.update(job, state=_resume_state(job), error_code=None,
                                           error_detail=None, word_owed=False)
        if job.state is JobState.QUEUED:
            await self._notify_progress(job, Phase.QUEUED)
        async with self._slots[job.user_id]:
            while job.state.active:
                job = await self._advance(job)
        if job.word_owed:
            self._say(job)

    def _say(self, job: Job) -> None:
        """Tell the owner how the job ended (or why it paused) in a task of its own: the word
        may wait on the chat's pacing, and must not hold the owner's job slot meanwhile."""
        self._hush(job.id)
        task = asyncio.create_task(self._tell_end(job), name=f"word:{job.id}")
        self._words[job.id] = task
        task.add_done_callback(lambda _: self._said(job.id, task))

    def _said(self, job_id: int, task: asyncio.Task[None]) -> None:
        if self._words.get(job_id) is task:
            del self._words[job_id]

    def _hush(self, job_id: int) -> None:
        """Stop saying a word that no longer applies (the job resumed or was cancelled)."""
        task = self._words.pop(job_id, None)
        if task is not None:
            task.cancel()

    async def _tell_end(self, job: Job) -> None:
        """The word is owed until the front confirms it; one it can never say is given up."""
        try:
            await self._word_for(job)
        except DeliveryFailed as exc:
            logger.warning("job %d: its owner cannot be told it %s (%s)", job.id,
                           job.state.value, exc)
        except Exception:
            logger.exception("job %d: telling its owner it %s failed; trying again at the next "
                             "start", job.id, job.state.value)
            return
        await self._store.update(job, word_owed=False)

    def _word_for(self, job: Job) -> Awaitable[None]:
        if job.state is JobState.FAILED:
            return self._notifier.failed(job)
        if job.state is JobState.WAITING_FOR_TOKEN:
            return self._notifier.waiting_for_token(job)
        if job.state is JobState.DELIVERED and job.error_code == ErrorCode.TOO_LARGE:
            assert job.result_url is not None, "a result too large is delivered as its link"
            return self._notifier.deliver_link(job, job.result_url)
        raise AssertionError(f"job {job.id}: no word for state {job.state.value}")

    async def _advance(self, job: Job) -> Job:
        try:
            return await self._step(job)
        except UpstreamError as exc:
            return await self._on_error(job, exc)
        except DeliveryFailed as exc:
            return await self._fail(job, exc.code, str(exc))
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            logger.exception("job %d: unexpected error in state %s", job.id, job.state.value)
            return await self._fail(job, ErrorCode.INTERNAL, type(exc).__name__)

    async def _step(self, job: Job) -> Job:
        if job.state is JobState.QUEUED:
            return await self._submit(job)
        if job.state is JobState.SUBMITTING:
            raise Interrupted("the bot stopped while this job was being submitted")
        if job.state is JobState.SUBMITTED:
            return await self._await_acceptance(job)
        if job.state is JobState.RENDERING:
            return await self._render(job)
        if job.state is JobState.DOWNLOADED:
            return await self._deliver(job)
        raise AssertionError(f"job {job.id}: no step for state {job.state.value}")

    async def _submit(self, job: Job) -> Job:
        if self._failover.should_move_unsent(job):
            raise ProviderUnhealthy(f"{job.provider} is failing its health checks")
        provider = self._provider_for(job)
        if job.source_path and not job.reference_media_id:
            media_id = await _upload(provider, job.source_path)
            job = await self._store.update(job, reference_media_id=media_id)
            logger.info("job %d: uploaded the user's photo", job.id)
        for index, extra in enumerate(job.extra_images):
            if extra.source_path and not extra.media_id:
                uploaded = ExtraImage(await _upload(provider, extra.source_path),
                                      extra.source_path)
                images = (*job.extra_images[:index], uploaded, *job.extra_images[index + 1:])
                job = await self._store.update(job, extra_images=images)
                logger.info("job %d: uploaded the user's photo %d", job.id, index + 2)
        job = await self._store.update(job, state=JobState.SUBMITTING)
        await self._notify_progress(job, Phase.SUBMITTING)
        # Shielded: a shutdown while the request is in flight waits for its answer and saves the
        # task id (see `stop`), instead of leaving a job that can only fail as "interrupted".
        saving = asyncio.ensure_future(self._submit_and_save(job, provider))
        self._in_flight[job.id] = saving
        saving.add_done_callback(lambda _: self._settled(job.id, saving))
        return await asyncio.shield(saving)

    def _settled(self, job_id: int, saving: asyncio.Future[Job]) -> None:
        if self._in_flight.get(job_id) is saving:
            del self._in_flight[job_id]
            self._cancelled.discard(job_id)
        if not saving.cancelled():
            saving.exception()  # retrieved: the job's own task, if still running, reports it

    async def _submit_and_save(self, job: Job, provider: Provider) -> Job:
        extra = tuple(image.media_id for image in job.extra_images if image.media_id)
        request = GenerationRequest(job.kind, job.prompt, job.aspect, job.reference_media_id,
                                    job.options, extra, job.image_role, job.model)
        try:
            task_id = await provider.submit(request)
        except UpstreamUnavailable as exc:
            if exc.maybe_processed:  # not "unreachable": it may have been made, and charged
                raise SubmissionUnclear(exc.detail) from exc
            raise
        logger.info("job %d: submitted, task %s", job.id, task_id)
        if job.id in self._cancelled:
            # The owner cancelled it meanwhile: it stays CANCELLED, but keeps the task id, since
            # the upstream may charge for it (and the daily limit counts it).
            return await self._store.update(job, task_id=task_id)
        return await self._store.update(job, state=JobState.SUBMITTED, task_id=task_id)

    async def _await_acceptance(self, job: Job) -> Job:
        assert job.task_id is not None
        provider = self._provider_for(job)
        deadline = time.monotonic() + self._config.submit_timeout
        while True:
            await asyncio.sleep(self._config.poll_interval)
            accepted = await provider.accepted(job.task_id, job.kind)
            if accepted is not None:
                break
            if time.monotonic() > deadline:
                raise TimedOut("the upstream did not take the job in time")
        if not job.makes_video:
            return await self._keep_image(job, provider, accepted)
        logger.info("job %d: rendering", job.id)
        job = await self._store.update(job, state=JobState.RENDERING, render=accepted.render,
                                       render_started_at=self._clock())
        await self._notify_progress(job, Phase.RENDERING)
        return job

    async def _keep_image(self, job: Job, provider: Provider, accepted: Accepted) -> Job:
        path = self._config.files_dir / f"job-{job.id}.png"
        if accepted.image_bytes is not None:
            await asyncio.to_thread(path.write_bytes, accepted.image_bytes)
        else:
            assert accepted.image_url is not None
            await provider.download(accepted.image_url, path,
                                    max_bytes=self._config.max_upload_bytes)
        return await self._store.update(job, state=JobState.DOWNLOADED, media_id=accepted.media_id,
                                        file_path=str(path), result_url=accepted.image_url)

    async def _render(self, job: Job) -> Job:
        assert job.render is not None
        provider = self._provider_for(job)
        watch = self._poller.watch(_poll_key(job), provider, job.id, job.render)
        try:
            status = await self._wait_render(job, watch)
        finally:
            self._poller.unwatch(_poll_key(job), job.id)
        if status.state is RenderState.FAILED:
            failure = status.failure or GenerationFailed(status.error or "the generation failed")
            if isinstance(failure, AccountDisconnected):
                # The render itself ended failed: waiting would only read that record again.
                return await self._fail(job, failure.code, failure.detail)
            raise failure
        assert status.url is not None
        if status.credits is not None or status.media_id is not None:
            job = await self._store.update(job, remaining_credits=status.credits,
                                           media_id=status.media_id)
        path = self._config.files_dir / f"job-{job.id}.mp4"
        try:
            await provider.download(status.url, path, max_bytes=self._config.max_upload_bytes)
        except ResultTooLarge as exc:
            if not provider.shareable_links:
                raise
            return await self._deliver_link(job, exc.url)
        logger.info("job %d: downloaded", job.id)
        return await self._store.update(job, state=JobState.DOWNLOADED, file_path=str(path),
                                        result_url=status.url)

    async def _wait_render(self, job: Job, watch: Watch) -> RenderStatus:
        started = job.render_started_at or self._clock()
        while True:
            remaining = self._config.render_timeout - (self._clock() - started)
            if remaining <= 0:
                if watch.last_error is not None:
                    raise watch.last_error
                raise TimedOut("the render did not finish in time")
            done, _ = await asyncio.wait({watch.future},
                                         timeout=min(self._config.progress_every, remaining))
            if done:
                return watch.future.result()
            await self._notify_progress(job, Phase.RENDERING)

    async def _deliver(self, job: Job) -> Job:
        assert job.file_path is not None
        path = Path(job.file_path)
        if not path.exists():
            return await self._refetch(job)
        await self._notify_progress(job, Phase.UPLOADING)
        # Counted before the upload: if the bot dies between Telegram taking the result and the
        # write below, the next attempt knows the owner may have it already.
        job = await self._store.update(job, delivery_attempts=job.delivery_attempts + 1)
        await self._notifier.deliver(job, path)
        # A picture stays (a later job may hand it to another provider as bytes); a video goes.
        kept = None if job.makes_video else job.file_path
        if kept is None:
            _remove(job.file_path)
        logger.info("job %d: delivered", job.id)
        job = await self._store.update(job, state=JobState.DELIVERED, finished_at=self._clock(),
                                       file_path=kept, error_code=None, error_detail=None)
        await self._notify_progress(job, Phase.DONE)
        return job

    async def _refetch(self, job: Job) -> Job:
        """The downloaded file vanished (e.g. a wiped volume): fetch the result again."""
        logger.warning("job %d: downloaded file is missing; fetching again", job.id)
        if job.render is not None:
            return await self._store.update(job, state=JobState.RENDERING, file_path=None)
        if job.task_id is not None:
            return await self._store.update(job, state=JobState.SUBMITTED, file_path=None)
        return await self._fail(job, ErrorCode.LOST, "the result file is missing")

    async def _deliver_link(self, job: Job, url: str) -> Job:
        """The link is the result: the job ends, and the link is owed, in one write."""
        logger.info("job %d: too large to upload; its link is the result", job.id)
        return await self._store.update(job, state=JobState.DELIVERED, result_url=url,
                                        finished_at=self._clock(), error_code=ErrorCode.TOO_LARGE,
                                        word_owed=True)

    async def _on_error(self, job: Job, exc: UpstreamError) -> Job:
        if isinstance(exc, AccountDisconnected):
            return await self._wait_for_account(job, exc)
        if isinstance(exc, AuthExpired):
            if await self._renewed(job, exc):
                return await self._store.update(job, state=_resume_state(_forget_refused(job, exc)),
                                                **_refused_changes(job, exc))
            if self._may_fail_over(job, exc):
                return await self._fail_over(job, exc)
            return await self._wait_for_token(job, exc)
        if self._may_fail_over(job, exc):
            return await self._fail_over(job, exc)
        logger.warning("job %d: failed in state %s: %s", job.id, job.state.value, exc)
        return await self._fail(job, exc.code, exc.detail)

    def _may_fail_over(self, job: Job, exc: UpstreamError) -> bool:
        return self._failover.may_move(job, exc)

    async def _fail_over(self, job: Job, exc: UpstreamError) -> Job:
        stored = await self._store.get(job.id)
        if stored.task_id is not None:  # belt and braces: a saved task id stays where it is
            return await self._fail(stored, exc.code, exc.detail)
        changes = self._failover.changes(stored)
        logger.warning("job %d: %s refused it (%s); moving to %s", job.id, job.provider,
                       exc.code, changes["provider"])
        self._renewals.pop(job.id, None)
        moved = await self._store.update(stored, **changes)
        await self._tell(self._notifier.failed_over(moved, exc.code), moved)
        return moved

    async def _renewed(self, job: Job, exc: AuthExpired) -> bool:
        """Renew the account's token once per job and outage; a second 401 in a row waits."""
        if self._renewals.get(job.id, 0) >= MAX_RENEWALS_PER_JOB:
            return False
        self._renewals[job.id] = self._renewals.get(job.id, 0) + 1
        renewed = await self._provider_for(job).renew_auth(exc)
        if renewed:
            logger.info("job %d: token renewed after a 401; carrying on", job.id)
        return renewed

    async def _wait_for_token(self, job: Job, exc: AuthExpired) -> Job:
        logger.warning("job %d: token expired in state %s; waiting", job.id, job.state.value)
        return await self._store.update(job, state=JobState.WAITING_FOR_TOKEN,
                                        error_code=exc.code, error_detail=exc.detail,
                                        word_owed=True, **_refused_changes(job, exc))

    async def _wait_for_account(self, job: Job, exc: AccountDisconnected) -> Job:
        """Pause until the account is healthy again. A saved task is polled again, never
        submitted again; a create the gateway refused (a 596 is a refusal: useapi.net answers
        it before asking Google) saved none, so it goes again."""
        logger.warning("job %d: its account is disconnected in state %s; waiting", job.id,
                       job.state.value)
        job = await self._store.update(job, state=JobState.WAITING_FOR_TOKEN,
                                       error_code=exc.code, error_detail=exc.detail,
                                       word_owed=True)
        self._accounts.look()
        return job

    async def _needed_files(self) -> set[Path]:
        return files.named_by(await self._store.unfinished())

    async def _waiting_on_accounts(self) -> list[Job]:
        """The jobs paused on a disconnected account that no task drives."""
        return [job for job in await self._store.unfinished()
                if job.state is JobState.WAITING_FOR_TOKEN and job.id not in self._tasks
                and _waits_on(job, ErrorCode.ACCOUNT_DISCONNECTED)]

    async def _resume_account(self, jobs: list[Job]) -> None:
        await self._tell(self._notifier.account_back(jobs[0]), jobs[0])
        for job in jobs:
            if job.id not in self._tasks:
                logger.info("job %d: its account is healthy again; resuming", job.id)
                self._spawn(job)

    async def _fail(self, job: Job, code: ErrorCode, detail: str) -> Job:
        _remove(job.file_path)
        return await self._store.update(job, state=JobState.FAILED, error_code=code,
                                        error_detail=detail[:500], finished_at=self._clock(),
                                        file_path=None, word_owed=True)

    async def _notify_progress(self, job: Job, phase: Phase) -> None:
        await self._tell(self._notifier.progress(job, phase), job)

    @staticmethod
    async def _tell(report: Awaitable[None], job: Job) -> None:
        """A report that fails is logged, never allowed to derail the job."""
        try:
            await report
        except Exception:
            logger.exception("job %d: reporting to the front failed", job.id)


async def _settle(waiting: list[asyncio.Future[Any]], grace: float) -> None:
    """Give `waiting` `grace` seconds to finish, then cancel what is left."""
    if not waiting:
        return
    _, late = await asyncio.wait(waiting, timeout=grace)
    for future in late:
        future.cancel()
    await asyncio.gather(*late, return_exceptions=True)


def _refused_changes(job: Job, exc: AuthExpired) -> dict[str, object]:
    """A submission the upstream refused (or never got) may go again: forget its task id."""
    if job.state is JobState.SUBMITTING or (exc.refused_submission and job.render is None):
        return {"task_id": None}
    return {}


def _forget_refused(job: Job, exc: AuthExpired) -> Job:
    return job.replace(**_refused_changes(job, exc))


def _waits_on(job: Job, code: ErrorCode) -> bool:
    """Whether a waiting job waits on this: jobs of old (no code) waited on a token."""
    return (job.error_code or ErrorCode.AUTH_EXPIRED) == code


def _poll_key(job: Job) -> str:
    """Batches are per provider and account: one status call covers all their renders."""
    return f"{job.provider}:{job.account}"


def _resume_state(job: Job) -> JobState:
    if job.render is not None:
        return JobState.RENDERING
    return JobState.SUBMITTED if job.task_id else JobState.QUEUED


async def _upload(provider: Provider, path: str) -> str:
    """A user's photo, as the exact bytes Telegram holds, with the type its bytes say."""
    data = await asyncio.to_thread(Path(path).read_bytes)
    return await provider.upload_image(data, mime=image_mime(data))


def image_mime(data: bytes) -> str:
    """The type of a PNG, WebP or (by default, as Telegram sends photos) JPEG picture."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return "image/jpeg"


def _remove(path: str | None) -> None:
    if path:
        Path(path).unlink(missing_ok=True)
