"""Reading a command's prompt and options out of a message text, and checking it."""

from __future__ import annotations

from dataclasses import dataclass

from bot.jobs.model import Aspect

_PORTRAIT = frozenset({"9:16", "portrait", "--portrait"})
_LANDSCAPE = frozenset({"16:9", "landscape", "--landscape"})


@dataclass(frozen=True)
class ParsedPrompt:
    prompt: str
    aspect: Aspect


def parse_command(text: str | None) -> ParsedPrompt:
    """`/video 9:16 a dog surfing` → ("a dog surfing", PORTRAIT); the command word is dropped."""
    parts = (text or "").strip().split(maxsplit=1)
    if parts and parts[0].startswith("/"):
        parts = parts[1:]
    return parse_prompt(parts[0].strip() if parts else "")


def parse_prompt(rest: str) -> ParsedPrompt:
    first, _, tail = rest.partition(" ")
    if first.lower() in _PORTRAIT:
        return ParsedPrompt(tail.strip(), Aspect.PORTRAIT)
    if first.lower() in _LANDSCAPE:
        return ParsedPrompt(tail.strip(), Aspect.LANDSCAPE)
    return ParsedPrompt(rest.strip(), Aspect.LANDSCAPE)


def problem(prompt: str, *, limit: int) -> tuple[str, dict[str, int]] | None:
    """The text key (and values) of what is wrong with a prompt, or None when it is fine."""
    if not prompt:
        return "empty", {}
    if len(prompt) > limit:
        return "prompt_too_long", {"length": len(prompt), "limit": limit}
    return None
