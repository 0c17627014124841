"""Secrets never reach a text or a log: masking, registered secrets, token patterns, the filter."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from bot import redact as redact_module
from bot.redact import RedactingFilter, install_log_redaction, mask, redact, register_secret

GOOGLE = "ya29.a0AfH6SMBx.Secret_Token.Part-0123456789wxyz"
BOT_TOKEN = "123456789:ABHdqTcvCH1vGWJxfSeofSAs0K5PALDsawQ"
PROXY = "proxy-secret-5678"


@pytest.fixture(autouse=True)
def no_known_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(redact_module, "_known", set())


def test_mask_keeps_the_prefix_and_the_last_four() -> None:
    assert mask(GOOGLE) == "ya29.…wxyz"


def test_mask_of_a_short_secret_shows_nothing() -> None:
    assert mask("12345678") == "…"
    assert mask("") == "…"


def test_mask_without_a_dot_shows_only_the_last_four() -> None:
    assert mask("abcdefghijklmnop") == "…mnop"


def test_mask_caps_the_prefix_at_four_characters() -> None:
    assert mask("abcde.fghijklmnop") == "abcd.…mnop"


def test_mask_ignores_a_dot_past_the_sixth_character() -> None:
    assert mask("abcdefg.hijklmnop") == "…mnop"


def test_redact_masks_a_google_token() -> None:
    out = redact(f"Authorization failed for {GOOGLE}, retrying")
    assert GOOGLE not in out
    assert out == "Authorization failed for ya29.…wxyz, retrying"


def test_redact_masks_every_google_token() -> None:
    other = "ya29.c0ANOTHER.token_abcdef9876"
    out = redact(f"{GOOGLE} and {other}")
    assert out == "ya29.…wxyz and ya29.…9876"


def test_redact_masks_a_telegram_bot_token() -> None:
    out = redact(f"token={BOT_TOKEN} end")
    assert out == "token=…sawQ end"


def test_redact_masks_a_telegram_bot_token_inside_a_bot_api_url() -> None:
    out = redact(f"POST https://api.telegram.org/bot{BOT_TOKEN}/sendMessage")
    assert out == "POST https://api.telegram.org/bot…sawQ/sendMessage"


def test_redact_masks_a_bearer_value_and_keeps_the_word() -> None:
    out = redact("authorization: BEARER abcdefghijkl0000")
    assert out == "authorization: BEARER …0000"


def test_redact_leaves_ordinary_text_alone() -> None:
    text = "job 12 (video) failed: Google answered 400: Request contains an invalid argument."
    assert redact(text) == text


def test_redact_is_idempotent() -> None:
    once = redact(f"Bearer {GOOGLE} {BOT_TOKEN} bearer {PROXY}")
    assert redact(once) == once


def test_registered_secret_is_masked_anywhere() -> None:
    register_secret(PROXY)
    out = redact(f"url?token={PROXY}&x=1")
    assert PROXY not in out
    assert out == "url?token=…5678&x=1"


def test_short_or_missing_secrets_are_not_registered() -> None:
    register_secret("abc12")
    register_secret("")
    register_secret(None)
    assert redact("abc12 is fine") == "abc12 is fine"
    assert redact_module._known == set()


def test_a_configured_secret_of_any_shape_is_registered_but_not_a_missing_one() -> None:
    register_secret("abc12", configured=True)
    register_secret("not-a-token", configured=True)
    register_secret("", configured=True)
    register_secret(None, configured=True)
    assert redact("abc12 is not-a-token") == "… is …oken"
    assert redact_module._known == {"abc12", "not-a-token"}


def test_longer_registered_secret_is_masked_before_its_prefix() -> None:
    register_secret("secret-abc")
    register_secret("secret-abc-LONGER-tail")
    out = redact("x secret-abc-LONGER-tail y")
    assert out == "x …tail y"


@pytest.fixture
def log() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    handler.addFilter(RedactingFilter())
    logger = logging.getLogger("tests.redact.capture")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    yield logger, stream
    logger.removeHandler(handler)


def test_filter_redacts_a_token_in_the_message_args(
        log: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = log
    logger.info("calling Google with %s (attempt %d)", GOOGLE, 2)
    assert stream.getvalue() == "INFO calling Google with ya29.…wxyz (attempt 2)\n"


def test_filter_redacts_a_token_in_an_exception_traceback(
        log: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = log
    try:
        raise RuntimeError(f"upstream said: invalid token {GOOGLE}")
    except RuntimeError:
        logger.exception("request failed for %s", GOOGLE)
    output = stream.getvalue()
    assert GOOGLE not in output
    assert "Secret_Token" not in output
    assert "Traceback (most recent call last)" in output
    assert "RuntimeError: upstream said: invalid token ya29.…wxyz" in output
    assert output.startswith("ERROR request failed for ya29.…wxyz\n")


def test_filter_redacts_registered_secrets_and_bot_tokens(
        log: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = log
    register_secret(PROXY)
    logger.warning("proxy %s, bot %s", PROXY, BOT_TOKEN)
    assert PROXY not in stream.getvalue() and BOT_TOKEN not in stream.getvalue()


def test_filter_keeps_percent_signs_after_freezing_the_message(
        log: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = log
    logger.info("progress %s", "50% done")
    assert stream.getvalue() == "INFO progress 50% done\n"


def test_filter_freezes_the_record_so_every_handler_sees_the_masked_text() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "token %s", (GOOGLE,), None)
    assert RedactingFilter().filter(record) is True
    assert record.args is None
    assert record.getMessage() == "token ya29.…wxyz"


def test_install_log_redaction_adds_one_filter_per_root_handler(
        monkeypatch: pytest.MonkeyPatch) -> None:
    handler = logging.StreamHandler(io.StringIO())
    monkeypatch.setattr(logging.getLogger(), "handlers", [handler])
    install_log_redaction()
    install_log_redaction()
    assert sum(isinstance(f, RedactingFilter) for f in handler.filters) == 1
