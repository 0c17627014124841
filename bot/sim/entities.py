"""Telegram's parse modes (HTML, MarkdownV2, legacy Markdown) as the fake Bot API checks them.

`parse_entities` returns the plain text and a signature of the formatting (to tell a real edit
from "message is not modified"), or raises `EntityError` with Telegram's "can't parse entities"
description.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import Any


class EntityError(ValueError):
    """The text does not parse in its parse_mode; the message is Telegram's description."""


_HTML_TAGS = frozenset({
    "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler", "a",
    "code", "pre", "blockquote", "tg-emoji",
})
_TAG_RE = re.compile(r"<(/?)([^\s>/]*)([^>]*)>")
_MD2_RESERVED = frozenset("_*[]()~`>#+-=|{}.!")
Parsed = tuple[str, tuple[Any, ...]]


def parse_entities(text: str, parse_mode: Any) -> Parsed:
    """Plain text and an entity signature, or Telegram's "can't parse entities" error."""
    mode = str(parse_mode or "").lower()
    if mode == "html":
        return _parse_html(text)
    if mode == "markdownv2":
        return _parse_markdown_v2(text)
    if mode == "markdown":
        return _parse_markdown(text)
    if mode:
        raise EntityError("unsupported parse_mode")
    return text, ()


def _entity_error(text: str, index: int, problem: str) -> EntityError:
    offset = len(text[:index].encode())
    return EntityError(f"can't parse entities: {problem.format(offset=offset)}")


def _parse_html(text: str) -> Parsed:
    plain: list[str] = []
    marks: list[tuple[str, int]] = []
    stack: list[str] = []
    size = pos = 0
    while (start := text.find("<", pos)) >= 0:
        chunk = html.unescape(text[pos:start])
        plain.append(chunk)
        size += len(chunk)
        match = _TAG_RE.match(text, start)
        if match is None:
            raise _entity_error(text, start, "Unclosed start tag at byte offset {offset}")
        _check_html_tag(text, start, match, stack)
        marks.append((match[0], size))
        pos = match.end()
    if stack:
        raise EntityError(f'can\'t parse entities: Can\'t find end tag corresponding to start '
                          f'tag "{stack[-1]}"')
    plain.append(html.unescape(text[pos:]))
    return "".join(plain), tuple(marks)


def _check_html_tag(text: str, start: int, match: re.Match[str], stack: list[str]) -> None:
    closing, name = match[1] == "/", match[2].lower()
    if name not in _HTML_TAGS:
        kind = "end" if closing else "start"
        raise _entity_error(text, start, f'Unsupported {kind} tag "{name}" at byte offset '
                                         '{offset}')
    if not closing:
        stack.append(name)
    elif stack and stack[-1] == name:
        stack.pop()
    else:
        expected = f', expected "</{stack[-1]}>", found "</{name}>"' if stack else ""
        raise _entity_error(text, start, "Unmatched end tag at byte offset {offset}" + expected)


@dataclass
class _Md2State:
    text: str
    plain: list[str] = field(default_factory=list)
    marks: list[tuple[str, int]] = field(default_factory=list)
    stack: list[tuple[str, int]] = field(default_factory=list)
    i: int = 0

    def emit(self, chars: str) -> None:
        self.plain.append(chars)

    def toggle(self, token: str) -> None:
        self.marks.append((token, len(self.plain)))
        if self.stack and self.stack[-1][0] == token:
            self.stack.pop()
        elif any(open_token == token for open_token, _ in self.stack):
            raise _entity_error(self.text, self.i,
                                f"Can't find end of {token} entity at byte offset {{offset}}")
        else:
            self.stack.append((token, self.i))
        self.i += len(token)


def _parse_markdown_v2(text: str) -> Parsed:
    state = _Md2State(text)
    while state.i < len(text):
        top = state.stack[-1][0] if state.stack else ""
        if top in ("`", "```"):
            _md2_code_step(state, top)
        else:
            _md2_step(state)
    if state.stack:
        token, index = state.stack[-1]
        raise _entity_error(text, index, f"Can't find end of {token} entity at byte offset "
                                         "{offset}")
    return "".join(state.plain), tuple(state.marks)


def _md2_code_step(state: _Md2State, top: str) -> None:
    text, i = state.text, state.i
    if text[i] == "\\" and i + 1 < len(text):
        state.emit(text[i + 1])
        state.i += 2
    elif text.startswith(top, i):
        state.toggle(top)
    else:
        state.emit(text[i])
        state.i += 1


def _md2_step(state: _Md2State) -> None:
    text, i = state.text, state.i
    char = text[i]
    if char == "\\" and i + 1 < len(text):
        state.emit(text[i + 1])
        state.i += 2
        return
    for token in ("```", "||", "__", "*", "_", "~", "`"):
        if text.startswith(token, i):
            state.toggle(token)
            if token == "```" and state.stack and state.stack[-1][0] == "```":
                language = re.match(r"[^\s`]*\n", text[state.i:])
                state.i += language.end() if language else 0
            return
    if char == ">" and (i == 0 or text[i - 1] == "\n"):
        state.marks.append((">", len(state.plain)))
        state.i += 1
    elif char == "[" or text.startswith("![", i):
        state.stack.append(("[", i))
        state.marks.append(("[", len(state.plain)))
        state.i += 1 if char == "[" else 2
    elif char == "]" and state.stack and state.stack[-1][0] == "[":
        _md2_close_link(state)
    elif char in _MD2_RESERVED:
        raise _entity_error(text, i, f"Character '{char}' is reserved and must be escaped "
                                     "with the preceding '\\'")
    else:
        state.emit(char)
        state.i += 1


def _md2_close_link(state: _Md2State) -> None:
    match = re.compile(r"\]\(((?:[^)\\]|\\.)*)\)").match(state.text, state.i)
    if match is None:
        _, index = state.stack[-1]
        raise _entity_error(state.text, index, "Can't find end of a URL at byte offset {offset}")
    state.stack.pop()
    state.marks.append((match[1], len(state.plain)))
    state.i = match.end()


def _parse_markdown(text: str) -> Parsed:
    """Legacy Markdown: *bold*, _italic_, `code`, ```pre```, [text](url); no nesting."""
    plain: list[str] = []
    marks: list[tuple[str, int]] = []
    i = 0
    while i < len(text):
        link = re.compile(r"\[([^\]]*)\]\(([^)]*)\)").match(text, i)
        marker = "```" if text.startswith("```", i) else text[i]
        if text[i] == "\\" and i + 1 < len(text) and text[i + 1] in "_*`[":
            plain.append(text[i + 1])
            i += 2
        elif link is not None:
            marks.append((link[2], len(plain)))
            plain.append(link[1])
            i = link.end()
        elif marker in ("```", "*", "_", "`"):
            end = text.find(marker, i + len(marker))
            if end < 0:
                raise _entity_error(text, i, "Can't find end of the entity starting at byte "
                                             "offset {offset}")
            marks.append((marker, len(plain)))
            plain.append(text[i + len(marker):end])
            i = end + len(marker)
        else:
            plain.append(text[i])
            i += 1
    return "".join(plain), tuple(marks)
