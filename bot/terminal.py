"""`python -m bot generate`: one job from the terminal, with a progress line, on the same engine."""

from __future__ import annotations

import asyncio
import base64
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import SecretStr

from bot import texts
from bot.config import Settings
from bot.engine import open_engine
from bot.jobs.model import Aspect, Job, JobKind, JobState, NewJob, Options, Phase, ProviderName
from bot.jobs.provider import Provider
from bot.jobs.runner import JobRunner
from storage.jobs import JobStore

TERMINAL_USER = 0


@dataclass
class TerminalNotifier:
    """Prints one progress line per job and copies the result to `output`."""

    output: Path
    delivered: dict[int, Path] = field(default_factory=dict)
    links: dict[int, str] = field(default_factory=dict)

    async def progress(self, job: Job, phase: Phase) -> None:
        if phase is Phase.DONE:
            return  # `deliver` already said where the result is
        started = job.render_started_at if phase is Phase.RENDERING else job.created_at
        elapsed = texts.duration(time.time() - (started or job.created_at))
        print(f"\rjob {job.id} {job.kind.value}: {phase.value} {elapsed}   ", end="",
              file=sys.stderr, flush=True)

    async def deliver(self, job: Job, path: Path) -> None:
        target = self.output if job.kind is not JobKind.IMAGE else self.output.with_suffix(".png")
        await asyncio.to_thread(shutil.copyfile, path, target)
        self.delivered[job.id] = target
        print(f"\rjob {job.id}: saved {target}          ", file=sys.stderr, flush=True)

    async def deliver_link(self, job: Job, url: str) -> None:
        self.links[job.id] = url
        print(f"\rjob {job.id}: too large to keep here; download it from {url}", file=sys.stderr)

    async def failed(self, job: Job) -> None:
        sentence = texts.error_sentence("en", job.error_code, job.error_detail)
        print(f"\rjob {job.id} failed: {sentence}", file=sys.stderr)

    async def waiting_for_token(self, job: Job) -> None:
        sentence = texts.error_sentence("en", job.error_code, job.error_detail)
        print(f"\rjob {job.id} paused: {sentence}", file=sys.stderr)


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


async def generate(settings: Settings, request: GenerateRequest) -> int:
    """Run the asked jobs one after the other; return a process exit code."""
    with tempfile.TemporaryDirectory(prefix="veo-bot-") as scratch:
        # A private database: a bot running beside us must not have its jobs resumed here.
        # A throw-away key too: nothing stored here outlives the run.
        key = SecretStr(base64.urlsafe_b64encode(os.urandom(32)).decode())
        settings = settings.model_copy(update={"database_path": Path(scratch) / "cli.sqlite3",
                                               "bot_secret_key": key})
        notifier = TerminalNotifier(request.output)
        engine = await open_engine(settings, lambda jobs, images: notifier)
        refused = _unsupported(engine.providers.get(request.provider, "default"), request)
        if refused:
            print(f"the {request.provider} provider cannot honour {refused}", file=sys.stderr)
            await engine.close()
            return 2
        try:
            await engine.runner.start()
            return await _run_steps(engine.runner, engine.jobs, request)
        finally:
            await engine.close()


async def _run_steps(runner: JobRunner, jobs: JobStore, request: GenerateRequest) -> int:
    reference: str | None = None
    if request.image:
        job = await _run_one(runner, jobs, NewJob(
            TERMINAL_USER, TERMINAL_USER, JobKind.IMAGE, request.image, request.aspect,
            provider=request.provider, options=_image_options(request.options)))
        if job.state is not JobState.DELIVERED:
            return 1
        reference = job.media_id
    prompt = request.animate or request.video
    if prompt is None:
        return 0
    kind = JobKind.ANIMATE if reference or request.photo else JobKind.VIDEO
    new = NewJob(TERMINAL_USER, TERMINAL_USER, kind, prompt, request.aspect,
                 reference_media_id=reference,
                 source_path=str(request.photo) if request.photo else None,
                 provider=request.provider, options=request.options)
    job = await _run_one(runner, jobs, new)
    return 0 if job.state is JobState.DELIVERED else 1


def _unsupported(provider: Provider, request: GenerateRequest) -> str:
    """Options the provider would drop, named as the command line spells them."""
    wanted = request.options.named()
    if request.image:
        wanted_image = _image_options(request.options).named()
        extra = wanted_image - provider.image_options
    else:
        extra = frozenset()
    if request.animate or request.video:
        extra |= wanted - provider.supported_options
    return ", ".join(f"--{name.replace('_prompt', '')}" for name in sorted(extra))


def _image_options(options: Options) -> Options:
    return Options(seed=options.seed)


async def _run_one(runner: JobRunner, jobs: JobStore, new: NewJob) -> Job:
    job = await runner.submit(new)
    await runner.join()
    return await jobs.get(job.id)
