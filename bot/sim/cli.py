"""`python -m bot sim`: the simulator on a fixed port, with the bot's environment lines printed."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import logging
import sys
from collections.abc import Sequence

from bot.sim.config import SimConfig
from bot.sim.gemini import env_lines as gemini_env_lines
from bot.sim.server import PROXY, FlowSimulator
from bot.sim.useapi import env_lines as useapi_env_lines


def env_lines(base_url: str, config: SimConfig) -> list[str]:
    """What an operator pastes into the bot's environment to use a simulator at `base_url`."""
    lines = [f"FLOW_PROXY_URL={base_url}{PROXY}", f"FLOW_API_URL={base_url}"]
    accepted = []
    for name, value in (("FLOW_PROXY_TOKEN", config.proxy_token),
                        ("FLOW_BEARER_TOKEN", config.bearer_token)):
        if value is None:
            accepted.append(name)
        else:
            lines.append(f"{name}={value}")
    accepted.append("FLOW_PROJECT_ID")
    lines.append(f"# any {' / '.join(accepted)} is accepted (tokens must be non-empty)")
    lines.append("# or, for Google's official API (PROVIDER=gemini):")
    lines += gemini_env_lines(base_url, config.gemini_api_key)
    lines.append("# or, through useapi.net (PROVIDER=useapi):")
    return lines + useapi_env_lines(base_url, config.useapi_token)


async def serve(*, host: str, port: int, config: SimConfig) -> None:
    """Runs the simulator until cancelled, printing the bot's environment lines first."""
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("bot.sim").setLevel(logging.INFO)
    sim = FlowSimulator(config, keep_log=1000, keep_bodies=False)
    await sim.start(host=host, port=port)
    print(f"# Flow simulator on {sim.base_url} (latency {config.latency:g}s); bot environment:",
          flush=True)
    for line in env_lines(sim.base_url, config):
        print(line, flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await sim.stop()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The simulator's command-line flags."""
    defaults = SimConfig()
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=_port, default=8765,
                        help="port to listen on, 0 to 65535 (0: any free port)")
    parser.add_argument("--latency", type=float, default=defaults.latency,
                        help="seconds from create-video to SUCCESSFUL")
    parser.add_argument("--task-polls", type=int, default=defaults.task_polls,
                        help="task-status calls answered 'not done' before the result")
    parser.add_argument("--image-latency", type=float, default=defaults.image_latency)
    parser.add_argument("--video-bytes", type=int, default=defaults.video_bytes,
                        help="pad every MP4 to at least this many bytes")
    parser.add_argument("--proxy-token", default=None, help="demand this proxy token")
    parser.add_argument("--bearer-token", default=None, help="demand this Google bearer token")
    parser.add_argument("--credits", type=int, default=defaults.credits)
    parser.add_argument("--gemini-api-key", default=None, help="demand this Gemini API key")
    parser.add_argument("--useapi-token", default=None, help="demand this useapi.net token")


def config_from_args(args: argparse.Namespace) -> SimConfig:
    return SimConfig(latency=args.latency, task_polls=args.task_polls,
                     image_latency=args.image_latency, video_bytes=args.video_bytes,
                     proxy_token=args.proxy_token, bearer_token=args.bearer_token,
                     credits=args.credits, gemini_api_key=args.gemini_api_key,
                     useapi_token=args.useapi_token)


EPILOG = """\
examples:
  python -m bot sim                           listen on 127.0.0.1:8765
  python -m bot sim --port 9000 --latency 1   another port, one-second renders

reads no variable; prints the variables that point the bot at it (and `python -m bot demo`
runs one in-process, with no second shell)."""


def main(argv: Sequence[str] | None = None) -> int:
    """Serve until interrupted (Ctrl-C)."""
    parser = argparse.ArgumentParser(
        prog="python -m bot sim", epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Serve the Flow and Gemini simulator on loopback (no account needed).")
    add_arguments(parser)
    parser.add_argument("--debug", action="store_true", help="show the traceback of an error")
    args = parser.parse_args(argv)
    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(serve(host=args.host, port=args.port, config=config_from_args(args)))
    except OSError as exc:
        if args.debug:
            raise
        print(_cannot_listen(args.host, args.port, exc), file=sys.stderr)
        return 1
    return 0


def _port(value: str) -> int:
    if not (value.isdigit() and int(value) <= 65535):
        raise argparse.ArgumentTypeError(
            f"{value} is not a port: use a number from 0 to 65535 (0 picks a free one)")
    return int(value)


def _cannot_listen(host: str, port: int, exc: OSError) -> str:
    if exc.errno == errno.EADDRINUSE:
        return (f"Port {port} on {host} is already in use (another `python -m bot sim`?): stop "
                f"it, or choose another port, e.g. --port {port + 1 if port < 65535 else 0}.")
    return (f"Cannot listen on {host}:{port} ({exc.strerror or exc}): check --host and --port.")
