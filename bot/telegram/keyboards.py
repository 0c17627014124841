"""The buttons under a delivered result, and what their `callback_data` says.

`animate:<job>` asks how an image should move; `act:<action>:<job>` makes a new job from the
result (`bot.jobs.model.Action`: again, extend, 1080p, 4k, 2k); `yes:<action>:<job>` confirms an
action that costs more; `no:<job>` drops it. Which actions a result gets is the provider's and
model's word (`Provider.offers`, from the catalog).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot import texts
from bot.jobs.model import Action, Job
from bot.jobs.provider import Provider
from bot.providers import catalog

ACTION_PATTERN = r"^(act|yes):(again|extend|1080p|4k|2k):[0-9]{1,18}$"
DROP_PATTERN = r"^no:[0-9]{1,18}$"
#: The order buttons appear in, and the key of each label in `bot.texts`.
_ORDER = (Action.AGAIN, Action.EXTEND, Action.UPSCALE_1080P, Action.UPSCALE_4K, Action.UPSCALE_2K)


@dataclass(frozen=True)
class Pressed:
    """A result button's callback data, parsed."""

    action: Action
    job_id: int
    confirmed: bool


def parse(data: str) -> Pressed | None:
    matched = re.fullmatch(ACTION_PATTERN[1:-1], data)
    if matched is None:
        return None
    verb, action, job_id = data.split(":")
    return Pressed(Action(action), int(job_id), confirmed=verb == "yes")


def offered(provider: Provider, job: Job) -> frozenset[Action]:
    """What can be done with a delivered result: what its provider and model offer, less what
    makes no sense for it (an upscale is not upscaled or made again; an upscale only to what the
    source's resolution allows)."""
    actions = provider.offers(job.kind, job.model)
    if job.kind.from_result:
        return actions & {Action.EXTEND} if job.makes_video else frozenset()
    if not job.makes_video:
        return actions
    upscales = catalog.upscales_from(job.provider, job.options.resolution)
    return actions - (catalog.ALL_UPSCALES - upscales)


def under_result(job: Job, actions: frozenset[Action]) -> InlineKeyboardMarkup | None:
    """The buttons under a delivered image or video: Animate (images), then the actions the
    provider offers for it."""
    row = []
    if not job.makes_video:
        row.append(InlineKeyboardButton(texts.text(job.language, "animate_button"),
                                        callback_data=f"animate:{job.id}"))
    for action in _ORDER:
        if action in actions:
            row.append(InlineKeyboardButton(label(job.language, action),
                                            callback_data=f"act:{action.value}:{job.id}"))
    return InlineKeyboardMarkup([row[:3], row[3:]] if len(row) > 3 else [row]) if row else None


def confirm(lang: str, action: Action, job_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[
        InlineKeyboardButton(texts.text(lang, "confirm_yes"),
                             callback_data=f"yes:{action.value}:{job_id}"),
        InlineKeyboardButton(texts.text(lang, "confirm_no"), callback_data=f"no:{job_id}"),
    ]])


def label(lang: str, action: Action) -> str:
    return texts.text(lang, f"button_{action.value}")
