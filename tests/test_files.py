"""The sweep of old files beside the database: old ones go, recent ones and the ones an
unfinished job names stay."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from bot.jobs.files import keep_sweeping, named_by, sweep
from bot.jobs.model import Aspect, ExtraImage, Job, JobKind, JobState

DAY = 86400.0
NOW = 1_800_000_000.0


def _file(folder: Path, name: str, age_days: float) -> Path:
    path = folder / name
    path.write_bytes(b"x")
    os.utime(path, (NOW - age_days * DAY, NOW - age_days * DAY))
    return path


def _job(**fields: object) -> Job:
    return Job(1, 1, 1, JobKind.ANIMATE, "p", Aspect.LANDSCAPE, JobState.QUEUED, 0.0,
               0.0).replace(**fields)


def test_old_files_go_and_recent_or_needed_ones_stay(tmp_path: Path) -> None:
    old = _file(tmp_path, "job-1.png", 8)
    recent = _file(tmp_path, "job-2.png", 1)
    needed = _file(tmp_path, "upload-a.jpg", 30)
    extra = _file(tmp_path, "upload-b.jpg", 30)
    (tmp_path / "gemini").mkdir()
    inner = _file(tmp_path / "gemini", "parked.mp4", 30)
    keep = named_by([_job(source_path=str(needed),
                          extra_images=(ExtraImage(source_path=str(extra)),))])
    assert sweep(tmp_path, older_than=7 * DAY, now=NOW, keep=keep) == 1
    assert not old.exists()
    assert recent.exists() and needed.exists() and extra.exists() and inner.exists()


def test_a_missing_folder_sweeps_nothing(tmp_path: Path) -> None:
    assert sweep(tmp_path / "none", older_than=DAY, now=NOW, keep=set()) == 0


async def test_the_sweeping_loop_sweeps_at_once_and_spares_what_is_needed(tmp_path: Path) -> None:
    old, needed = tmp_path / "old.png", tmp_path / "needed.png"
    for path in (old, needed):
        path.write_bytes(b"x")
        os.utime(path, (1.0, 1.0))  # 1970: older than any limit

    async def still_needed() -> set[Path]:
        return {needed.resolve()}

    task = asyncio.create_task(keep_sweeping(tmp_path, older_than=DAY, every=3600,
                                             needed=still_needed))
    for _ in range(100):
        if not old.exists():
            break
        await asyncio.sleep(0.01)
    task.cancel()
    assert not old.exists() and needed.exists()
