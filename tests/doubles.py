"""In-memory test doubles for the engine: a scripted `Provider`, a recording `Notifier`, a
`JobStore` wrapper that records every state written, and `until`, a bounded wait."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.jobs.errors import AuthExpired, ErrorCode, RequestRejected, ResultTooLarge
from bot.jobs.model import (
    COMMON_ASPECTS,
    Action,
    Aspect,
    ImageRole,
    Job,
    JobKind,
    JobState,
    NewJob,
    Phase,
    ProviderName,
)
from bot.jobs.notifier import DeliveryFailed
from bot.jobs.provider import (
    Accepted,
    AccountStatus,
    GenerationRequest,
    RenderState,
    RenderStatus,
)
from bot.jobs.store import JobStore

PNG = b"\x89PNG\r\n\x1a\nfake-image"
MP4 = b"\x00\x00\x00\x18ftypmp42fake-video"


@dataclass
class FakeProvider:
    """A `Provider` held in memory, scripted by its fields.

    Task ids are `task-<n>`, render entries `{"op": "op-<n>"}`; any entry is known, so a job
    put in a state by hand can resume against it. `fail_next(method, ...)` queues errors raised
    by the next calls of a method, `fail_always(method, error)` raises on every call until
    `heal(method)`. Every call is counted in `calls`.
    """

    name: ProviderName = ProviderName.FLOW
    supported_options: frozenset[str] = frozenset({"negative_prompt", "seed"})
    image_options: frozenset[str] = frozenset({"seed"})
    shareable_links: bool = True
    pictures: Mapping[ImageRole, int] = field(
        default_factory=lambda: {ImageRole.FRAMES: 2, ImageRole.REFERENCES: 3})
    aspects: frozenset[Aspect] = COMMON_ASPECTS
    image_model: str = "fake-image"
    video_model: str = "fake-video"
    #: what `offers` answers, per result kind (images: again and 2K; videos: every action)
    actions: Mapping[bool, frozenset[Action]] = field(default_factory=lambda: {
        False: frozenset({Action.AGAIN, Action.UPSCALE_2K}),
        True: frozenset({Action.AGAIN, Action.EXTEND, Action.UPSCALE_1080P, Action.UPSCALE_4K})})
    #: `accepted` answers None this many times per task before accepting it
    pending_acceptances: int = 0
    #: a render is DONE (or FAILED, with `render_error`) on its Nth check
    checks_to_finish: int = 1
    render_error: str | None = None
    #: while True, renders stay ACTIVE and their checks are not counted
    hold_renders: bool = False
    #: images come as a URL to download instead of bytes in the answer
    image_by_url: bool = False
    renew_answer: bool = True
    result: bytes = MP4
    #: when set, `submit` waits for it (a submission in flight)
    submit_gate: asyncio.Event | None = None
    calls: Counter[str] = field(default_factory=Counter)
    submitted: list[GenerationRequest] = field(default_factory=list)
    acceptance_asks: list[str] = field(default_factory=list)
    check_batches: list[list[str]] = field(default_factory=list)
    check_times: list[float] = field(default_factory=list)
    downloads: list[str] = field(default_factory=list)
    upload_mimes: list[str] = field(default_factory=list)
    _queued: dict[str, deque[Exception]] = field(default_factory=dict)
    _always: dict[str, Exception] = field(default_factory=dict)
    _looks: Counter[str] = field(default_factory=Counter)

    def fail_next(self, method: str, *errors: Exception) -> None:
        self._queued.setdefault(method, deque()).extend(errors)

    def fail_always(self, method: str, error: Exception) -> None:
        self._always[method] = error

    def heal(self, method: str) -> None:
        self._always.pop(method, None)
        self._queued.pop(method, None)

    async def upload_image(self, data: bytes, *, mime: str) -> str:
        self._call("upload_image")
        self.upload_mimes.append(mime)
        return f"upload-{self.calls['upload_image']}"

    async def submit(self, request: GenerationRequest) -> str:
        self._call("submit")
        allowed = self.image_options if request.kind is JobKind.IMAGE else self.supported_options
        refused = request.options.named() - allowed
        if refused:
            raise RequestRejected(f"unsupported option: {', '.join(sorted(refused))}",
                                  status=400)
        if self.submit_gate is not None:
            await self.submit_gate.wait()
        self.submitted.append(request)
        return f"task-{len(self.submitted)}"

    async def accepted(self, task_id: str, kind: JobKind) -> Accepted | None:
        self._call("accepted")
        self.acceptance_asks.append(task_id)
        self._looks[task_id] += 1
        if self._looks[task_id] <= self.pending_acceptances:
            return None
        number = task_id.removeprefix("task-")
        if kind.makes_video:
            return Accepted(render=[{"op": f"op-{number}"}])
        if self.image_by_url:
            return Accepted(media_id=f"media-{number}", image_url=f"https://fake/{number}.png")
        return Accepted(media_id=f"media-{number}", image_bytes=PNG)

    async def check(self, renders: Sequence[dict[str, Any]]) -> list[RenderStatus]:
        ops = [str(entry["op"]) for entry in renders]
        self.check_batches.append(ops)  # failed calls too: what was asked, and when
        self.check_times.append(time.monotonic())
        self._call("check")
        return [self._status(op) for op in ops]

    async def download(self, url: str, dest: Path, *, max_bytes: int) -> int:
        self._call("download")
        self.downloads.append(url)
        if len(self.result) > max_bytes:
            raise ResultTooLarge("the result is too large", url=url, size=len(self.result))
        dest.write_bytes(self.result)
        return len(self.result)

    async def renew_auth(self, failed: AuthExpired) -> bool:
        self._call("renew_auth")
        return self.renew_answer

    async def account_status(self) -> AccountStatus | None:
        self._call("account_status")
        return AccountStatus(credits=100, tier="test")

    def _call(self, method: str) -> None:
        self.calls[method] += 1
        queued = self._queued.get(method)
        if queued:
            raise queued.popleft()
        if method in self._always:
            raise self._always[method]

    def _status(self, op: str) -> RenderStatus:
        if self.hold_renders:
            return RenderStatus(RenderState.ACTIVE)
        self._looks[op] += 1
        if self._looks[op] < self.checks_to_finish:
            return RenderStatus(RenderState.ACTIVE)
        if self.render_error is not None:
            return RenderStatus(RenderState.FAILED, error=self.render_error)
        return RenderStatus(RenderState.DONE, url=f"https://fake/{op}.mp4", media_id=f"video-{op}")

    def offers(self, kind: JobKind, model: str | None) -> frozenset[Action]:
        return self.actions[kind.makes_video]


@dataclass(frozen=True)
class Event:
    """One report: `detail` is the phase for `progress`, the job's state for the others."""

    name: str
    job_id: int
    detail: str


@dataclass
class RecordingNotifier:
    """A `Notifier` that records what it was told; `deliver` keeps the bytes it was handed.

    A job's final word (`failed`, `waiting_for_token`, `deliver_link`) is recorded when asked,
    then waits for `word_gate` if set (Telegram holding its answer), then raises `word_error`
    if set (the word not confirmed); `words_said` lists the words that returned.
    """

    events: list[Event] = field(default_factory=list)
    delivered: dict[int, bytes] = field(default_factory=dict)
    delivery_attempts: dict[int, list[int]] = field(default_factory=dict)
    links: dict[int, str] = field(default_factory=dict)
    failures: dict[int, tuple[str | None, str | None]] = field(default_factory=dict)
    #: when set, `deliver` waits for it (a job held in DOWNLOADED)
    deliver_gate: asyncio.Event | None = None
    refuse_delivery: bool = False
    word_gate: asyncio.Event | None = None
    word_error: Exception | None = None
    words_said: list[Event] = field(default_factory=list)

    async def progress(self, job: Job, phase: Phase) -> None:
        self._record("progress", job, phase.value)

    async def deliver(self, job: Job, path: Path) -> None:
        self._record("deliver", job, job.state.value)
        self.delivery_attempts.setdefault(job.id, []).append(job.delivery_attempts)
        if self.deliver_gate is not None:
            await self.deliver_gate.wait()
        if self.refuse_delivery:
            raise DeliveryFailed("the chat is gone")
        self.delivered[job.id] = path.read_bytes()

    async def deliver_link(self, job: Job, url: str) -> None:
        await self._word("deliver_link", job)
        self.links[job.id] = url

    async def failed(self, job: Job) -> None:
        await self._word("failed", job)
        self.failures[job.id] = (job.error_code, job.error_detail)

    async def waiting_for_token(self, job: Job) -> None:
        await self._word("waiting_for_token", job)

    async def account_back(self, job: Job) -> None:
        self._record("account_back", job, job.state.value)

    async def failed_over(self, job: Job, reason: ErrorCode) -> None:
        self._record("failed_over", job, f"{job.first_provider}->{job.provider}:{reason}")

    def said(self, name: str, job_id: int) -> int:
        """How many times the word `name` about this job was confirmed."""
        return sum(1 for e in self.words_said if e.name == name and e.job_id == job_id)

    async def _word(self, name: str, job: Job) -> None:
        self._record(name, job, job.state.value)
        if self.word_gate is not None:
            await self.word_gate.wait()
        if self.word_error is not None:
            raise self.word_error
        self.words_said.append(Event(name, job.id, job.state.value))

    def of(self, job_id: int) -> list[tuple[str, str]]:
        """One job's reports in order, repeated progress reports folded into one."""
        seen: list[tuple[str, str]] = []
        for event in self.events:
            pair = (event.name, event.detail)
            if event.job_id == job_id and (not seen or seen[-1] != pair):
                seen.append(pair)
        return seen

    def count(self, name: str, job_id: int) -> int:
        return sum(1 for e in self.events if e.name == name and e.job_id == job_id)

    def _record(self, name: str, job: Job, detail: str) -> None:
        self.events.append(Event(name, job.id, detail))


class RecordingStore:
    """A `JobStore` around a real one that records every state written, per job, in order, and
    every write's changes (`writes`)."""

    def __init__(self, inner: JobStore) -> None:
        self._inner = inner
        self.states: dict[int, list[JobState]] = {}
        self.writes: dict[int, list[dict[str, Any]]] = {}

    async def add(self, new: NewJob) -> Job:
        job = await self._inner.add(new)
        self.states[job.id] = [job.state]
        return job

    async def get(self, job_id: int) -> Job:
        return await self._inner.get(job_id)

    async def update(self, job: Job, **changes: Any) -> Job:
        self.writes.setdefault(job.id, []).append(dict(changes))
        updated = await self._inner.update(job, **changes)
        if "state" in changes:
            self.states.setdefault(job.id, []).append(updated.state)
        return updated

    async def unfinished(self) -> list[Job]:
        return await self._inner.unfinished()

    async def owing(self) -> list[Job]:
        return await self._inner.owing()


async def until(predicate: Callable[[], bool | Awaitable[bool]], *, timeout: float = 3.0,
                what: str = "condition") -> None:
    """Wait (polling every 5 ms) until `predicate` holds; fail the test after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        outcome = predicate()
        if inspect.isawaitable(outcome):
            outcome = await outcome
        if outcome:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.005)
