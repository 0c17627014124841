"""The buttons under a delivered result: 🔁 Again, ⏩ Extend, ⬆️ 1080p / 4K / 2K.

Each tap makes a new job linked to the result it came from (`parent_id`), with its own progress
message. A double tap makes one job: the store keeps one unfinished job per parent and button
(`origin`), and the second tap is told which job is already at it. In a group only the owner of
the result (or an admin) may press its buttons. An action that costs more (a 4K upscale, a
Quality model) asks once, with the cost, before anything is sent. Extend first asks for the
continuation prompt; the reply to that question makes the job.
"""

from __future__ import annotations

import logging
import random
import time
from dataclasses import replace

from telegram import ForceReply, Update
from telegram.constants import ChatType

from bot import texts
from bot.jobs.model import Action, Job, JobKind, JobState, NewJob, Options
from bot.jobs.provider import Provider
from bot.providers import catalog
from bot.telegram import keyboards
from bot.telegram.context import BotContext
from bot.telegram.limits import over_daily_limit
from bot.telegram.prompts import parse_prompt, problem
from bot.telegram.replies import lang, reply
from storage.asks import Ask

logger = logging.getLogger(__name__)
#: Seeds Veo and Flow take (a 32-bit unsigned integer).
MAX_SEED = 2**32 - 1


async def pressed(update: Update, context: BotContext) -> None:
    """`act:<action>:<job>` (and `yes:…` after a confirmation)."""
    query = update.callback_query
    assert query is not None and query.data is not None
    press = keyboards.parse(query.data)
    assert press is not None, "the handler's pattern admits only result buttons"
    source = await context.services.jobs.find(press.job_id)
    refusal = _refusal(update, context, source, press.action)
    if refusal is not None:
        await query.answer(texts.text(lang(update), refusal), show_alert=True)
        return
    assert source is not None
    if press.confirmed and query.message is not None:
        await query.edit_message_reply_markup(reply_markup=None)
    if not press.confirmed and _costly(context, source, press.action):
        await query.answer()
        await _ask_to_confirm(update, context, source, press.action)
        return
    if press.action is Action.EXTEND:
        await query.answer()
        await _ask_continuation(update, context, source)
        return
    await _make(update, context, source, press.action, prompt=source.prompt)


async def dropped(update: Update, context: BotContext) -> None:
    """`no:<job>`: the costly action is not wanted; the question says so."""
    query = update.callback_query
    assert query is not None
    await query.answer()
    if query.message is not None:
        await query.edit_message_text(texts.text(lang(update), "confirm_dropped"))


async def answer_ask(update: Update, context: BotContext) -> bool:
    """A reply to Extend's question makes the extension; False: not a reply to one."""
    message = update.effective_message
    user = update.effective_user
    assert message is not None and message.reply_to_message is not None and user is not None
    ask = await context.services.asks.lookup(message.chat_id, message.reply_to_message.message_id)
    if ask is None:
        return False
    source = await context.services.jobs.find(ask.job_id)
    refusal = _refusal(update, context, source, Action(ask.action))
    if refusal is not None:
        await reply(update, refusal)
        return True
    assert source is not None
    parsed = parse_prompt(message.text or "")
    issue = problem(parsed.prompt, limit=context.services.settings.prompt_max_chars)
    if issue is not None:
        key, values = issue
        await reply(update, "usage_extend" if key == "empty" else key, **values)
        return True
    await _make(update, context, source, Action(ask.action), prompt=parsed.prompt)
    return True


def _refusal(update: Update, context: BotContext, source: Job | None,
             action: Action) -> str | None:
    """The key of the sentence that refuses the tap, if anything does."""
    if source is None or source.state is not JobState.DELIVERED:
        return "result_gone"
    if not _may_press(update, context, source):
        return "not_your_result"
    if action is not Action.AGAIN and source.media_id is None:
        return "result_gone"
    if action not in keyboards.offered(_provider(context, source), source):
        return "action_unavailable"
    if action is not Action.AGAIN and _expired(source):
        return "source_expired"
    return None


def _may_press(update: Update, context: BotContext, source: Job) -> bool:
    """A result is built on in the chat it was delivered to (callback data can be forged: a
    job number from another chat is refused); in a group, by its owner or an admin."""
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None or chat.id != source.chat_id:
        return False
    if chat.type == ChatType.PRIVATE or source.user_id == user.id:
        return True
    return context.services.access.is_admin(user.id)


def _expired(source: Job) -> bool:
    """Past the time its upstream keeps results (where the catalog knows it)."""
    keep = catalog.RESULT_RETENTION.get(source.provider)
    finished = source.finished_at or source.updated_at
    return keep is not None and time.time() - finished > keep


def _provider(context: BotContext, source: Job) -> Provider:
    return context.services.provider_named(source.provider, source.account)


def _costly(context: BotContext, source: Job, action: Action) -> bool:
    return catalog.costly(source.provider, _model(context, source), action)


def _model(context: BotContext, source: Job) -> str:
    provider = _provider(context, source)
    if source.model:
        return source.model
    return provider.video_model if source.makes_video else provider.image_model


async def _ask_to_confirm(update: Update, context: BotContext, source: Job,
                          action: Action) -> None:
    language = lang(update)
    cost = catalog.action_cost(source.provider, _model(context, source), action) \
        or catalog.Cost()
    message = update.effective_message
    assert message is not None
    await message.reply_text(
        texts.text(language, "confirm_cost", action=keyboards.label(language, action),
                   id=source.id, cost=texts.cost(language, cost.credits, cost.price)),
        reply_markup=keyboards.confirm(language, action, source.id))


async def _ask_continuation(update: Update, context: BotContext, source: Job) -> None:
    """Extend: ask how the video goes on; the reply to this question makes the job."""
    message, user = update.effective_message, update.effective_user
    assert message is not None and user is not None
    asked = await message.reply_text(texts.text(lang(update), "ask_continuation", id=source.id),
                                     reply_markup=ForceReply(selective=True))
    await context.services.asks.remember(Ask(asked.chat_id, asked.message_id, source.id,
                                             Action.EXTEND.value, user.id))


async def _make(update: Update, context: BotContext, source: Job, action: Action, *,
                prompt: str) -> None:
    """The new job, linked to its source; a second tap finds the first tap's job."""
    message, user, query = update.effective_message, update.effective_user, update.callback_query
    assert message is not None and user is not None
    services = context.services
    if _counts_as_video(source, action) and await over_daily_limit(context, user.id):
        await _answer(update, "daily_limit", limit=services.settings.daily_video_limit)
        return
    new = _new_job(source, action, prompt=prompt, provider=_provider(context, source))
    job = await services.runner.submit(replace(
        new, user_id=user.id, chat_id=message.chat_id, language=lang(update),
        reply_to_message_id=message.message_id, update_id=update.update_id))
    if job.update_id != update.update_id:
        logger.info("job %d: a second tap of %s on job %d", job.id, action.value, source.id)
        await _answer(update, "already_making", id=job.id)
    elif query is not None:
        await query.answer()


async def _answer(update: Update, key: str, **values: object) -> None:
    """A short word: the tap's notice when it was a tap, else a reply."""
    if update.callback_query is not None:
        await update.callback_query.answer(texts.text(lang(update), key, **values),
                                           show_alert=True)
    else:
        await reply(update, key, **values)


def _new_job(source: Job, action: Action, *, prompt: str, provider: Provider) -> NewJob:
    """What the action makes of the source (the front fills in who asked, where and when):
    Again repeats it with its pictures and a new seed; the others start from its result."""
    again = action is Action.AGAIN
    kind = source.kind if again else action.kind
    assert kind is not None
    if again:
        options = _new_seed(source, provider)
    else:
        options = Options() if kind is JobKind.EXTEND else Options(resolution=action.value)
    return NewJob(
        user_id=source.user_id, chat_id=source.chat_id, kind=kind, prompt=prompt,
        aspect=source.aspect, options=options, account=source.account, provider=source.provider,
        model=source.model, parent_id=source.id, origin=action.value,
        reference_media_id=source.reference_media_id if again else source.media_id,
        source_path=source.source_path if again else None,
        extra_images=source.extra_images if again else (),
        image_role=source.image_role)


def _new_seed(source: Job, provider: Provider) -> Options:
    """The same options with a new seed where the model takes one (else the upstream's own
    randomness makes it different)."""
    takes = provider.supported_options if source.makes_video else provider.image_options
    seed = random.randint(1, MAX_SEED) if "seed" in takes else None
    return replace(source.options, seed=seed)


def _counts_as_video(source: Job, action: Action) -> bool:
    kind = action.kind or source.kind
    return kind.makes_video
