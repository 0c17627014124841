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
        return parse_prompt(parts[1] if len(parts) > 1 else "")
    return parse_prompt((text or "").strip())


def parse_prompt(rest: str) -> ParsedPrompt:
    head = rest.split(maxsplit=1)
    first = head[0] if head else ""
    tail = head[1] if len(head) > 1 else ""
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
