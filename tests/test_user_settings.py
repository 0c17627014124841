"""Each user's /settings defaults: the store on a real SQLite file, and what a job and the
settings message take of them for each provider."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiosqlite
import pytest

from bot import texts
from bot.jobs.model import COMMON_ASPECTS, Aspect, JobKind, Options, ProviderName
from bot.providers.catalog import Api, Cost, Kind, ModelInfo, Platform
from bot.telegram.settings import (
    CALLBACK,
    MAX_CALLBACK,
    MENUS,
    Choices,
    JobDefaults,
    choices_of,
    defaults_for,
    main_keyboard,
    menu_keyboard,
    model_label,
    platform_of,
    summary,
    value_of,
)
from storage.db import connect
from storage.user_settings import UserSettings, UserSettingsStore

BIG_ID = 2**52  # Telegram's ids fit in 52 bits


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[aiosqlite.Connection]:
    connection = await connect(tmp_path / "bot.sqlite3")
    yield connection
    await connection.close()


# --- the store -------------------------------------------------------------------------------

async def test_a_user_without_settings_has_none(db: aiosqlite.Connection) -> None:
    store = UserSettingsStore(db)
    assert await store.load() == 0
    assert store.get(1) == UserSettings() and store.get(1).empty
    assert store.language(1) is None


async def test_set_saves_one_field_at_a_time_and_survives_a_reload(
        db: aiosqlite.Connection) -> None:
    store = UserSettingsStore(db, clock=lambda: 1_700_000_000.0)
    await store.set(1, "aspect", Aspect.PORTRAIT)
    await store.set(1, "video_model", "veo-3.1-lite")
    await store.set(1, "duration", 6)
    await store.set(1, "resolution", "1080p")
    changed = await store.set(1, "language", "vi")
    expected = UserSettings(Aspect.PORTRAIT, "veo-3.1-lite", 6, "1080p", "vi")
    assert changed == expected == store.get(1)
    fresh = UserSettingsStore(db)
    assert await fresh.load() == 1
    assert fresh.get(1) == expected and fresh.language(1) == "vi"
    assert fresh.get(2) == UserSettings()


async def test_none_clears_a_field_and_reset_forgets_the_user(db: aiosqlite.Connection) -> None:
    store = UserSettingsStore(db)
    await store.set(1, "aspect", Aspect.SQUARE)
    await store.set(1, "duration", 8)
    await store.set(2, "language", "en")
    assert await store.set(1, "aspect", None) == UserSettings(duration=8)
    await store.reset(1)
    assert store.get(1) == UserSettings()
    fresh = UserSettingsStore(db)
    assert await fresh.load() == 1
    assert fresh.get(1) == UserSettings() and fresh.get(2) == UserSettings(language="en")


async def test_only_known_fields_can_be_set(db: aiosqlite.Connection) -> None:
    with pytest.raises(ValueError, match="no setting named"):
        await UserSettingsStore(db).set(1, "updated_at; DROP TABLE jobs", 1)


async def test_an_aspect_no_longer_known_reads_as_unset(db: aiosqlite.Connection) -> None:
    await db.execute("INSERT INTO user_settings (user_id, aspect, duration, updated_at) "
                     "VALUES (1, 'panorama', 6, 0)")
    await db.commit()
    store = UserSettingsStore(db)
    await store.load()
    assert store.get(1) == UserSettings(duration=6)


# --- what a provider offers --------------------------------------------------------------------

class FakeProvider:
    """The attributes of a `Provider` that /settings reads."""

    def __init__(self, name: ProviderName, *, aspects: frozenset[Aspect], video_model: str,
                 supported: frozenset[str]) -> None:
        self.name = name
        self.aspects = aspects
        self.video_model = video_model
        self.supported_options = supported


USEAPI = FakeProvider(ProviderName.USEAPI, aspects=frozenset(Aspect), video_model="veo-3.1-fast",
                      supported=frozenset({"seed", "duration"}))
OMNI = FakeProvider(ProviderName.GEMINI, aspects=COMMON_ASPECTS,
                    video_model="gemini-omni-1.1-flash",
                    supported=frozenset({"resolution", "duration"}))
FLOW = FakeProvider(ProviderName.FLOW, aspects=COMMON_ASPECTS, video_model="veo_3_1_t2v_fast",
                    supported=frozenset({"seed"}))


def useapi() -> Choices:
    return choices_of(USEAPI, Platform.USEAPI)  # type: ignore[arg-type]


def omni() -> Choices:
    return choices_of(OMNI, Platform.DEVELOPER)  # type: ignore[arg-type]


def flow() -> Choices:
    return choices_of(FLOW, Platform.FLOW)  # type: ignore[arg-type]


def test_each_provider_offers_its_own_aspects_and_current_models() -> None:
    assert useapi().aspects == tuple(Aspect)
    assert [info.name for info in useapi().models] == [
        "veo-3.1-fast", "veo-3.1-lite", "veo-3.1-lite-low-priority", "veo-3.1-quality",
        "omni-flash", "omni-flash-1.2"]
    assert omni().aspects == (Aspect.LANDSCAPE, Aspect.PORTRAIT)
    assert [info.name for info in omni().models] == ["gemini-omni-1.1-flash",
                                                     "gemini-omni-1.2-flash"]
    vertex = choices_of(OMNI, Platform.AGENT_PLATFORM)  # type: ignore[arg-type]
    assert {"veo-3.1-fast-generate-001", "veo-3.1-generate-001"} <= {
        info.name for info in vertex.models}
    assert flow().models == ()  # flow's models are fixed by the provider


def test_durations_and_resolutions_are_the_models_where_the_provider_takes_them() -> None:
    assert useapi().durations("veo-3.1-fast") == (4, 6, 8)
    assert useapi().durations("veo-3.1-quality") == (8,)
    assert useapi().resolutions("veo-3.1-fast") == ()  # useapi.net takes no resolution
    assert omni().durations("gemini-omni-1.1-flash") == tuple(range(3, 11))
    assert omni().resolutions("gemini-omni-1.1-flash") == ("360p", "720p", "1080p", "4k")
    assert flow().durations("veo_3_1_t2v_fast") == ()
    assert flow().resolutions("veo_3_1_t2v_fast") == ()


def test_platforms_of_the_providers() -> None:
    assert platform_of(ProviderName.GEMINI, vertex=False) is Platform.DEVELOPER
    assert platform_of(ProviderName.GEMINI, vertex=True) is Platform.AGENT_PLATFORM
    assert platform_of(ProviderName.USEAPI, vertex=True) is Platform.USEAPI
    assert platform_of(ProviderName.FLOW, vertex=False) is Platform.FLOW


# --- what a job takes ------------------------------------------------------------------------

EVERYTHING = UserSettings(Aspect.PORTRAIT, "veo-3.1-lite", 6, "1080p", "vi")


def test_a_video_takes_every_default_its_provider_and_model_can_make() -> None:
    assert defaults_for(EVERYTHING, useapi(), JobKind.VIDEO) == JobDefaults(
        Aspect.PORTRAIT, "veo-3.1-lite", 6, None)  # useapi.net takes no resolution
    omni_user = UserSettings(Aspect.PORTRAIT, "gemini-omni-1.2-flash", 6, "1080p")
    assert defaults_for(omni_user, omni(), JobKind.ANIMATE) == JobDefaults(
        Aspect.PORTRAIT, "gemini-omni-1.2-flash", 6, "1080p")


def test_an_image_takes_the_aspect_only() -> None:
    assert defaults_for(EVERYTHING, useapi(), JobKind.IMAGE) == JobDefaults(Aspect.PORTRAIT)


def test_what_the_provider_cannot_make_is_ignored() -> None:
    square = UserSettings(Aspect.SQUARE, "veo-3.1-lite", 6, "1080p")
    assert defaults_for(square, omni(), JobKind.VIDEO) == JobDefaults(
        duration=6, resolution="1080p")  # Omni: no 1:1, no useapi model; 6 s and 1080p fit
    assert defaults_for(square, flow(), JobKind.VIDEO) == JobDefaults()


def test_a_duration_the_chosen_model_does_not_make_is_ignored() -> None:
    quality = UserSettings(video_model="veo-3.1-quality", duration=6)
    assert defaults_for(quality, useapi(), JobKind.VIDEO) == JobDefaults(
        model="veo-3.1-quality")


def test_the_configured_model_is_no_model_of_the_jobs_own() -> None:
    assert defaults_for(UserSettings(video_model="veo-3.1-fast"), useapi(),
                        JobKind.VIDEO).model is None


def test_a_commands_own_options_beat_the_defaults() -> None:
    defaults = JobDefaults(duration=6, resolution="1080p")
    assert defaults.options(Options(seed=1)) == Options(seed=1, resolution="1080p", duration=6)
    assert defaults.options(Options(duration=8)) == Options(resolution="1080p", duration=8)
    assert JobDefaults().options(Options(duration=8)) == Options(duration=8)


# --- the message -----------------------------------------------------------------------------

def _lines(saved: UserSettings, choices: Choices, language: str = "en") -> list[str]:
    return summary(language, saved, choices, telegram_language="en")


def test_the_summary_shows_defaults_values_and_what_is_not_available() -> None:
    assert _lines(UserSettings(), useapi()) == [
        "Aspect: default (16:9)", "Video model: default (veo-3.1-fast)",
        "Duration: default (the model's own)", "Language: from Telegram (English)"]
    assert _lines(EVERYTHING, useapi()) == [
        "Aspect: 9:16", "Video model: veo-3.1-lite", "Duration: 6 s",
        "Resolution: 1080p (not available here, so the model's own is used)",
        "Language: Tiếng Việt"]
    assert _lines(UserSettings(Aspect.SQUARE, "veo-3.1-lite"), flow()) == [
        "Aspect: 1:1 (not available here, so 16:9 is used)",
        "Video model: veo-3.1-lite (not available here, so veo_3_1_t2v_fast is used)",
        "Language: from Telegram (English)"]
    assert _lines(UserSettings(), omni(), "vi")[0] == "Tỉ lệ khung hình: mặc định (16:9)"


def _data(markup: object) -> list[str]:
    rows = markup.inline_keyboard  # type: ignore[attr-defined]
    return [button.callback_data for row in rows for button in row]


def _labels(markup: object) -> list[str]:
    rows = markup.inline_keyboard  # type: ignore[attr-defined]
    return [button.text for row in rows for button in row]


def test_the_main_keyboard_offers_only_what_the_provider_has() -> None:
    assert _data(main_keyboard("en", 7, UserSettings(), useapi())) == [
        "set:7:a", "set:7:m", "set:7:d", "set:7:l", "set:7:reset"]
    assert _data(main_keyboard("en", 7, UserSettings(), omni())) == [
        "set:7:a", "set:7:m", "set:7:d", "set:7:r", "set:7:l", "set:7:reset"]
    assert _data(main_keyboard("en", 7, UserSettings(), flow())) == [
        "set:7:a", "set:7:l", "set:7:reset"]


def test_a_menu_marks_the_current_value() -> None:
    saved = UserSettings(aspect=Aspect.PORTRAIT)
    assert _labels(menu_keyboard("en", 7, "a", saved, omni())) == [
        "16:9", "✓ 9:16", "Default", "« Back"]
    assert _data(menu_keyboard("en", 7, "a", saved, omni())) == [
        "set:7:a:landscape", "set:7:a:portrait", "set:7:a:-", "set:7:home"]
    assert _labels(menu_keyboard("en", 7, "l", UserSettings(), omni())) == [
        "English", "Tiếng Việt", "✓ From Telegram", "« Back"]


def test_model_buttons_show_the_cost_where_the_catalog_knows_it() -> None:
    def info(cost: Cost | None) -> ModelInfo:
        return ModelInfo("veo-x", "useapi", Kind.VIDEO, Api.USEAPI,
                         frozenset({Platform.USEAPI}), cost=cost)

    assert model_label("en", info(Cost(credits=1000)), "veo-3.1-fast") == "veo-x · 1,000 credits"
    assert model_label("vi", info(Cost(credits=1000)), "x") == "veo-x · 1.000 tín dụng"
    assert model_label("en", info(Cost(credits=0)), "veo-x") == "veo-x · free (default)"
    assert model_label("en", info(Cost(price="$0.10 per second")), "x") == (
        "veo-x · $0.10 per second")
    assert model_label("en", info(None), "x") == "veo-x"


@pytest.mark.parametrize("choices", [useapi, omni, flow], ids=["useapi", "omni", "flow"])
def test_every_button_fits_telegrams_64_bytes_and_the_handlers_pattern(choices: object) -> None:
    offered = choices()  # type: ignore[operator]
    saved = UserSettings(video_model=offered.configured)
    keyboards = [main_keyboard("vi", BIG_ID, saved, offered),
                 *(menu_keyboard("vi", BIG_ID, menu, saved, offered) for menu in MENUS)]
    for data in (item for keyboard in keyboards for item in _data(keyboard)):
        assert len(data.encode()) <= MAX_CALLBACK and CALLBACK.match(data), data


def test_only_an_offered_value_is_saved() -> None:
    saved = UserSettings()
    assert value_of("a", "portrait", saved, omni()) == (True, Aspect.PORTRAIT)
    assert value_of("a", "square", saved, omni()) == (False, None)
    assert value_of("d", "6", saved, useapi()) == (True, 6)
    assert value_of("d", "5", saved, useapi()) == (False, None)
    assert value_of("m", "veo-3.1-lite", saved, useapi()) == (True, "veo-3.1-lite")
    assert value_of("m", "veo-3.1-lite", saved, flow()) == (False, None)
    assert value_of("l", "vi", saved, flow()) == (True, "vi")
    assert value_of("r", "-", saved, omni()) == (True, None)


def test_the_settings_texts_exist_in_both_languages() -> None:
    keys = [key for key in texts.EN if key.startswith("settings_")]
    assert len(keys) > 20 and all(key in texts.VI for key in keys)
