"""The command line: `run` (the Telegram bot, default), `demo`, `generate`, `sim`, `doctor`.

Every mistake ends in one sentence and an exit status: 2 for a command or a setting to fix
(nothing was sent), 1 for a job or the bot that failed, 130 for Ctrl+C. A traceback is shown
only when asked for, with --debug or LOG_LEVEL=DEBUG.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import traceback
from pathlib import Path
from typing import TYPE_CHECKING

# Only light modules here: the others load inside `main`, where Ctrl+C is caught.
from bot import texts
from bot.jobs.model import ProviderName
from bot.logs import setup_logging
from bot.redact import redact, register_secret

if TYPE_CHECKING:
    from bot.config import Settings

SIM_MODULES = frozenset({"av", "aiohttp"})  # what the `sim` extra installs
EXIT_USAGE = 2

DESCRIPTION = """\
veo-bot: images and Veo videos from Telegram or the terminal.

  python -m bot demo        try it now: an image and a video, no account needed
  python -m bot generate    make an image or a video from the terminal
  python -m bot             run the Telegram bot (the same as `run`)
  python -m bot sim         serve the simulators for the bot to talk to
  python -m bot doctor      check the settings, Telegram and the providers: what to fix

Settings come from the environment and a .env file in the current folder (see .env.example).
`python -m bot COMMAND --help` shows a command's examples and the variables it reads."""

RUN_EPILOG = """\
examples:
  python -m bot                       run the bot with the settings of .env
  LOG_LEVEL=DEBUG python -m bot       the same, with debug logs and tracebacks

reads (the environment, then .env; see .env.example): TELEGRAM_BOT_TOKEN (required),
TELEGRAM_API_URL, ALLOWED_USER_IDS, ADMIN_USER_IDS, PROVIDER and that provider's variables
(FLOW_* or GEMINI_*, see `generate --help`), DATABASE_PATH, BOT_SECRET_KEY, DAILY_VIDEO_LIMIT,
LOG_LEVEL, and the limits listed in the README."""

GENERATE_EPILOG = """\
examples:
  python -m bot generate --image "a cute cat" -o cat.png
  python -m bot generate --image "a cute cat" --animate "walks slowly" -o cat.mp4
  python -m bot generate --video "a dog surfing" --portrait -o dog.mp4
  python -m bot generate --photo me.jpg --animate "waves hello" -o me.mp4
  python -m bot generate --provider gemini --video "a dog surfing" --duration 8 -o dog.mp4

reads (the environment, then .env): PROVIDER;
  flow:   FLOW_BEARER_TOKEN, FLOW_PROXY_TOKEN, FLOW_PROJECT_ID (all three required),
          FLOW_PROXY_URL, FLOW_API_URL
  gemini: GEMINI_API_KEY (required), GEMINI_API_URL, GEMINI_VERTEX, GEMINI_PROJECT,
          GEMINI_LOCATION, GEMINI_IMAGE_MODEL, GEMINI_VIDEO_MODEL
  and FLOW_POLL_INTERVAL, PROMPT_MAX_CHARS, SUBMIT_TIMEOUT, RENDER_TIMEOUT, HTTP_TIMEOUT,
  RETRY_ATTEMPTS, RETRY_MAX_SECONDS, RETRY_BASE_DELAY, LOG_LEVEL.
Jobs run in a throw-away database: a running bot's jobs are never touched. The request, the
files and the credentials are checked before anything is sent.
exit status: 0 done, 1 a job failed, 2 something to fix (nothing was sent), 130 interrupted.
No account yet? `python -m bot demo` shows the same with the built-in simulator."""

DEMO_EPILOG = """\
examples:
  python -m bot demo              writes veo-demo.png and veo-demo.mp4 in the current folder
  python -m bot demo -o out       the same in the folder out (created if needed)

reads no variable and no .env: the simulator stands in for Google on a free loopback port, so
nothing is billed. Needs the sim extra (pip install -e ".[sim]"; ".[dev]" includes it)."""


DOCTOR_EPILOG = """\
examples:
  python -m bot doctor              every check, one line each, and the fix of each failure
  python -m bot doctor --json       the same as one JSON document
  python -m bot doctor --liveness   the cheaper form of the Docker HEALTHCHECK

reads what `run` reads. It only reads upstream: nothing is generated, no credit spent, nothing
written. exit status: 0 every check passed, 1 a check failed."""


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="show tracebacks and debug logs (like LOG_LEVEL=DEBUG)")
    text = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(prog="python -m bot", description=DESCRIPTION,
                                     formatter_class=text, parents=[common])
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.add_parser("run", parents=[common], formatter_class=text, epilog=RUN_EPILOG,
                        help="run the Telegram bot (long polling); the default",
                        description="Run the Telegram bot (long polling) until Ctrl+C.")
    demo = commands.add_parser(
        "demo", parents=[common], formatter_class=text, epilog=DEMO_EPILOG,
        help="make an image and a video with the built-in simulator: no account, no settings",
        description="Make an image, then a video of it, with the built-in simulator standing in "
                    "for Google: no account, no settings.")
    demo.add_argument("-o", "--output", type=Path, default=Path("."), metavar="DIR",
                      help="folder for veo-demo.png and veo-demo.mp4 (default: here)")
    _generate_parser(commands.add_parser(
        "generate", parents=[common], formatter_class=text, epilog=GENERATE_EPILOG,
        help="make one image or video from the terminal",
        description="Make an image, a video, or an image and then a video of it, on the "
                    "provider of PROVIDER (or --provider)."))
    doctor = commands.add_parser(
        "doctor", parents=[common], formatter_class=text, epilog=DOCTOR_EPILOG,
        help="check the settings, the database, Telegram and each configured provider",
        description="Check this deploy against the real services: one line per check, and "
                    "the one thing to do for each failure.")
    doctor.add_argument("--json", action="store_true", help="print one JSON document")
    doctor.add_argument("--liveness", action="store_true",
                        help="settings, database, Telegram and PROVIDER's credentials only")
    doctor.add_argument("--timeout", type=_seconds, default=10.0, metavar="SECONDS",
                        help="how long each check may wait for an answer (default: 10)")
    # The simulator parses its own flags (see `_sim`): the bot never imports bot.sim.
    commands.add_parser("sim", add_help=False,
                        help="serve the Flow and Gemini simulator on 127.0.0.1 (the sim extra)")
    return parser


def _generate_parser(generate: argparse.ArgumentParser) -> None:
    generate.add_argument("--image", metavar="PROMPT", help="make an image of PROMPT")
    generate.add_argument("--animate", metavar="PROMPT",
                          help="then turn the image (of --image or --photo) into a video: "
                               "PROMPT says how it moves")
    generate.add_argument("--video", metavar="PROMPT", help="make a video from text alone")
    generate.add_argument("--photo", type=Path, metavar="FILE",
                          help="your own picture (PNG, JPEG or WebP) to --animate")
    generate.add_argument("--portrait", action="store_true", help="9:16 instead of 16:9")
    generate.add_argument("--provider", type=ProviderName, choices=list(ProviderName),
                          help="upstream to use (default: PROVIDER, else flow)")
    generate.add_argument("--seed", metavar="N", help="seed, a whole number from 0 to 4294967295")
    generate.add_argument("--negative", metavar="TEXT",
                          help="what the video should not show (gemini's Veo on Agent Platform)")
    generate.add_argument("--resolution", metavar="360p|720p|1080p|4k",
                          help="video resolution (gemini; Veo takes 720p or 1080p)")
    generate.add_argument("--duration", metavar="SECONDS",
                          help="video length in seconds (Omni 3 to 10; Veo and useapi 4, 6 or 8)")
    generate.add_argument("-o", "--output", type=Path, required=True, metavar="FILE",
                          help="where to save the video (an image goes beside it as .png; "
                               "with --image alone, e.g. -o cat.png)")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        return _main(argv)
    except KeyboardInterrupt:
        print(texts.cli("interrupted"), file=sys.stderr)
        return 130
    except Exception as exc:  # the last resort: one sentence, the traceback only when asked
        if "--debug" in argv or _debugging():
            print(redact("".join(traceback.format_exception(exc))), end="", file=sys.stderr)
        print(redact(texts.cli("crashed", error=_describe(exc))), file=sys.stderr)
        return 1


def _main(argv: list[str]) -> int:
    parser = _parser()
    args, rest = parser.parse_known_args(argv)
    command = args.command or "run"
    if command == "sim":
        return _sim(rest)
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    debug: bool = getattr(args, "debug", False)
    if command == "demo":
        return _demo(args.output, debug=debug)
    if command == "doctor":  # reads the settings itself: an invalid one is a failed check
        from bot.health import doctor

        setup_logging("DEBUG" if debug else "CRITICAL")
        return doctor(as_json=args.json, liveness=args.liveness, timeout=args.timeout)
    from bot.config import ConfigError, load_settings

    try:
        settings = load_settings()
    except ConfigError as exc:
        print("\n".join(exc.sentences), file=sys.stderr)
        return EXIT_USAGE
    for secret in settings.secrets():  # before anything logs, whatever the secret looks like
        register_secret(secret, configured=True)
    debug = debug or settings.log_level.upper() == "DEBUG"
    if command == "generate":
        setup_logging("DEBUG" if debug else "WARNING")
        return _generate(settings, args)
    setup_logging("DEBUG" if debug else settings.log_level)
    from bot.app import run_bot

    return run_bot(settings)


def _generate(settings: Settings, args: argparse.Namespace) -> int:
    from bot.jobs.model import Aspect
    from bot.terminal import GenerateRequest, Refused, generate, options_from

    try:
        options = options_from({"negative_prompt": args.negative, "seed": args.seed,
                                "resolution": args.resolution, "duration": args.duration})
    except Refused as refused:
        print(refused, file=sys.stderr)
        return EXIT_USAGE
    request = GenerateRequest(
        output=args.output, image=args.image, animate=args.animate, video=args.video,
        aspect=Aspect.PORTRAIT if args.portrait else Aspect.LANDSCAPE, photo=args.photo,
        provider=args.provider or settings.provider, options=options)
    return asyncio.run(generate(settings, request))


def _demo(folder: Path, *, debug: bool) -> int:
    try:
        from bot.demo import run_demo
    except ModuleNotFoundError as exc:
        missing = _sim_module(exc)
        if missing is None:
            raise
        print(texts.cli("demo_needs_sim", module=missing), file=sys.stderr)
        return EXIT_USAGE
    setup_logging("DEBUG" if debug else "WARNING")
    return run_demo(folder)


def _seconds(value: str) -> float:
    seconds = float(value)
    if not 0 < seconds <= 600:
        raise argparse.ArgumentTypeError("a number of seconds from 0 to 600")
    return seconds


def _sim(argv: list[str]) -> int:
    try:
        from bot.sim.cli import main as serve_simulator
    except ModuleNotFoundError as exc:
        missing = _sim_module(exc)
        if missing is None:
            raise
        print(f'The simulator needs its extra ({missing} is missing): pip install -e ".[sim]"',
              file=sys.stderr)
        return EXIT_USAGE
    setup_logging("INFO")
    return serve_simulator(argv)


def _sim_module(exc: ModuleNotFoundError) -> str | None:
    """The module of the `sim` extra that is missing, or None when it is something else."""
    name = exc.name or ""
    return name if name.partition(".")[0] in SIM_MODULES else None


def _debugging() -> bool:
    return (logging.getLogger().isEnabledFor(logging.DEBUG)
            or os.environ.get("LOG_LEVEL", "").strip().upper() == "DEBUG")


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


if __name__ == "__main__":
    sys.exit(main())
