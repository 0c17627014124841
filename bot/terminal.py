"""`python -m bot generate` (and the demo): jobs from the terminal on the same engine as the chat.

Everything that can be known before a job is sent is checked first (the request, the prompts,
the files, the credentials), so a mistake costs no credits; a progress line follows each job; an
interruption says, job by job, whether it was already submitted (and so may be billed).
"""

from __future__ import annotations

import asyncio
import base64
import logging
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from pydantic import SecretStr

from bot import texts
from bot.config import Settings, missing_credentials
from bot.jobs.errors import ErrorCode
from bot.jobs.model import Aspect, Job, JobKind, JobState, NewJob, Options, Phase, ProviderName
from bot.jobs.notifier import DeliveryFailed
from bot.jobs.provider import Provider
from bot.jobs.runner import JobRunner
from bot.jobs.validation import prompt_problem, read_options, unsupported
from storage.jobs import JobStore

TERMINAL_USER = 0
EXIT_REFUSED, EXIT_FAILED, EXIT_INTERRUPTED = 2, 1, 130
_EXAMPLES = {"--image": "a cute cat", "--animate": "walks slowly", "--video": "a dog surfing"}
_PICTURE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff")  # PNG, JPEG (WebP: RIFF....WEBP)
_FLAGS = {"negative_prompt": "--negative", "seed": "--seed", "resolution": "--resolution",
          "duration": "--duration"}


class Refused(Exception):
    """A request `generate` will not send; the message is the sentence that says what to change."""


@dataclass(frozen=True)
class GenerateRequest:
    output: Path
    image: str | None = None
    animate: str | None = None
    video: str | None = None
    aspect: Aspect = Aspect.LANDSCAPE
    photo: Path | None = None
    provider: ProviderName = ProviderName.FLOW
    options: Options = field(default_factory=Options)

    @property
    def makes_video(self) -> bool:
        return self.animate is not None or self.video is not None

    @property
    def image_output(self) -> Path:
        """Where a made image goes: beside the video, as `.png`."""
        return self.output.with_suffix(".png")


def options_from(raw: Mapping[str, str | None]) -> Options:
    """The command line's option values, read by the chat's rule (`bot.jobs.validation`)."""
    options, problem = read_options(raw)
    if problem is not None:
        key, values = problem
        raise Refused(texts.text("en", key, **values))
    return options


def check(settings: Settings, request: GenerateRequest) -> None:
    """Everything that can be known before anything is sent; raises `Refused`."""
    _check_combination(request)
    for flag, prompt in (("--image", request.image), ("--animate", request.animate),
                         ("--video", request.video)):
        if prompt is not None:
            _check_prompt(flag, prompt, limit=settings.prompt_max_chars)
    if request.photo is not None:
        _check_photo(request.photo)
    _check_outputs(request)
    missing = missing_credentials(settings, request.provider)
    if missing:
        fix = texts.cli("fix_gemini" if request.provider == ProviderName.GEMINI else "fix_flow")
        raise Refused(texts.cli("missing_credentials", provider=request.provider,
                                names=texts.listing(missing), fix=fix))


def _check_combination(request: GenerateRequest) -> None:
    picture = "--image" if request.image is not None else "--photo" if request.photo else None
    if request.image is None and request.video is None and request.animate is None \
            and request.photo is None:
        raise Refused(texts.cli("usage_what"))
    if request.video is not None and picture is not None:
        raise Refused(texts.cli("usage_video_and_picture", picture=picture))
    if request.image is not None and request.photo is not None:
        raise Refused(texts.cli("usage_image_and_photo"))
    if request.photo is not None and request.animate is None:
        raise Refused(texts.cli("usage_photo_needs_animate"))
    if request.animate is not None and picture is None:
        raise Refused(texts.cli("usage_animate_needs_picture"))


def _check_prompt(flag: str, prompt: str, *, limit: int) -> None:
    problem = prompt_problem(prompt, limit=limit)
    if problem is None:
        return
    key, values = problem
    if key == "empty":
        raise Refused(texts.cli("prompt_empty", flag=flag, example=_EXAMPLES[flag]))
    raise Refused(texts.cli("prompt_too_long", flag=flag, **values))


def _check_photo(path: Path) -> None:
    if path.is_dir():
        raise Refused(texts.cli("photo_folder", path=path))
    if not path.exists():
        raise Refused(texts.cli("photo_missing", path=path))
    try:
        with path.open("rb") as file:
            head = file.read(12)
    except OSError as exc:
        raise Refused(texts.cli("photo_unreadable", path=path, reason=exc.strerror)) from None
    if not (head.startswith(_PICTURE_MAGIC) or (head[:4] == b"RIFF" and head[8:] == b"WEBP")):
        raise Refused(texts.cli("photo_not_picture", path=path))


def _check_outputs(request: GenerateRequest) -> None:
    output = request.output
    if output.is_dir():
        example = output / ("video.mp4" if request.makes_video else "image.png")
        raise Refused(texts.cli("output_is_folder", path=output, example=example))
    targets = []
    if request.image is not None:
        if request.makes_video and output.suffix.lower() == ".png":
            raise Refused(texts.cli("output_image_clash", path=output,
                                    example=output.with_suffix(".mp4"),
                                    image=request.image_output))
        targets.append(request.image_output)
    if request.makes_video:
        targets.append(output)
    for target in targets:
        folder = target.parent
        if not folder.is_dir():
            raise Refused(texts.cli("output_no_folder", path=target, folder=folder))
        if target.is_dir():
            raise Refused(texts.cli("output_is_folder", path=target, example=target / "x.mp4"))
        if not os.access(folder, os.W_OK):
            raise Refused(texts.cli("output_not_writable", path=target, folder=folder))
        if request.photo is not None and target.resolve() == request.photo.resolve():
            raise Refused(texts.cli("output_is_photo", path=target))


class ProgressLine:
    """The jobs' progress on stderr: rewritten in place on a terminal; written as one line per
    change when stderr is a file or a pipe (so a log stays readable)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.live = self.stream.isatty()
        self._shown = ""
        self._open = False  #: a live line is on screen without its newline

    def update(self, state: str, timer: str) -> None:
        if self.live:
            self.stream.write(f"\r\x1b[K{state} {timer}")
            self._open = True
        elif state != self._shown:
            self.stream.write(f"{state} {timer}\n")
        self._shown = state
        self.stream.flush()

    def say(self, line: str) -> None:
        """A line that stays: a result, a failure."""
        self.stream.write(("\r\x1b[K" if self._open else "") + line + "\n")
        self.stream.flush()
        self._shown, self._open = "", False

    def make_room(self) -> None:
        """End a live line so that what someone else writes (a log record) starts on its own."""
        if self._open:
            self.stream.write("\n")
            self.stream.flush()
            self._open = False


class _MakeRoom(logging.Filter):
    """On the log handlers while a live progress line is on screen."""

    def __init__(self, line: ProgressLine) -> None:
        super().__init__()
        self.line = line

    def filter(self, record: logging.LogRecord) -> bool:
        self.line.make_room()
        return True


@dataclass
class TerminalNotifier:
    """Renders the engine's reports on a `ProgressLine` and copies the results to `output`."""

    output: Path
    line: ProgressLine = field(default_factory=ProgressLine)
    #: where the provider was reached (`FLOW_PROXY_URL=…`), named when it could not be
    upstream: str = ""
    delivered: dict[int, Path] = field(default_factory=dict)
    links: dict[int, str] = field(default_factory=dict)

    async def progress(self, job: Job, phase: Phase) -> None:
        if phase is Phase.DONE:
            return  # `deliver` already said where the result is
        doing = {Phase.QUEUED: "queued", Phase.SUBMITTING: f"sending to {job.provider}",
                 Phase.RENDERING: "rendering", Phase.UPLOADING: "downloaded, saving"}[phase]
        self.line.update(f"job {job.id} {job.kind.value}: {doing}", _elapsed(job))

    async def deliver(self, job: Job, path: Path) -> None:
        target = self.output.with_suffix(".png") if job.kind is JobKind.IMAGE else self.output
        try:
            await asyncio.to_thread(shutil.copyfile, path, target)
        except OSError as exc:
            raise DeliveryFailed(texts.cli("saved_failed", path=target,
                                           reason=exc.strerror or exc)) from exc
        self.delivered[job.id] = target
        left = texts.cli("credits_left", credits=texts.number("en", job.remaining_credits)) \
            if job.remaining_credits is not None else ""
        self.line.say(f"job {job.id} {job.kind.value}: saved {target} ({_elapsed(job)}{left})")

    async def deliver_link(self, job: Job, url: str) -> None:
        self.links[job.id] = url
        self.line.say(f"job {job.id} {job.kind.value}: too large to keep here; download it from "
                      f"{url}")

    async def failed(self, job: Job) -> None:
        if job.error_code == DeliveryFailed.code:
            sentence = job.error_detail or ""
        else:
            sentence = texts.error_sentence("en", job.error_code, job.error_detail)
        if job.error_code == ErrorCode.UNAVAILABLE and self.upstream:
            sentence += " " + texts.cli("check_upstream", upstream=self.upstream)
        self.line.say(f"job {job.id} {job.kind.value} failed: {sentence}")

    async def waiting_for_token(self, job: Job) -> None:
        if job.error_code == ErrorCode.ACCOUNT_DISCONNECTED:
            self.line.say(texts.cli("account_disconnected", id=job.id))
            return
        key = "auth_gemini" if job.provider == ProviderName.GEMINI else "auth_flow"
        detail = (job.error_detail or "401").strip().rstrip(".")
        self.line.say(texts.cli(key, id=job.id, detail=detail))

    async def account_back(self, job: Job) -> None:
        self.line.say(texts.cli("account_back", id=job.id))

    async def failed_over(self, job: Job, reason: ErrorCode) -> None:
        self.line.say(texts.cli("failed_over", id=job.id,
                                first=texts.provider_label("en", str(job.first_provider)),
                                provider=texts.provider_label("en", str(job.provider)),
                                reason=texts.refusal("en", str(reason))))


def _elapsed(job: Job) -> str:
    """One timer per job, from the moment it was queued (it does not restart at rendering)."""
    return texts.duration(time.time() - job.created_at)


async def generate(settings: Settings, request: GenerateRequest, *, demo: bool = False) -> int:
    """Check, then run the asked jobs one after the other; return a process exit code."""
    try:
        check(settings, request)
    except Refused as mistake:
        print(mistake, file=sys.stderr)
        return EXIT_REFUSED
    from bot.engine import open_engine  # the providers' SDKs load only for a request that runs

    with tempfile.TemporaryDirectory(prefix="veo-bot-") as scratch:
        # A private database: a bot running beside us must not have its jobs resumed here.
        # A throw-away key too: nothing stored here outlives the run.
        key = SecretStr(base64.urlsafe_b64encode(os.urandom(32)).decode())
        settings = settings.model_copy(update={"database_path": Path(scratch) / "cli.sqlite3",
                                               "bot_secret_key": key})
        notifier = TerminalNotifier(request.output, upstream=_upstream(settings, request))
        engine = await open_engine(settings, lambda jobs, images, providers: notifier)
        sent: list[int] = []
        room = _MakeRoom(notifier.line)
        for handler in logging.getLogger().handlers:
            handler.addFilter(room)
        try:
            dropped = _unsupported(engine.providers.get(request.provider, "default"), request)
            if dropped:
                print(texts.cli("unsupported", provider=request.provider, options=dropped),
                      file=sys.stderr)
                return EXIT_REFUSED
            await engine.runner.start()
            return await _run_steps(engine.runner, engine.jobs, request, sent)
        except asyncio.CancelledError:  # Ctrl+C: asyncio.run cancels us
            # Stopping gives a submission in flight its grace to save the task id it gets back.
            await engine.runner.stop()
            for sentence in await _interrupted(engine.jobs, sent, demo=demo):
                notifier.line.say(sentence)
            return EXIT_INTERRUPTED
        finally:
            await engine.close()
            for handler in logging.getLogger().handlers:
                handler.removeFilter(room)


def _upstream(settings: Settings, request: GenerateRequest) -> str:
    if request.provider == ProviderName.GEMINI:
        return f"GEMINI_API_URL={settings.gemini_api_url or '(unset: Google)'}"
    return f"FLOW_PROXY_URL={settings.flow_proxy_url} and FLOW_API_URL={settings.flow_api_url}"


async def _interrupted(jobs: JobStore, sent: list[int], *, demo: bool) -> list[str]:
    """One sentence per unfinished job: was it submitted (and so may be billed)?"""
    if demo:
        return [texts.cli("stop_demo")]
    sentences = []
    for job_id in sent:
        job = await jobs.get(job_id)
        values = {"id": job.id, "kind": job.kind.value, "provider": job.provider}
        if job.state.terminal or job.state is JobState.WAITING_FOR_TOKEN:
            continue
        if job.task_id:
            sentences.append(texts.cli("stop_submitted", task_id=job.task_id, **values))
        elif job.state is JobState.SUBMITTING:
            sentences.append(texts.cli("stop_submitting", **values))
        else:
            sentences.append(texts.cli("stop_queued", **values))
    if not sentences:
        sentences.append(texts.cli("stop_nothing_sent" if not sent else "interrupted"))
    return sentences


async def _run_steps(runner: JobRunner, jobs: JobStore, request: GenerateRequest,
                     sent: list[int]) -> int:
    reference: str | None = None
    if request.image is not None:
        job = await _run_one(runner, jobs, NewJob(
            TERMINAL_USER, TERMINAL_USER, JobKind.IMAGE, request.image, request.aspect,
            provider=request.provider, options=_image_options(request.options)), sent)
        if job.state is not JobState.DELIVERED:
            return EXIT_FAILED
        reference = job.media_id
    prompt = request.animate if request.animate is not None else request.video
    if prompt is None:
        return 0
    kind = JobKind.ANIMATE if reference or request.photo else JobKind.VIDEO
    new = NewJob(TERMINAL_USER, TERMINAL_USER, kind, prompt, request.aspect,
                 reference_media_id=reference,
                 source_path=str(request.photo) if request.photo else None,
                 provider=request.provider, options=request.options)
    job = await _run_one(runner, jobs, new, sent)
    return 0 if job.state is JobState.DELIVERED else EXIT_FAILED


def _unsupported(provider: Provider, request: GenerateRequest) -> str:
    """Options the provider would drop, named as the command line spells them."""
    extra: frozenset[str] = frozenset()
    if request.image is not None:
        extra = unsupported(_image_options(request.options), provider.image_options)
    if request.makes_video:
        extra |= unsupported(request.options, provider.supported_options)
    return ", ".join(_FLAGS[name] for name in sorted(extra))


def _image_options(options: Options) -> Options:
    return Options(seed=options.seed)


async def _run_one(runner: JobRunner, jobs: JobStore, new: NewJob, sent: list[int]) -> Job:
    job = await runner.submit(new)
    sent.append(job.id)
    await runner.join()
    return await jobs.get(job.id)
