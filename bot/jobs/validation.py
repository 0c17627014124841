"""The one rule for what a job may ask, shared by every front (the chat and `generate`): a prompt
that is blank or too long, and option values (seed, duration, resolution) out of range.

The limits that are settings (`PROMPT_MAX_CHARS`) are passed in; a problem comes back as a key of
`bot.texts` and its values, so each front words it in its own way.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.jobs.model import Options

RESOLUTIONS = ("360p", "720p", "1080p", "4k")  #: the provider refuses those its model lacks
MAX_SEED = 2**32 - 1
MAX_DURATION = 60  #: seconds; the model may still refuse lengths it does not make

#: A key of `bot.texts` and the values it is formatted with.
Problem = tuple[str, dict[str, Any]]


def prompt_problem(prompt: str, *, limit: int) -> Problem | None:
    """What is wrong with a prompt (`empty`, `prompt_too_long`), or None when it is fine."""
    if not prompt.strip():
        return "empty", {}
    if len(prompt) > limit:
        return "prompt_too_long", {"length": len(prompt), "limit": limit}
    return None


def read_options(raw: Mapping[str, str | None]) -> tuple[Options, Problem | None]:
    """Option values as a user typed them (`seed="42"`, `duration="8s"`, `resolution="1080P"`,
    `negative_prompt=...`) → `Options`, or the first value that is out of range."""
    seed, duration, resolution = raw.get("seed"), raw.get("duration"), raw.get("resolution")
    if seed is not None and not (seed.isdigit() and int(seed) <= MAX_SEED):
        return Options(), ("option_bad_seed", {"value": seed, "max": MAX_SEED})
    if duration is not None:
        seconds = duration.strip().lower().removesuffix("s")
        if not (seconds.isdigit() and 1 <= int(seconds) <= MAX_DURATION):
            return Options(), ("option_bad_duration", {"value": duration, "max": MAX_DURATION})
        duration = seconds
    if resolution is not None and resolution.lower() not in RESOLUTIONS:
        return Options(), ("option_bad_resolution", {"value": resolution})
    return Options(
        negative_prompt=raw.get("negative_prompt") or None,
        seed=int(seed) if seed is not None else None,
        resolution=resolution.lower() if resolution else None,
        duration=int(duration) if duration is not None else None,
    ), None


def unsupported(options: Options, supported: frozenset[str]) -> frozenset[str]:
    """The names of the options that are set but that the provider would drop."""
    return options.named() - supported
