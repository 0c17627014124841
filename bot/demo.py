"""`python -m bot demo`: the main job (an image, then a video of it) with no account and no
settings. The simulator runs in this process on a free loopback port and stands in for Google;
the job runs through `generate`, the same engine and provider code as the real thing."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

from pydantic import SecretStr
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

from bot import texts
from bot.config import Settings
from bot.jobs.model import ProviderName
from bot.sim.config import SimConfig
from bot.sim.server import FlowSimulator
from bot.terminal import EXIT_INTERRUPTED, EXIT_REFUSED, GenerateRequest, generate

NAME = "veo-demo"
IMAGE_PROMPT = "a cute cat in a sunny garden"
MOTION_PROMPT = "the cat walks slowly towards the camera"
SIM = SimConfig(latency=1.0, task_polls=1)  # a render of a second: the demo takes a few


class DemoSettings(Settings):
    """Settings from the values given here only: no .env and no environment variable is read,
    so a half-configured .env (or PROVIDER=gemini in the shell) cannot break the demo."""

    @classmethod
    def settings_customise_sources(
        cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource, dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)


def demo_settings(sim: FlowSimulator) -> Settings:
    """The flow provider pointed at the simulator, which accepts any non-empty credentials."""
    return DemoSettings(
        provider=ProviderName.FLOW, flow_proxy_url=sim.proxy_url, flow_api_url=sim.api_url,
        flow_session_url=sim.session_url, flow_bearer_token=SecretStr("ya29.demo.simulator.bearer"),
        flow_proxy_token=SecretStr("demo-simulator-proxy-token"), flow_project_id="demo-project",
        flow_poll_interval=0.2, retry_base_delay=0.05, retry_max_seconds=5.0,
        submit_timeout=30.0, render_timeout=30.0)


def run_demo(folder: Path) -> int:
    """Make `veo-demo.png` and `veo-demo.mp4` in `folder`; return a process exit code."""
    if folder.exists() and not folder.is_dir():
        print(texts.cli("demo_output_not_folder", path=folder), file=sys.stderr)
        return EXIT_REFUSED
    folder.mkdir(parents=True, exist_ok=True)
    return asyncio.run(demo(folder))


async def demo(folder: Path) -> int:
    started = time.monotonic()
    request = GenerateRequest(output=folder / f"{NAME}.mp4", image=IMAGE_PROMPT,
                              animate=MOTION_PROMPT)
    sim = FlowSimulator(SIM)
    await sim.start()
    try:
        print(texts.cli("demo_start", url=sim.base_url), file=sys.stderr, flush=True)
        code = await generate(demo_settings(sim), request, demo=True)
    finally:
        await sim.stop()
    if code == 0:
        print(texts.cli("demo_done", elapsed=texts.duration(time.monotonic() - started),
                        image=request.image_output.resolve(), video=request.output.resolve()))
    elif code != EXIT_INTERRUPTED:
        print(texts.cli("demo_failed"), file=sys.stderr)
    return code
