"""The model catalog: every row of upstream-2026.md's retirement table, the defaults of the
configuration contract, the start-up check and the sentence a retired model's job ends with."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from bot import config, texts
from bot.config import Settings
from bot.jobs.errors import ErrorCode, ModelRetired
from bot.jobs.model import Action
from bot.providers import catalog
from bot.providers.catalog import Api, Kind, Platform

DEV, AGENT = Platform.DEVELOPER, Platform.AGENT_PLATFORM


def settings(**values: Any) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.mark.parametrize(("model", "on", "replacement", "platform"), [
    ("veo-3.1-generate-preview", date(2026, 10, 22), "gemini-omni-1.1-flash", DEV),
    ("veo-3.1-fast-generate-preview", date(2026, 10, 22), "gemini-omni-1.1-flash", DEV),
    ("veo-3.1-lite-generate-preview", date(2026, 10, 22), "gemini-omni-1.1-flash", DEV),
    ("veo-2.0-generate-001", date(2026, 6, 30), "gemini-omni-1.1-flash", DEV),
    ("veo-3.0-fast-generate-001", date(2026, 6, 30), "veo-3.1-fast-generate-001", AGENT),
    ("veo-3.0-generate-preview", date(2026, 6, 30), "gemini-omni-1.1-flash", DEV),
    ("gemini-2.5-flash-image", date(2026, 10, 2), "gemini-3.1-flash-image", DEV),
    ("imagen-4.0-generate-001", date(2026, 8, 17), "gemini-3.1-flash-image", DEV),
    ("imagen-4.0-ultra-generate-001", date(2026, 8, 17), "gemini-3.1-flash-image", AGENT),
    ("imagen-4.0-fast-generate-001", date(2026, 8, 17), "gemini-3.1-flash-image", DEV),
    ("gemini-omni-flash-preview", date(2026, 9, 30), "gemini-omni-1.1-flash", DEV),
])
def test_every_retirement_of_the_table(model: str, on: date, replacement: str,
                                       platform: Platform) -> None:
    row = catalog.lookup("gemini", model)
    assert row is not None and row.provider == "gemini"
    kind = row.kind
    found = catalog.problem("gemini", model, kind, platform, catalog.gemini_variable(kind))
    assert found is not None
    assert (found.retired_on, found.replacement) == (on, replacement)
    assert found.sentence == (f"The {kind} model {model} was retired by Google on "
                              f"{on.isoformat()}; the operator should set "
                              f"{catalog.gemini_variable(kind)}={replacement}")


@pytest.mark.parametrize(("model", "kind", "api", "options"), [
    ("gemini-omni-1.1-flash", Kind.VIDEO, Api.INTERACTIONS, {"resolution", "duration"}),
    ("gemini-omni-1.2-flash", Kind.VIDEO, Api.INTERACTIONS, {"resolution", "duration"}),
    ("veo-3.1-fast-generate-001", Kind.VIDEO, Api.PREDICT_LONG_RUNNING,
     {"negative_prompt", "seed", "resolution", "duration"}),
    ("veo-3.1-generate-001", Kind.VIDEO, Api.PREDICT_LONG_RUNNING,
     {"negative_prompt", "seed", "resolution", "duration"}),
    ("veo-3.1-lite-generate-001", Kind.VIDEO, Api.PREDICT_LONG_RUNNING,
     {"negative_prompt", "seed", "resolution", "duration"}),
    ("gemini-3.1-flash-image", Kind.IMAGE, Api.GENERATE_CONTENT, {"seed"}),
    ("gemini-3-pro-image", Kind.IMAGE, Api.GENERATE_CONTENT, {"seed"}),
    ("gemini-3.1-flash-lite-image", Kind.IMAGE, Api.GENERATE_CONTENT, {"seed"}),
])
def test_current_gemini_models(model: str, kind: Kind, api: Api, options: set[str]) -> None:
    row = catalog.lookup("gemini", model)
    assert row is not None and (row.kind, row.api, set(row.options)) == (kind, api, options)
    assert row.retired is None


def test_omni_takes_neither_seed_nor_negative_prompt_and_veo_takes_both() -> None:
    omni = catalog.lookup("gemini", "gemini-omni-1.1-flash")
    veo = catalog.lookup("gemini", "veo-3.1-fast-generate-001")
    assert omni is not None and veo is not None
    assert not {"seed", "negative_prompt"} & omni.options
    assert {"seed", "negative_prompt"} <= veo.options
    assert omni.resolutions == ("360p", "720p", "1080p", "4k") and 8 in omni.durations
    assert veo.durations == (4, 6, 8) and veo.resolutions == ("720p", "1080p")


@pytest.mark.parametrize("model", ["nano-banana-2-lite", "nano-banana-2", "nano-banana-pro",
                                   "veo-3.1-fast", "veo-3.1-lite", "veo-3.1-lite-low-priority",
                                   "veo-3.1-quality", "omni-flash", "omni-flash-1.2"])
def test_useapi_models_have_their_rows(model: str) -> None:
    row = catalog.lookup("useapi", model)
    assert row is not None and row.api is Api.USEAPI
    assert row.kind is (Kind.IMAGE if model.startswith("nano") else Kind.VIDEO)


def test_flow_model_keys_have_their_rows() -> None:
    for key in ("GEM_PIX_2", "veo_3_1_t2v_fast", "veo_3_1_t2v_fast_portrait",
                "veo_3_0_r2v_fast_ultra"):
        row = catalog.lookup("flow", key)
        assert row is not None and row.api is Api.FLOW


def test_lookup_is_per_provider_and_reads_resource_names() -> None:
    assert catalog.lookup("gemini", "veo-3.1-fast") is None  # a useapi name
    assert catalog.lookup("useapi", "veo-3.1-fast-generate-001") is None
    row = catalog.lookup("gemini", "models/gemini-3-pro-image")
    assert row is not None and row.name == "gemini-3-pro-image"
    assert catalog.lookup("gemini", "gemini-9-unknown") is None


def test_names_are_unique_per_provider() -> None:
    keys = [(row.provider, row.name) for row in catalog.MODELS]
    assert len(keys) == len(set(keys))


def test_retirements_name_current_replacements() -> None:
    for row in catalog.MODELS:
        if row.retired is None:
            continue
        for platform in row.retired.where:
            replacement = catalog.lookup(row.provider, row.retired.replacement_on(platform))
            assert replacement is not None and replacement.retired is None, row.name
            assert platform in replacement.platforms and replacement.kind is row.kind


@pytest.mark.parametrize(("model", "api"), [
    ("gemini-omni-1.2-flash", Api.INTERACTIONS),
    ("gemini-omni-9-flash", Api.INTERACTIONS),  # unknown: by its family
    ("veo-3.1-generate-001", Api.PREDICT_LONG_RUNNING),
    ("veo-4.0-generate-001", Api.PREDICT_LONG_RUNNING),
])
def test_video_api_by_catalog_or_family(model: str, api: Api) -> None:
    assert catalog.video_api(model) is api


# the configuration contract


def test_config_defaults_are_current_catalog_rows() -> None:
    assert config.GEMINI_IMAGE_MODEL == catalog.DEFAULT_IMAGE
    assert catalog.DEFAULT_VIDEO[DEV] == config.GEMINI_VIDEO_MODEL
    assert catalog.DEFAULT_VIDEO[AGENT] == config.GEMINI_VERTEX_VIDEO_MODEL
    for platform in (DEV, AGENT):
        for kind in Kind:
            name = catalog.default_model(kind, platform)
            assert catalog.problem("gemini", name, kind, platform, "X") is None
            assert catalog.lookup("gemini", name) is not None


def test_the_video_default_depends_on_the_api() -> None:
    assert settings().gemini_video_model == "gemini-omni-1.1-flash"
    assert settings(gemini_vertex=True).gemini_video_model == "veo-3.1-fast-generate-001"
    assert settings(gemini_vertex=True, gemini_video_model="gemini-omni-1.2-flash"
                    ).gemini_video_model == "gemini-omni-1.2-flash"
    assert settings().gemini_image_model == "gemini-3.1-flash-image"


def test_model_settings_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GEMINI_VIDEO_MODEL", " models/gemini-omni-1.2-flash ")
    monkeypatch.setenv("GEMINI_IMAGE_MODEL", "")
    read = settings()
    assert read.gemini_video_model == "gemini-omni-1.2-flash"
    assert read.gemini_image_model == "gemini-3.1-flash-image"


# the start-up check


def test_current_defaults_have_no_problem() -> None:
    assert catalog.retired_settings(settings()) == []
    assert catalog.retired_settings(settings(gemini_vertex=True)) == []


def test_retired_settings_names_each_retired_model() -> None:
    problems = catalog.retired_settings(settings(
        gemini_video_model="veo-3.1-fast-generate-preview",
        gemini_image_model="gemini-2.5-flash-image"))
    assert [(p.variable, p.model, p.replacement, p.retired_on) for p in problems] == [
        ("GEMINI_IMAGE_MODEL", "gemini-2.5-flash-image", "gemini-3.1-flash-image",
         date(2026, 10, 2)),
        ("GEMINI_VIDEO_MODEL", "veo-3.1-fast-generate-preview", "gemini-omni-1.1-flash",
         date(2026, 10, 22)),
    ]
    assert problems[1].sentence == (
        "The video model veo-3.1-fast-generate-preview was retired by Google on 2026-10-22; the "
        "operator should set GEMINI_VIDEO_MODEL=gemini-omni-1.1-flash")


def test_retired_settings_names_a_model_not_served_on_its_api() -> None:
    [problem] = catalog.retired_settings(settings(gemini_video_model="veo-3.1-generate-001"))
    assert problem.retired_on is None and problem.replacement == "gemini-omni-1.1-flash"
    assert "not served on the Gemini Developer API" in problem.sentence


def test_retirement_can_be_per_platform() -> None:
    """The table retires the Veo 3.1 previews and gemini-2.5-flash-image on the Gemini API."""
    vertex = settings(gemini_vertex=True, gemini_video_model="veo-3.1-fast-generate-preview",
                      gemini_image_model="gemini-2.5-flash-image")
    assert catalog.retired_settings(vertex) == []
    [problem] = catalog.retired_settings(settings(gemini_vertex=True,
                                                  gemini_image_model="imagen-4.0-generate-001"))
    assert problem.retired_on == date(2026, 8, 17)


# the job's error and the user's sentence


def test_a_retired_model_error_renders_the_sentence_in_both_languages() -> None:
    found = catalog.problem("gemini", "veo-3.1-fast-generate-preview", Kind.VIDEO, DEV,
                            "GEMINI_VIDEO_MODEL")
    assert found is not None
    error = catalog.retired_error(found)
    assert isinstance(error, ModelRetired) and error.code is ErrorCode.MODEL_RETIRED
    assert str(error) == found.sentence
    assert texts.error_sentence("en", error.code, error.detail) == (
        "The video model veo-3.1-fast-generate-preview was retired by Google on 2026-10-22; the "
        "operator should set GEMINI_VIDEO_MODEL=gemini-omni-1.1-flash.")
    assert texts.error_sentence("vi", error.code, error.detail) == (
        "Mô hình video veo-3.1-fast-generate-preview đã bị Google ngừng cung cấp từ ngày "
        "2026-10-22; người quản lý nên đặt GEMINI_VIDEO_MODEL=gemini-omni-1.1-flash.")


def test_a_gone_model_error_has_no_date() -> None:
    error = catalog.gone_error("gemini-2.9-image", Kind.IMAGE, DEV, "GEMINI_IMAGE_MODEL")
    assert error.retired_on is None and "retired=" not in error.detail
    assert texts.error_sentence("en", error.code, error.detail) == (
        "The image model gemini-2.9-image is no longer available at Google; the operator should "
        "set GEMINI_IMAGE_MODEL=gemini-3.1-flash-image.")
    assert texts.error_sentence("vi", error.code, error.detail).startswith("Mô hình ảnh")


def test_a_retired_detail_that_cannot_be_read_still_gets_a_sentence() -> None:
    sentence = texts.error_sentence("en", "model_retired", "something else")
    assert sentence.startswith("The model this bot is set to use was retired by Google")


def test_which_upscales_a_result_of_each_resolution_may_have() -> None:
    up_1080, up_4k = Action.UPSCALE_1080P, Action.UPSCALE_4K
    assert catalog.upscales_from("gemini", None) == {up_1080, up_4k}  # Omni's 720p default
    assert catalog.upscales_from("gemini", "360p") == {up_1080}
    assert catalog.upscales_from("gemini", "1080p") == set()
    assert catalog.upscales_from("useapi", None) == {up_1080, up_4k}
    assert catalog.upscales_from("useapi", "1080p") == {up_4k}
    assert catalog.upscales_from("useapi", "4k") == set()
