"""Logging set-up: one format, tokens redacted on every handler, `httpx` kept at WARNING, and
tracebacks only at DEBUG (below it a logged exception shows as its last line)."""

from __future__ import annotations

import logging
from typing import TextIO

from bot.redact import install_log_redaction

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
TRACEBACK_HINT = "--debug or LOG_LEVEL=DEBUG shows the traceback"


class CompactFormatter(logging.Formatter):
    """With `tracebacks=False` a record's exception is shown as its last line (`Type: message`)
    and a hint, instead of a traceback a user cannot act on."""

    def __init__(self, fmt: str = FORMAT, *, tracebacks: bool) -> None:
        super().__init__(fmt)
        self.tracebacks = tracebacks

    def format(self, record: logging.LogRecord) -> str:
        if self.tracebacks or not (record.exc_info or record.exc_text):
            return super().format(record)
        # The redacting filter has already turned the exception into redacted `exc_text`.
        text = record.exc_text or (self.formatException(record.exc_info)
                                   if record.exc_info else "")
        last = next((line.strip() for line in reversed(text.splitlines()) if line.strip()), "")
        saved = record.exc_info, record.exc_text
        record.exc_info, record.exc_text = None, None
        try:
            line = super().format(record)
        finally:
            record.exc_info, record.exc_text = saved
        return f"{line} ({last}; {TRACEBACK_HINT})"


class _StderrHandler(logging.StreamHandler[TextIO]):
    """The handler `setup_logging` adds (so a second call finds and adjusts it)."""


def setup_logging(level: str = "INFO") -> None:
    root = logging.getLogger()
    root.setLevel(level.upper())
    if not root.handlers:
        root.addHandler(_StderrHandler())
    tracebacks = root.isEnabledFor(logging.DEBUG)
    for handler in root.handlers:
        if isinstance(handler, _StderrHandler):
            handler.setFormatter(CompactFormatter(tracebacks=tracebacks))
    # httpx logs every request URL at INFO, and Telegram URLs contain the bot token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    logging.captureWarnings(True)  # warnings go through the handlers, hence through redaction
    install_log_redaction()
