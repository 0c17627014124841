"""Every sentence exists in both languages and formats; failure codes have their own sentence."""

from __future__ import annotations

import string

import pytest

from bot import texts
from bot.jobs import errors
from bot.jobs.errors import Interrupted
from bot.jobs.model import JobKind, JobState
from bot.jobs.notifier import DeliveryFailed
from bot.texts import EN, VI, duration, error_sentence, language_of, text

#: Failure codes the engine stores besides the error classes' codes.
ENGINE_CODES = ("interrupted", "internal", "delivery_failed", "lost")
#: Codes that never reach `error_sentence`: the abstract base class is never raised, and a
#: too-large result is delivered as a link with its own "too_large" text.
NOT_SENTENCES = frozenset({errors.UpstreamError.code, errors.ResultTooLarge.code})


def error_codes() -> list[str]:
    codes = {cls.code for cls in vars(errors).values()
             if isinstance(cls, type) and issubclass(cls, errors.UpstreamError)}
    return sorted(codes - NOT_SENTENCES)


def placeholders(template: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(template) if field is not None}


def test_english_and_vietnamese_have_the_same_keys() -> None:
    assert set(EN) - set(VI) == set()
    assert set(VI) - set(EN) == set()


@pytest.mark.parametrize("key", sorted(EN))
def test_both_languages_use_the_same_placeholders(key: str) -> None:
    assert placeholders(EN[key]) == placeholders(VI[key])


@pytest.mark.parametrize(("lang", "key"), [(lang, key) for lang in ("en", "vi")
                                            for key in sorted(EN)])
def test_every_text_formats_with_its_placeholders(lang: str, key: str) -> None:
    table = texts.TEXTS[lang]
    names = placeholders(table[key])
    assert all(name.isidentifier() for name in names), "positional or indexed placeholder"
    values = {name: f"<{name}>" for name in names}
    formatted = text(lang, key, **values)
    for value in values.values():
        assert value in formatted


def test_the_error_codes_list_is_not_empty() -> None:
    assert {"unavailable", "rate_limited", "captcha", "auth_expired", "quota", "unsafe",
            "timeout"} <= set(error_codes())


@pytest.mark.parametrize("code", [*error_codes(), *ENGINE_CODES])
@pytest.mark.parametrize("lang", ["en", "vi"])
def test_every_failure_code_has_its_own_sentence(lang: str, code: str) -> None:
    assert f"error_{code}" in texts.TEXTS[lang]
    sentence = error_sentence(lang, code, "some detail")
    assert sentence != error_sentence(lang, "no_such_code", "some detail")


def test_engine_codes_match_the_engine_classes() -> None:
    assert Interrupted.code in ENGINE_CODES
    assert DeliveryFailed.code in ENGINE_CODES


def test_too_large_has_its_own_link_text() -> None:
    assert placeholders(EN["too_large"]) == {"url"}
    assert "https://x/v.mp4" in text("vi", "too_large", url="https://x/v.mp4")


def test_unknown_code_falls_back_to_the_unknown_sentence_with_the_detail() -> None:
    assert error_sentence("en", "brand_new", "boom") == (
        "Something went wrong (boom). Please try again.")


def test_missing_code_falls_back_to_the_unknown_sentence() -> None:
    assert error_sentence("en", None, None) == "Something went wrong (). Please try again."


def test_error_sentence_starts_with_a_capital() -> None:
    assert error_sentence("en", "auth_expired", None).startswith("The service refused the bot")
    assert error_sentence("vi", "auth_expired", None).startswith("Dịch vụ đã từ chối token")


def test_error_sentence_inserts_the_detail_without_its_final_period() -> None:
    sentence = error_sentence("en", "generation_failed", "  Too much motion.  ")
    assert sentence == "Google could not generate it (Too much motion). Try another prompt."


def test_error_sentence_speaks_vietnamese() -> None:
    assert error_sentence("vi", "quota", None) == (
        "Tài khoản Google đã hết hạn mức. Hãy thử lại sau.")


def test_text_in_an_unknown_language_is_english() -> None:
    assert text("fr", "cancel_done", id=3) == "Job #3 is cancelled."


def test_text_missing_in_a_language_falls_back_to_english(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(VI, "cancel_done")
    assert text("vi", "cancel_done", id=3) == "Job #3 is cancelled."


@pytest.mark.parametrize("state", list(JobState))
def test_every_job_state_has_a_name(state: JobState) -> None:
    assert f"state_{state.value}" in EN


@pytest.mark.parametrize("kind", list(JobKind))
def test_every_job_kind_has_a_name(kind: JobKind) -> None:
    assert f"kind_{kind.value}" in EN


@pytest.mark.parametrize(("code", "expected"), [
    (None, "en"),
    ("", "en"),
    ("en", "en"),
    ("en-US", "en"),
    ("vi", "vi"),
    ("vi-VN", "vi"),
    ("VI", "vi"),
    ("fr", "en"),
    ("pt-br", "en"),
])
def test_language_of_picks_a_language_we_speak(code: str | None, expected: str) -> None:
    assert language_of(code) == expected


@pytest.mark.parametrize(("seconds", "expected"), [
    (-5, "0s"),
    (0, "0s"),
    (0.9, "0s"),
    (42, "42s"),
    (59.99, "59s"),
    (60, "1m 00s"),
    (185, "3m 05s"),
    (3599, "59m 59s"),
    (3600, "1h 00m"),
    (7800, "2h 10m"),
    (86399, "23h 59m"),
    (86400, "1d"),
    (3 * 86400 + 5000, "3d"),
])
def test_duration_is_short_and_readable(seconds: float, expected: str) -> None:
    assert duration(seconds) == expected


def test_numbers_are_grouped_the_way_each_language_writes_them() -> None:
    assert (texts.number("en", 1234567), texts.number("vi", 1234567)) == ("1,234,567", "1.234.567")
