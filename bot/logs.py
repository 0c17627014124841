"""Logging set-up: one format, tokens redacted on every handler, `httpx` kept at WARNING."""

from __future__ import annotations

import logging

from bot.redact import install_log_redaction


def setup_logging(level: str = "INFO") -> None:
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # httpx logs every request URL at INFO, and Telegram URLs contain the bot token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    install_log_redaction()
