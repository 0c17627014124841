"""Masks secrets in any text: known secret values, Google `ya29.` tokens and bot tokens.

A logging filter applies it to every log record, so a token cannot reach the log even through a
third-party library's message or an exception text.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading

_PATTERNS = (
    re.compile(r"ya29\.[A-Za-z0-9_.\-]+"),
    re.compile(r"(?<!\d)\d{6,12}:[A-Za-z0-9_\-]{30,}"),  # Telegram bot tokens, also in URLs
    re.compile(r"(?i)(bearer\s+)([A-Za-z0-9_.\-]{12,})"),
    # The arguments of the secret commands, as they appear in a logged update (before the
    # handler could register them): `/cookie <value>`, `/login … cookie=<value> proxy=<value>`.
    re.compile(r"(/(?:token|proxytoken|cookie|login)(?:@\w+)?)((?:[ \t]+[^\s\"'\\,}…]+)+)"),
    re.compile(r"\b((?:token|cookie|proxy)=)([^\s\"'\\,&}…]+)"),
)
MIN_LENGTH = 6
_known: set[str] = set()
_lock = threading.Lock()


def mask(secret: str) -> str:
    """`ya29.…abcd`: the prefix up to the first dot (at most 5 chars), an ellipsis, the last 4."""
    if len(secret) <= 8:
        return "…"
    head = secret.split(".", 1)[0][:4] + "." if "." in secret[:6] else ""
    return f"{head}…{secret[-4:]}"


def register_secret(value: str | None, *, configured: bool = False) -> None:
    """Remember a secret value so that `redact` masks it wherever it appears.

    A `configured` secret (the operator's settings) counts whatever its length or shape: a
    malformed token (`not-a-token`) is exactly the one a library quotes back in an error message.
    Other values (a user's `/login`) count from `MIN_LENGTH` characters, so that nobody can have
    a letter masked in every log line."""
    if value and (configured or len(value) >= MIN_LENGTH):
        with _lock:
            _known.add(value)


def redact(text: str) -> str:
    for secret in sorted(_known, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, mask(secret))
    text = _PATTERNS[0].sub(lambda m: mask(m.group(0)), text)
    text = _PATTERNS[1].sub(lambda m: mask(m.group(0)), text)
    text = _PATTERNS[2].sub(lambda m: m.group(1) + mask(m.group(2)), text)
    text = _PATTERNS[3].sub(lambda m: m.group(1) + " …", text)
    return _PATTERNS[4].sub(lambda m: m.group(1) + mask(m.group(2)), text)


class RedactingFilter(logging.Filter):
    """Formats the record once, redacts it, and freezes the result into `msg`."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        record.msg, record.args = redact(message), None
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


def install_log_redaction() -> None:
    """Attach the filter to every handler of the root logger (call after logging is set up)."""
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())


def fingerprint(token: str) -> str:
    """A short, one-way name for a token: safe to keep on errors, in logs and to compare."""
    return hashlib.sha256(token.encode()).hexdigest()[:16]
