"""`python -m bench`: the real bot under U users x J `/video` at once, against the simulator of
one provider and a fake Telegram that enforces the flood limits; prints a table, then one JSON
line per run.

  python -m bench                      # U=200, J=1, L=5 s, P=0.5 s, S=5 MB, PROVIDER=flow
  python -m bench --provider useapi    # the same through useapi.net (or gemini)
  python -m bench --baseline           # the same workload through the seed guide's client too
  python -m bench --scale              # U = 50, 200 and 800: how the cost grows with work

The JSON lines are the last lines of stdout (bot first, then baseline; per U with --scale);
progress goes to stderr. The exit code is 0 when every run delivered every video, 1 when a run
timed out or lost jobs, 2 when a run could not be carried out.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import signal
import sys
from pathlib import Path

from bench import metrics
from bench.metrics import PROVIDERS
from bench.workload import BenchError, Params, run

SCALE_USERS = (50, 200, 800)


def _parser() -> argparse.ArgumentParser:
    defaults = Params()
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--provider", choices=PROVIDERS, default=defaults.provider,
                        help="the bot's PROVIDER, served by the simulator (default %(default)s)")
    parser.add_argument("--users", "-U", type=int, default=defaults.users,
                        help="users sending /video at the same moment (default %(default)s)")
    parser.add_argument("--jobs-per-user", "-J", type=int, default=defaults.jobs_per_user,
                        help="/video commands per user (default %(default)s)")
    parser.add_argument("--latency", "-L", type=float, default=defaults.latency,
                        help="simulated render time in seconds (default %(default)s)")
    parser.add_argument("--poll", "-P", type=float, default=defaults.poll,
                        help="poll interval in seconds, FLOW_POLL_INTERVAL, which every "
                             "provider polls at (default %(default)s)")
    parser.add_argument("--video-mb", "-S", type=float, default=defaults.video_mb,
                        help="size of every video in MiB (default %(default)s)")
    parser.add_argument("--baseline", action="store_true",
                        help="also run the workload through the seed guide's per-job client "
                             "(flow only)")
    parser.add_argument("--baseline-only", action="store_true",
                        help="run only the baseline client (no bot)")
    parser.add_argument("--scale", action="store_true",
                        help=f"run U = {', '.join(map(str, SCALE_USERS))} (ignores --users)")
    parser.add_argument("--timeout", type=float, default=defaults.timeout,
                        help="seconds one run may take before it is stopped (default "
                             "%(default)s); the bot is always stopped at the end")
    parser.add_argument("--profile", type=Path, default=None, metavar="FILE",
                        help="sample the bot (or baseline client) with py-spy into FILE "
                             "(.svg flame graph, .json speedscope, else collapsed stacks); with "
                             "several runs the client and U are added to the name")
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress on stderr")
    return parser


def _raise_fd_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


async def _run_all(plans: list[Params]) -> list[metrics.Record]:
    results = []
    for params in plans:
        results.append(await run(params))
    return results


def plans_from(args: argparse.Namespace) -> list[Params]:
    users = SCALE_USERS if args.scale else (args.users,)
    clients = (("baseline",) if args.baseline_only
               else ("bot", "baseline") if args.baseline else ("bot",))
    many = len(users) * len(clients) > 1
    for name in ("users", "jobs_per_user"):
        if getattr(args, name) < 1:
            raise SystemExit(f"--{name.replace('_', '-')} must be at least 1")
    if args.poll <= 0 or args.latency < 0 or args.video_mb < 0:
        raise SystemExit("--poll must be > 0, --latency and --video-mb >= 0")
    if "baseline" in clients and args.provider != "flow":
        raise SystemExit("--baseline drives the Flow proxy as the seed guide does: use it with "
                         "--provider flow")
    return [Params(users=u, jobs_per_user=args.jobs_per_user, latency=args.latency,
                   poll=args.poll, video_mb=args.video_mb, timeout=args.timeout, client=client,
                   provider=args.provider, verbose=not args.quiet,
                   profile=_profile_path(args.profile, client, u, many))
            for u in users for client in clients]


def _profile_path(path: Path | None, client: str, users: int, many: bool) -> Path | None:
    if path is None or not many:
        return path
    return path.with_name(f"{path.stem}-{client}-U{users}{path.suffix}")


def _growth(results: list[metrics.Record]) -> str | None:
    bots = {r["users"]: r for r in results if r["client"] == "bot"}
    if 200 not in bots or 800 not in bots:
        return None
    ratio = bots[800]["peak_rss_mb"] / max(bots[200]["peak_rss_mb"], 1e-9)
    verdict = "met" if ratio < 2 else "MISSED"
    return (f"target: peak_rss_mb grows < 2x from U=200 to U=800: {verdict} "
            f"({bots[200]['peak_rss_mb']} -> {bots[800]['peak_rss_mb']} MiB, x{ratio:.2f})")


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # unwinds the runs: each stops its child process on the way out


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    plans = plans_from(args)
    _raise_fd_limit()
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        results = asyncio.run(_run_all(plans))
    except BenchError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("bench: interrupted", file=sys.stderr)
        return 2
    print(metrics.format_table(results))
    for line in (metrics.polling_note(args.provider), _growth(results)):
        if line:
            print(line)
    for result in results:
        print(json.dumps(result, ensure_ascii=False), flush=True)
    complete = all(not r["timed_out"] and r["delivered"] == r["jobs"] for r in results)
    return 0 if complete else 1


if __name__ == "__main__":
    sys.exit(main())
