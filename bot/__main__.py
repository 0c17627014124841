"""The command line: `run` (the Telegram bot, default), `generate` (one job), `sim` (simulator)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from bot.config import Settings
from bot.jobs.model import Aspect, Options, ProviderName
from bot.logs import setup_logging
from bot.providers.registry import PROVIDERS

SIM_MODULES = frozenset({"av", "aiohttp"})  # what the `sim` extra installs


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__)
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("run", help="run the Telegram bot (long polling); the default")
    generate = commands.add_parser("generate", help="make one image or video from the terminal")
    generate.add_argument("--image", help="prompt of an image to make first")
    generate.add_argument("--animate", help="animate the image (from --image or --photo)")
    generate.add_argument("--video", help="prompt of a text-to-video")
    generate.add_argument("--photo", type=Path, help="your own picture to animate")
    generate.add_argument("--portrait", action="store_true", help="9:16 instead of 16:9")
    generate.add_argument("--provider", type=ProviderName,
                          choices=[p for p in ProviderName if p in PROVIDERS],
                          help="upstream to use (default: PROVIDER, else flow)")
    generate.add_argument("--seed", type=int, help="seed of the generation")
    generate.add_argument("--negative", help="negative prompt (gemini)")
    generate.add_argument("--resolution", choices=("720p", "1080p"), help="video resolution "
                          "(gemini)")
    generate.add_argument("--duration", type=int, help="video length in seconds (gemini)")
    generate.add_argument("-o", "--output", type=Path, required=True,
                          help="where to save the MP4 (an image goes beside it as .png)")
    # The simulator parses its own flags (see `_sim`): the bot never imports bot.sim.
    commands.add_parser("sim", add_help=False,
                        help="serve the Flow and Gemini simulator on 127.0.0.1 (the sim extra)")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args, rest = parser.parse_known_args(argv)
    command = args.command or "run"
    if command == "sim":
        return _sim(rest)
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    settings = Settings()
    setup_logging(settings.log_level if command == "run" else "WARNING")
    if command == "generate":
        return _generate(settings, args)
    from bot.app import run_bot

    return run_bot(settings)


def _generate(settings: Settings, args: argparse.Namespace) -> int:
    from bot.terminal import GenerateRequest, generate

    if not (args.image or args.video or (args.animate and args.photo)):
        print("say what to make: --image PROMPT [--animate PROMPT], --video PROMPT, "
              "or --photo FILE --animate PROMPT", file=sys.stderr)
        return 2
    options = Options(negative_prompt=args.negative, seed=args.seed,
                      resolution=args.resolution, duration=args.duration)
    request = GenerateRequest(
        output=args.output, image=args.image, animate=args.animate, video=args.video,
        aspect=Aspect.PORTRAIT if args.portrait else Aspect.LANDSCAPE, photo=args.photo,
        provider=args.provider or settings.provider, options=options)
    return asyncio.run(generate(settings, request))


def _sim(argv: list[str]) -> int:
    try:
        from bot.sim.cli import main as serve_simulator
    except ModuleNotFoundError as exc:
        if (exc.name or "").partition(".")[0] not in SIM_MODULES:
            raise
        print(f'The simulator needs its extra ({exc.name} is missing): pip install -e ".[sim]"',
              file=sys.stderr)
        return 2
    setup_logging("INFO")
    return serve_simulator(argv)


if __name__ == "__main__":
    sys.exit(main())
