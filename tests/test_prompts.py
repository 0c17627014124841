"""Reading a command's prompt and aspect, and refusing empty or overlong prompts."""

from __future__ import annotations

import pytest

from bot import texts
from bot.jobs.model import Aspect, Options
from bot.telegram.prompts import ParsedPrompt, parse_command, parse_prompt, problem

LANDSCAPE, PORTRAIT = Aspect.LANDSCAPE, Aspect.PORTRAIT


@pytest.mark.parametrize(("message", "prompt", "aspect"), [
    ("/image a cute cat", "a cute cat", LANDSCAPE),
    ("/image@VeoBot a cute cat", "a cute cat", LANDSCAPE),
    ("/video 9:16 a dog surfing", "a dog surfing", PORTRAIT),
    ("/video@VeoBot 9:16 a dog surfing", "a dog surfing", PORTRAIT),
    ("/video portrait a dog", "a dog", PORTRAIT),
    ("/video PORTRAIT a dog", "a dog", PORTRAIT),
    ("/video --portrait a dog", "a dog", PORTRAIT),
    ("/video 16:9 a dog", "a dog", LANDSCAPE),
    ("/video landscape a dog", "a dog", LANDSCAPE),
    ("/video --landscape a dog", "a dog", LANDSCAPE),
    ("/image    a cat   ", "a cat", LANDSCAPE),
    ("  /image a cat", "a cat", LANDSCAPE),
    ("/video 9:16   a dog", "a dog", PORTRAIT),
])
def test_parse_command_reads_prompt_and_aspect(message: str, prompt: str, aspect: Aspect) -> None:
    assert parse_command(message) == ParsedPrompt(prompt, aspect)


@pytest.mark.parametrize("message", ["/image", "/image@VeoBot", "/image    ", "", "   ", None])
def test_parse_command_without_a_prompt_is_empty(message: str | None) -> None:
    assert parse_command(message) == ParsedPrompt("", LANDSCAPE)


@pytest.mark.parametrize("message", ["/video 9:16", "/video@VeoBot portrait", "/video 9:16   "])
def test_parse_command_with_only_an_aspect_is_empty_but_keeps_it(message: str) -> None:
    assert parse_command(message) == ParsedPrompt("", PORTRAIT)


def test_only_the_first_word_can_be_an_aspect() -> None:
    assert parse_command("/image a 9:16 poster") == ParsedPrompt("a 9:16 poster", LANDSCAPE)


def test_an_aspect_glued_to_a_word_is_part_of_the_prompt() -> None:
    assert parse_command("/image 9:16cat") == ParsedPrompt("9:16cat", LANDSCAPE)


def test_a_multi_line_prompt_is_kept_whole() -> None:
    assert parse_command("/image a cat\nin a hat") == ParsedPrompt("a cat\nin a hat", LANDSCAPE)


def test_a_prompt_may_start_with_a_slash_word() -> None:
    assert parse_command("/image /r/aww style cat") == ParsedPrompt("/r/aww style cat", LANDSCAPE)


def test_a_caption_command_is_read_like_a_text_command() -> None:
    assert parse_command("/animate@VeoBot 9:16 walks slowly") == ParsedPrompt("walks slowly",
                                                                              PORTRAIT)


def test_text_without_a_command_is_the_whole_prompt() -> None:
    assert parse_command("a cute cat") == ParsedPrompt("a cute cat", LANDSCAPE)


def test_an_aspect_on_its_own_line_is_recognised() -> None:
    assert parse_command("/video 9:16\na dog surfing") == ParsedPrompt("a dog surfing", PORTRAIT)


@pytest.mark.parametrize(("reply", "prompt", "aspect"), [
    ("walks slowly", "walks slowly", LANDSCAPE),
    ("9:16 walks slowly", "walks slowly", PORTRAIT),
    ("  walks slowly  ", "walks slowly", LANDSCAPE),
    ("", "", LANDSCAPE),
])
def test_parse_prompt_reads_a_reply_without_a_command(reply: str, prompt: str,
                                                      aspect: Aspect) -> None:
    assert parse_prompt(reply) == ParsedPrompt(prompt, aspect)


def test_problem_of_an_empty_prompt_is_empty() -> None:
    assert problem("", limit=100) == ("empty", {})


def test_problem_of_a_prompt_at_the_limit_is_none() -> None:
    assert problem("x" * 100, limit=100) is None


def test_problem_of_a_prompt_over_the_limit_gives_length_and_limit() -> None:
    assert problem("x" * 101, limit=100) == ("prompt_too_long", {"length": 101, "limit": 100})


def test_problem_counts_characters_not_bytes() -> None:
    assert problem("mèo dễ thương", limit=13) is None


def test_problem_key_formats_with_its_values() -> None:
    issue = problem("x" * 21, limit=20)
    assert issue is not None
    key, values = issue
    assert texts.text("en", key, **values) == (
        "That prompt has 21 characters; the limit is 20. Please shorten it.")


def test_options_follow_the_prompt() -> None:
    parsed = parse_command("/video 9:16 a dog surfing --neg blurry, text --seed 42 "
                           "--res 1080P --dur 8s")
    assert parsed.prompt == "a dog surfing" and parsed.error is None
    assert parsed.aspect is Aspect.PORTRAIT
    assert parsed.options == Options(negative_prompt="blurry, text", seed=42,
                                     resolution="1080p", duration=8)


@pytest.mark.parametrize(("text", "key"), [
    ("/video a dog --seed", "option_missing_value"),
    ("/video a dog --seed minus-one", "option_bad_seed"),
    ("/video a dog --dur forever", "option_bad_duration"),
    ("/video a dog --res 8k", "option_bad_resolution"),
])
def test_bad_options_are_named(text: str, key: str) -> None:
    parsed = parse_command(text)
    assert parsed.error is not None and parsed.error[0] == key


def test_missing_value_names_the_flag_as_typed() -> None:
    assert parse_command("/video a dog --neg").error == ("option_missing_value",
                                                        {"option": "--neg"})


@pytest.mark.parametrize(("word", "aspect"), [("1:1", Aspect.SQUARE), ("square", Aspect.SQUARE),
                                              ("4:3", Aspect.CLASSIC),
                                              ("3:4", Aspect.CLASSIC_PORTRAIT)])
def test_the_other_aspects_lead_the_prompt_too(word: str, aspect: Aspect) -> None:
    parsed = parse_command(f"/image {word} a round table --seed 3")
    assert (parsed.prompt, parsed.given_aspect, parsed.options) == (
        "a round table", aspect, Options(seed=3))
