"""Reading a command's prompt and options out of a message text; `bot.jobs.validation` checks it.

    /video 9:16 a dog surfing --neg blurry, text --seed 42 --res 1080p --dur 8

The aspect (`9:16`, `16:9`, `1:1`, `4:3`, `3:4`, `portrait`, `landscape`, `square`) may lead
the prompt; options follow it.
`--ref` anywhere asks for the pictures as references rather than frames.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from bot.jobs.model import Aspect, Options
from bot.jobs.validation import Problem, prompt_problem, read_options

_PORTRAIT = frozenset({"9:16", "portrait", "--portrait"})
_LANDSCAPE = frozenset({"16:9", "landscape", "--landscape"})
#: the first word → the aspect it names
_LEADING = {**dict.fromkeys(_PORTRAIT, Aspect.PORTRAIT), **dict.fromkeys(_LANDSCAPE,
            Aspect.LANDSCAPE), "1:1": Aspect.SQUARE, "square": Aspect.SQUARE,
            "4:3": Aspect.CLASSIC, "3:4": Aspect.CLASSIC_PORTRAIT}
_REFERENCES = frozenset({"--ref", "--refs", "--references"})
_OPTION_NAMES = {"--seed": "seed", "--neg": "negative_prompt", "--negative": "negative_prompt",
                 "--res": "resolution", "--resolution": "resolution", "--dur": "duration",
                 "--duration": "duration"}


@dataclass(frozen=True)
class ParsedPrompt:
    prompt: str
    aspect: Aspect  #: the command's aspect, else LANDSCAPE (see `given_aspect`)
    options: Options = field(default_factory=Options)
    error: Problem | None = None  #: an option that could not be read
    references: bool = False  #: `--ref`: the pictures are references, not frames
    #: whether the command named its aspect (else a user's saved default may replace it); not
    #: compared: two parses of the same job are equal
    aspect_given: bool = field(default=False, compare=False)

    @property
    def given_aspect(self) -> Aspect | None:
        """The aspect the command named, or None when it named none."""
        return self.aspect if self.aspect_given else None


def parse_command(text: str | None) -> ParsedPrompt:
    """`/video 9:16 a dog surfing` → ("a dog surfing", PORTRAIT); the command word is dropped."""
    parts = (text or "").strip().split(maxsplit=1)
    if parts and parts[0].startswith("/"):
        return parse_prompt(parts[1] if len(parts) > 1 else "")
    return parse_prompt((text or "").strip())


def parse_prompt(rest: str) -> ParsedPrompt:
    body, references = _without_flag(rest.strip(), _REFERENCES)
    parsed = _parse_prompt(body)
    return dataclasses.replace(parsed, references=True) if references else parsed


def _without_flag(body: str, flags: frozenset[str]) -> tuple[str, bool]:
    """The text without any of these flags (its line breaks kept when there is none)."""
    words = body.split()
    kept = [word for word in words if word.lower() not in flags]
    return (body, False) if len(kept) == len(words) else (" ".join(kept), True)


def _parse_prompt(body: str) -> ParsedPrompt:
    aspect: Aspect | None = None
    head = body.split(maxsplit=1)
    if head and head[0].lower() in _LEADING:
        aspect = _LEADING[head[0].lower()]
        body = head[1].strip() if len(head) > 1 else ""
    words = body.split()
    if "--portrait" in (w.lower() for w in words):
        aspect = Aspect.PORTRAIT
        words = [w for w in words if w.lower() != "--portrait"]
        body = " ".join(words)
    chosen, given = aspect or Aspect.LANDSCAPE, aspect is not None
    start = next((i for i, w in enumerate(words) if w.lower() in _OPTION_NAMES), None)
    if start is None:
        return ParsedPrompt(body, chosen, aspect_given=given)  # keeps the prompt's own line breaks
    raw, error = _read_options(words[start:])
    options, value_error = read_options(raw)
    return ParsedPrompt(" ".join(words[:start]), chosen, options, error or value_error,
                        aspect_given=given)


def _read_options(words: list[str]) -> tuple[dict[str, str], Problem | None]:
    raw: dict[str, str] = {}
    typed: dict[str, str] = {}  # option name → the flag as the user wrote it
    name: str | None = None
    for word in words:
        if word.lower() in _OPTION_NAMES:
            name = _OPTION_NAMES[word.lower()]
            raw[name], typed[name] = "", word
        elif name is not None:
            raw[name] = f"{raw[name]} {word}".strip()
    missing = [typed[key] for key, value in raw.items() if not value]
    if missing:
        return raw, ("option_missing_value", {"option": missing[0]})
    return raw, None


def problem(prompt: str, *, limit: int) -> Problem | None:
    """The text key (and values) of what is wrong with a prompt, or None when it is fine."""
    return prompt_problem(prompt, limit=limit)
