"""The process under test (the real bot, or the baseline client): start, measure, stop."""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import os
import shutil
import signal
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from bot.config import Settings

ROOT = Path(__file__).resolve().parent.parent
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
_LIVE: set[Child] = set()


@atexit.register
def _kill_leftovers() -> None:
    """Whatever happened to the bench, no child outlives it."""
    for child in list(_LIVE):
        child.kill_now()


@dataclass(frozen=True)
class ProcStats:
    """Read from /proc: peak resident memory (VmHWM) and CPU time (user + system)."""

    peak_rss_mb: float
    rss_mb: float
    cpu_s: float


def read_stats(pid: int) -> ProcStats:
    """VmHWM/VmRSS of /proc/<pid>/status and utime+stime of /proc/<pid>/stat (all threads)."""
    status = Path(f"/proc/{pid}/status").read_text()
    values = {}
    for line in status.splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmHWM", "VmRSS"):
            values[key] = int(rest.split()[0]) / 1024  # kB -> MiB
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2:].split()  # after "pid (comm) "; field 3 is fields[0]
    utime, stime = int(fields[11]), int(fields[12])  # fields 14 and 15 of proc(5)
    return ProcStats(round(values.get("VmHWM", 0.0), 1), round(values.get("VmRSS", 0.0), 1),
                     round((utime + stime) / _CLOCK_TICKS, 2))


def clean_env(extra: Mapping[str, str]) -> dict[str, str]:
    """This process's environment without any of the bot's settings, plus `extra`."""
    settings = {name.upper() for name in Settings.model_fields}
    env = {key: value for key, value in os.environ.items() if key.upper() not in settings}
    env.update(extra)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


class Child:
    """A Python child process (`python -m <module>`), its stderr kept in a file."""

    def __init__(self, module: str, args: list[str], *, env: Mapping[str, str], cwd: Path,
                 log_path: Path) -> None:
        self.module = module
        self.args = args
        self.env = dict(env)
        self.cwd = cwd
        self.log_path = log_path
        self.process: asyncio.subprocess.Process | None = None
        self.last_stats: ProcStats | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None, "not started"
        return self.process.pid

    async def start(self) -> None:
        with self.log_path.open("wb") as log:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", self.module, *self.args, cwd=self.cwd, env=self.env,
                stdin=asyncio.subprocess.DEVNULL, stdout=log, stderr=log)
        _LIVE.add(self)

    def running(self) -> bool:
        return self.process is not None and self.process.returncode is None

    def stats(self) -> ProcStats:
        self.last_stats = read_stats(self.pid)
        return self.last_stats

    async def stop(self, *, grace: float = 15.0) -> int | None:
        """SIGTERM (the bot stops gracefully on it), then SIGKILL after `grace` seconds."""
        process = self.process
        if process is None or process.returncode is not None:
            _LIVE.discard(self)
            return None if process is None else process.returncode
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
        try:
            return await asyncio.wait_for(process.wait(), grace)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            return await process.wait()
        finally:
            _LIVE.discard(self)

    def kill_now(self) -> None:
        """Last-resort cleanup from synchronous code (an error path, atexit)."""
        process = self.process
        if process is not None and process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.kill()

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


class Profiler:
    """py-spy sampling the measured process while the workload runs (`--profile FILE`)."""

    FORMATS: ClassVar[dict[str, str]] = {".svg": "flamegraph", ".json": "speedscope",
                                         ".txt": "raw"}

    def __init__(self, output: Path) -> None:
        self.output = output
        self.process: asyncio.subprocess.Process | None = None

    @staticmethod
    def executable() -> str | None:
        beside = Path(sys.executable).parent / "py-spy"
        return str(beside) if beside.exists() else shutil.which("py-spy")

    async def start(self, pid: int) -> None:
        exe = self.executable()
        if exe is None:
            raise RuntimeError("--profile needs py-spy: pip install py-spy")
        fmt = self.FORMATS.get(self.output.suffix, "raw")
        self.process = await asyncio.create_subprocess_exec(
            exe, "record", "--pid", str(pid), "--rate", "200", "--nonblocking",
            "--format", fmt, "--output", str(self.output),
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL)

    async def stop(self) -> None:
        """SIGINT makes py-spy write its output; the target keeps running."""
        process = self.process
        if process is None or process.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGINT)
        try:
            await asyncio.wait_for(process.wait(), 30)
        except TimeoutError:
            process.kill()
            await process.wait()
