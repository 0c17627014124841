"""The files beside the database: what is kept, and the sweep that removes what is old.

Kept on purpose: a picture a provider made (a later job may hand it to another provider as
bytes) and a user's photo (Again uploads it again on a fallback). Both are swept once they are
`FILES_KEEP_DAYS` old, unless an unfinished job still names them; a job whose file is gone uses
the upstream's handle it already has, and only loses the move to another provider.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path

from bot.jobs.model import Job

logger = logging.getLogger(__name__)


def named_by(jobs: Iterable[Job]) -> set[Path]:
    """Every file these jobs still need."""
    paths = set()
    for job in jobs:
        for path in (job.file_path, job.source_path,
                     *(extra.source_path for extra in job.extra_images)):
            if path:
                paths.add(Path(path).resolve())
    return paths


def sweep(folder: Path, *, older_than: float, now: float, keep: set[Path]) -> int:
    """Remove the files of `folder` (not its sub-folders) last written before
    `now - older_than`, except those in `keep`; return how many went."""
    removed = 0
    if not folder.is_dir():
        return 0
    for path in folder.iterdir():
        try:
            if not path.is_file() or path.resolve() in keep:
                continue
            if path.stat().st_mtime < now - older_than:
                path.unlink()
                removed += 1
        except OSError as exc:  # vanished meanwhile, or not ours to remove: next sweep
            logger.warning("could not sweep %s: %s", path.name, exc)
    return removed


async def keep_sweeping(folder: Path, *, older_than: float, every: float,
                        needed: Callable[[], Awaitable[set[Path]]]) -> None:
    """Now and every `every` seconds: the old files no unfinished job needs go."""
    while True:
        try:
            removed = await asyncio.to_thread(sweep, folder, older_than=older_than,
                                              now=time.time(), keep=await needed())
            if removed:
                logger.info("removed %d files older than %.0f days", removed, older_than / 86400)
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("sweeping old files failed; trying again later")
        await asyncio.sleep(every)
