"""Every model the bot knows, per provider: what it makes, how it is called, which options it
honours, and for a retired one the date and what replaces it (upstream-2026.md, section 1).

A job on a retired model fails before any request with `ModelRetired`; `retired_settings` tells
the app at start-up which configured models are retired (or not served where they are
configured). The defaults of `bot.config` (the configuration contract) are rows of this table;
`tests/test_catalog.py` keeps the two in step.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import TYPE_CHECKING

from bot.jobs.errors import ModelRetired
from bot.jobs.model import Action, JobKind

if TYPE_CHECKING:
    from bot.config import Settings

class Kind(StrEnum):
    IMAGE = "image"
    VIDEO = "video"


class Api(StrEnum):
    """How a model is called."""

    INTERACTIONS = "interactions"  #: `POST …/interactions` + `GET …/interactions/{id}` (Omni)
    GENERATE_CONTENT = "generate_content"  #: `models/{model}:generateContent` (image models)
    PREDICT_LONG_RUNNING = "predict_long_running"  #: `:predictLongRunning` + poll (Veo)
    PREDICT = "predict"  #: Imagen `:predict` (every Imagen 4 is retired; the bot has no path)
    FLOW = "flow"  #: Google Labs Flow REST through a captcha proxy (the seed's protocol)
    USEAPI = "useapi"  #: the useapi.net gateway driving the user's own Flow account


class Platform(StrEnum):
    """Where a model is served; the Gemini provider is on one of the first two per deploy."""

    DEVELOPER = "developer"  #: Gemini Developer API (generativelanguage.googleapis.com)
    AGENT_PLATFORM = "agent_platform"  #: Agent Platform, ex-Vertex AI (GEMINI_VERTEX=true)
    FLOW = "flow"
    USEAPI = "useapi"


GOOGLE = frozenset({Platform.DEVELOPER, Platform.AGENT_PLATFORM})
DEVELOPER_ONLY = frozenset({Platform.DEVELOPER})
AGENT_ONLY = frozenset({Platform.AGENT_PLATFORM})

#: Option names are the fields of `bot.jobs.model.Options`.
OMNI_OPTIONS = frozenset({"resolution", "duration"})  #: no seed, no negative prompt
VEO_OPTIONS = frozenset({"negative_prompt", "seed", "resolution", "duration"})
IMAGE_OPTIONS = frozenset({"seed"})  #: generationConfig.seed
OMNI_DURATIONS = tuple(range(3, 11))  #: "1.1 takes about 3–10 s", sent as "Ns"
OMNI_12_DURATIONS = tuple(range(3, 16))  #: 1.2 makes videos of up to 15 s
OMNI_RESOLUTIONS = ("360p", "720p", "1080p", "4k")
VEO_DURATIONS = (4, 6, 8)
VEO_RESOLUTIONS = ("720p", "1080p")

#: The current defaults (the configuration contract in DESIGN.md; `bot.config` holds the same).
DEFAULT_IMAGE = "gemini-3.1-flash-image"
DEFAULT_VIDEO = {Platform.DEVELOPER: "gemini-omni-1.1-flash",
                 Platform.AGENT_PLATFORM: "veo-3.1-fast-generate-001"}


@dataclass(frozen=True)
class Retirement:
    """When Google retired a model, where, and what the operator should set instead."""

    on: date
    replacement: str  #: on the Gemini Developer API (or the provider's only platform)
    where: frozenset[Platform] = GOOGLE
    agent_platform: str | None = None  #: the replacement on Agent Platform when it differs

    def replacement_on(self, platform: Platform) -> str:
        if platform is Platform.AGENT_PLATFORM and self.agent_platform:
            return self.agent_platform
        return self.replacement


@dataclass(frozen=True)
class Cost:
    """What one generation costs, as its upstream states it: Flow credits, or a price."""

    credits: int | None = None
    price: str | None = None  #: e.g. "$0.10 per second at 720p"

    @property
    def free(self) -> bool:
        return self.credits == 0 and self.price is None


#: What a button under a result does on each provider (the model's own `actions` say whether
#: it is offered); absent: costs what a generation of the model costs. useapi.net: "1080p
#: upscaling is free. 4K upscaling currently costs 50 credits" (POST /videos/upscale); images,
#: and so their upscales, cost no Flow credits.
ACTION_COSTS: dict[tuple[str, Action], Cost] = {
    ("useapi", Action.UPSCALE_1080P): Cost(credits=0),
    ("useapi", Action.UPSCALE_4K): Cost(credits=50),
    ("useapi", Action.UPSCALE_2K): Cost(credits=0),
    # Agent Platform's "Upscale videos" page: no input tokens; output video tokens at the
    # model's usual price, per second, by source and target (a 720p result is the default).
    ("gemini", Action.UPSCALE_1080P): Cost(
        price="2,896 output video tokens per second (720p to 1080p)"),
    ("gemini", Action.UPSCALE_4K): Cost(
        price="11,584 output video tokens per second (720p to 4K)"),
}
#: How long an upstream keeps a result an extend or upscale can start from, where it says
#: (seconds); a button on an older result gets a sentence instead of a request.
RESULT_RETENTION: dict[str, float] = {
    "gemini": 48 * 3600.0,  #: "Files live 48 hours" (the Gemini API's files)
}
#: The upscales a result of this resolution may have (None: the model's default resolution).
#: Omni (Agent Platform's "Upscale videos"): 360p → 720p or 1080p, 720p → 1080p or 4K, nothing
#: from 1080p; elsewhere only a higher resolution makes sense.
_UPSCALES_FROM: dict[str, dict[str | None, frozenset[Action]]] = {
    "gemini": {None: frozenset({Action.UPSCALE_1080P, Action.UPSCALE_4K}),
               "360p": frozenset({Action.UPSCALE_1080P}),
               "720p": frozenset({Action.UPSCALE_1080P, Action.UPSCALE_4K})},
}
_HIGHER_THAN = {"1080p": frozenset({Action.UPSCALE_4K}), "4k": frozenset()}
ALL_UPSCALES = frozenset({Action.UPSCALE_1080P, Action.UPSCALE_4K})
#: Actions that spend more than a usual generation: the user confirms them once.
COSTLY_ACTIONS = frozenset({Action.UPSCALE_4K})
VIDEO_ACTIONS = frozenset({Action.AGAIN, Action.EXTEND, Action.UPSCALE_1080P, Action.UPSCALE_4K})
AGAIN_ONLY = frozenset({Action.AGAIN})
#: Omni 1.1 extends (its GA added video extension); only 1.2 upscales (Agent Platform's "Upscale
#: videos" page lists gemini-omni-1.2-flash alone), from a 720p result to 1080p or 4K.
OMNI_EXTENDS = frozenset({Action.AGAIN, Action.EXTEND})
#: The actions that upscale a video, and the target each asks for.
VIDEO_UPSCALES = {Action.UPSCALE_1080P: "1080p", Action.UPSCALE_4K: "4k"}


@dataclass(frozen=True)
class ModelInfo:
    """One row: `name` is an exact id, or a family when it ends in `*`."""

    name: str
    provider: str  #: "gemini", "flow" or "useapi"
    kind: Kind
    api: Api
    platforms: frozenset[Platform]
    options: frozenset[str] = frozenset()  #: the `Options` fields it honours
    durations: tuple[int, ...] = ()  #: seconds it accepts (videos); empty: not checked here
    resolutions: tuple[str, ...] = ()  #: resolutions it accepts; empty: not checked here
    retired: Retirement | None = None
    note: str = ""
    #: what can be done with its results (the buttons under them)
    actions: frozenset[Action] = AGAIN_ONLY
    cost: Cost | None = None  #: one generation, where the upstream states it
    premium: bool = False  #: a Quality model: a button that spends it asks to confirm

    def retired_on(self, platform: Platform) -> Retirement | None:
        """The retirement that applies where the model is called, if any."""
        if self.retired is not None and platform in self.retired.where:
            return self.retired
        return None

    def matches(self, name: str) -> bool:
        if self.name.endswith("*"):
            return name.startswith(self.name[:-1])
        return name == self.name


_OMNI_RETIRED = Retirement(date(2026, 10, 22), DEFAULT_VIDEO[Platform.DEVELOPER],
                           where=DEVELOPER_ONLY)
_OLD_VEO = Retirement(date(2026, 6, 30), DEFAULT_VIDEO[Platform.DEVELOPER],
                      agent_platform=DEFAULT_VIDEO[Platform.AGENT_PLATFORM])
_IMAGEN = Retirement(date(2026, 8, 17), DEFAULT_IMAGE)


def _omni(name: str, *, retired: Retirement | None = None, note: str = "",
          actions: frozenset[Action] = OMNI_EXTENDS, cost: Cost | None = None,
          durations: tuple[int, ...] = OMNI_DURATIONS) -> ModelInfo:
    return ModelInfo(name, "gemini", Kind.VIDEO, Api.INTERACTIONS, GOOGLE, OMNI_OPTIONS,
                     durations, OMNI_RESOLUTIONS, retired, note, actions, cost)


def _veo(name: str, platforms: frozenset[Platform], *, retired: Retirement | None = None,
         note: str = "") -> ModelInfo:
    return ModelInfo(name, "gemini", Kind.VIDEO, Api.PREDICT_LONG_RUNNING, platforms,
                     VEO_OPTIONS, VEO_DURATIONS, VEO_RESOLUTIONS, retired, note)


def _image(name: str, *, retired: Retirement | None = None, note: str = "") -> ModelInfo:
    return ModelInfo(name, "gemini", Kind.IMAGE, Api.GENERATE_CONTENT, GOOGLE, IMAGE_OPTIONS,
                     retired=retired, note=note)


def _flow(name: str, kind: Kind, note: str) -> ModelInfo:
    return ModelInfo(name, "flow", kind, Api.FLOW, frozenset({Platform.FLOW}),
                     frozenset({"seed"}), note=note)


def _useapi(name: str, kind: Kind, *, durations: tuple[int, ...] = (), note: str = "",
            actions: frozenset[Action] | None = None, cost: Cost | None = None,
            premium: bool = False) -> ModelInfo:
    options = frozenset({"seed", "duration"}) if kind is Kind.VIDEO else frozenset({"seed"})
    if actions is None:
        actions = VIDEO_ACTIONS if kind is Kind.VIDEO else frozenset({Action.AGAIN,
                                                                      Action.UPSCALE_2K})
    return ModelInfo(name, "useapi", kind, Api.USEAPI, frozenset({Platform.USEAPI}), options,
                     durations, note=note, actions=actions, cost=cost, premium=premium)


MODELS: tuple[ModelInfo, ...] = (
    # Gemini: videos
    _omni("gemini-omni-1.1-flash", note="GA since 2026-08-27; about $0.10 per second at 720p",
          cost=Cost(price="about $0.10 per second at 720p")),
    _omni("gemini-omni-1.2-flash", note="newer (Nov 2026); the only Omni that upscales",
          actions=VIDEO_ACTIONS, durations=OMNI_12_DURATIONS),
    _omni("gemini-omni-flash-preview",
          retired=Retirement(date(2026, 9, 30), "gemini-omni-1.1-flash")),
    _veo("veo-3.1-generate-001", AGENT_ONLY),
    _veo("veo-3.1-fast-generate-001", AGENT_ONLY),
    _veo("veo-3.1-lite-generate-001", AGENT_ONLY, note="preview"),
    _veo("veo-3.1-generate-preview", GOOGLE, retired=_OMNI_RETIRED,
         note="calls answer 404 '… is no longer available'"),
    _veo("veo-3.1-fast-generate-preview", GOOGLE, retired=_OMNI_RETIRED,
         note="calls answer 404 '… is no longer available'"),
    _veo("veo-3.1-lite-generate-preview", GOOGLE, retired=_OMNI_RETIRED,
         note="calls answer 404 '… is no longer available'"),
    _veo("veo-3.0-*", GOOGLE, retired=_OLD_VEO, note="replaced by Veo 3.1"),
    _veo("veo-2.0-*", GOOGLE, retired=_OLD_VEO, note="replaced by Veo 3.1"),
    # Gemini: images
    _image("gemini-3.1-flash-image"),
    _image("gemini-3-pro-image", note="the higher-quality model"),
    _image("gemini-3.1-flash-lite-image"),
    _image("gemini-2.5-flash-image",
           retired=Retirement(date(2026, 10, 2), DEFAULT_IMAGE, where=DEVELOPER_ONLY)),
    ModelInfo("imagen-4.0-*", "gemini", Kind.IMAGE, Api.PREDICT, GOOGLE, retired=_IMAGEN,
              note="every Imagen 4 variant; gemini-3-pro-image replaces it too"),
    # Flow (the seed's protocol; the model keys are fixed by the flow provider)
    _flow("GEM_PIX_2", Kind.IMAGE, "the image model"),
    _flow("veo_3_1_t2v_fast", Kind.VIDEO, "text to video, landscape"),
    _flow("veo_3_1_t2v_fast_portrait", Kind.VIDEO, "text to video, portrait"),
    _flow("veo_3_0_r2v_fast_ultra", Kind.VIDEO, "image to video"),
    # useapi.net (upstream-2026.md section 3). Credits per generation (an extension costs one
    # generation of its model) from useapi's POST /videos page, which quotes Flow's price list;
    # where Ultra pays less, the Pro figure (the higher) is the cost and the note names both.
    # "omni-flash videos cannot be extended" (POST /videos/extend); the three Nano Banana
    # models' images upscale to 2k and 4k (POST /images/upscale and the examples).
    _useapi("nano-banana-2-lite", Kind.IMAGE),
    _useapi("nano-banana-2", Kind.IMAGE),
    _useapi("nano-banana-pro", Kind.IMAGE),
    _useapi("veo-3.1-fast", Kind.VIDEO, durations=VEO_DURATIONS, cost=Cost(credits=20),
            note="default; 4 and 6 s need Ultra; 20 credits, 10 on Ultra"),
    _useapi("veo-3.1-lite", Kind.VIDEO, durations=VEO_DURATIONS, cost=Cost(credits=10),
            note="10 credits, 5 on Ultra"),
    _useapi("veo-3.1-lite-low-priority", Kind.VIDEO, durations=VEO_DURATIONS,
            cost=Cost(credits=0), note="0 credits, lower priority, top Ultra plan only"),
    _useapi("veo-3.1-quality", Kind.VIDEO, durations=(8,), cost=Cost(credits=100),
            note="8 s only; 100 credits", premium=True),
    _useapi("omni-flash", Kind.VIDEO, durations=(4, 6, 8, 10),
            actions=VIDEO_ACTIONS - {Action.EXTEND}, cost=Cost(credits=25),
            note="useapi.net's POST /videos page: 4, 6, 8 or 10 s (15, 20, 25 or 30 credits; "
                 "the cost is of 8 s); a first frame only; cannot be extended"),
    _useapi("omni-flash-1.2", Kind.VIDEO, actions=VIDEO_ACTIONS - {Action.EXTEND},
            note="not on useapi's price list; an Omni video: cannot be extended"),
)


@dataclass(frozen=True)
class Problem:
    """A configured model that will fail every job, and the one line that says what to do."""

    variable: str  #: e.g. GEMINI_VIDEO_MODEL
    model: str
    kind: Kind
    replacement: str
    retired_on: date | None = None  #: None: not retired, but not served where it is configured
    sentence: str = field(default="", compare=False)


def normalized(name: str) -> str:
    """`models/x` and `publishers/google/models/x` name the model `x`."""
    return name.strip().rsplit("models/", 1)[-1]


def lookup(provider: str, name: str) -> ModelInfo | None:
    """The row of a model (exact names before families), or None for a model we do not know."""
    wanted = normalized(name)
    rows = [row for row in MODELS if row.provider == provider and row.matches(wanted)]
    rows.sort(key=lambda row: row.name.endswith("*"))
    return rows[0] if rows else None


def gemini_platform(vertex: bool) -> Platform:
    return Platform.AGENT_PLATFORM if vertex else Platform.DEVELOPER


def default_model(kind: Kind, platform: Platform) -> str:
    return DEFAULT_IMAGE if kind is Kind.IMAGE else DEFAULT_VIDEO[platform]


def gemini_variable(kind: Kind) -> str:
    return "GEMINI_IMAGE_MODEL" if kind is Kind.IMAGE else "GEMINI_VIDEO_MODEL"


def video_api(name: str) -> Api:
    """How a Gemini video model is called: the catalog's word, else by its family's prefix
    (DESIGN.md: `gemini-omni-*` through the Interactions API, `veo-*` through
    `predictLongRunning`)."""
    row = lookup("gemini", name)
    if row is not None:
        return row.api
    return Api.PREDICT_LONG_RUNNING if normalized(name).startswith("veo-") else Api.INTERACTIONS


def problem(provider: str, name: str, kind: Kind, platform: Platform, variable: str
            ) -> Problem | None:
    """Why `name` will fail every job where it is configured, or None."""
    row = lookup(provider, name)
    if row is None:
        return None
    retirement = row.retired_on(platform)
    if retirement is not None:
        replacement = retirement.replacement_on(platform)
        return Problem(variable, name, kind, replacement, retirement.on,
                       f"The {kind} model {name} was retired by Google on "
                       f"{retirement.on.isoformat()}; the operator should set "
                       f"{variable}={replacement}")
    if platform not in row.platforms:
        replacement = default_model(kind, platform)
        return Problem(variable, name, kind, replacement, None,
                       f"The {kind} model {name} is not served on {_PLATFORM_NAMES[platform]}; "
                       f"the operator should set {variable}={replacement}")
    return None


def retired_error(found: Problem) -> ModelRetired:
    """The job's failure for a configured model the catalog knows is retired."""
    return ModelRetired(found.sentence, model=found.model, kind=found.kind.value,
                        variable=found.variable, replacement=found.replacement,
                        retired_on=found.retired_on.isoformat() if found.retired_on else None)


def gone_error(model: str, kind: Kind, platform: Platform, variable: str) -> ModelRetired:
    """A model Google answers is "no longer available" (404) that the catalog did not know."""
    replacement = default_model(kind, platform)
    return ModelRetired(f"The {kind} model {model} is no longer available at Google; the "
                        f"operator should set {variable}={replacement}",
                        model=model, kind=kind.value, variable=variable,
                        replacement=replacement)


def retired_settings(settings: Settings) -> list[Problem]:
    """The problems of the configured Gemini models (checked whatever PROVIDER says, so a
    stale `.env` line shows before someone switches to it). For start-up logs and the admins."""
    platform = gemini_platform(settings.gemini_vertex)
    configured = ((settings.gemini_image_model, Kind.IMAGE),
                  (settings.gemini_video_model, Kind.VIDEO))
    return list(_found(problem("gemini", name, kind, platform, gemini_variable(kind))
                       for name, kind in configured))


def _found(problems: Iterable[Problem | None]) -> Iterable[Problem]:
    return (found for found in problems if found is not None)


_PLATFORM_NAMES = {Platform.DEVELOPER: "the Gemini Developer API",
                   Platform.AGENT_PLATFORM: "Agent Platform (GEMINI_VERTEX=true)",
                   Platform.FLOW: "Flow", Platform.USEAPI: "useapi.net"}


def offers(provider: str, model: str, kind: JobKind) -> frozenset[Action]:
    """What can be done with a result of `kind` that `model` made on `provider`."""
    info = lookup(provider, model)
    if info is None or info.retired is not None:
        return AGAIN_ONLY
    wanted = Kind.VIDEO if kind.makes_video else Kind.IMAGE
    return info.actions if info.kind is wanted else AGAIN_ONLY


def action_cost(provider: str, model: str, action: Action) -> Cost | None:
    """What the action costs, where the upstream or its price list says."""
    if (provider, action) in ACTION_COSTS:
        return ACTION_COSTS[provider, action]
    info = lookup(provider, model)
    return info.cost if info is not None else None


def costly(provider: str, model: str, action: Action) -> bool:
    """Whether the action spends more than a usual generation (the user confirms it once)."""
    if action in COSTLY_ACTIONS:
        return True
    info = lookup(provider, model)
    return bool(info and info.premium) and action in (Action.AGAIN, Action.EXTEND)


def models_of(provider: str, kind: Kind, platform: Platform | None = None) -> list[ModelInfo]:
    """The current (not retired) models of a provider for `kind`, in catalog order: what a user
    may pick in /settings."""
    return [info for info in MODELS
            if info.provider == provider and info.kind is kind and info.retired is None
            and not info.name.endswith("*")
            and (platform is None or platform in info.platforms)]


def upscales_from(provider: str, resolution: str | None) -> frozenset[Action]:
    """The video upscales a result made at `resolution` may have on `provider`."""
    rule = _UPSCALES_FROM.get(provider)
    if rule is not None:
        return rule.get(resolution, frozenset())
    return _HIGHER_THAN.get(resolution or "", ALL_UPSCALES)
