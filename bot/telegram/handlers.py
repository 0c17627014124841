"""Command handlers: parse → validate → call the runner → reply. One sentence per mistake."""

from __future__ import annotations

import logging
import re
import time
import uuid
from pathlib import Path

from telegram import ForceReply, Message, Update
from telegram.constants import ChatType
from telegram.error import TelegramError
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot import texts
from bot.jobs.model import Aspect, ExtraImage, ImageRole, JobKind, NewJob, ProviderName
from bot.jobs.provider import Provider
from bot.telegram import admin, buttons, keyboards, settings
from bot.telegram.albums import AlbumCollector
from bot.telegram.context import BotContext
from bot.telegram.limits import over_daily_limit
from bot.telegram.prompts import ParsedPrompt, parse_command, parse_prompt, problem
from bot.telegram.replies import lang, reply, use_saved_languages
from bot.telegram.settings import defaults_for, user_choices
from storage.images import AlbumPhoto, ImageRef

logger = logging.getLogger(__name__)
STATUS_LIMIT = 10
OPTION_FLAGS = {"negative_prompt": "--neg", "seed": "--seed", "resolution": "--res",
                "duration": "--dur"}
PROMPT_PREVIEW = 40
MAX_REFERENCES = 3  # Veo 3.1 takes up to three asset reference images
PICTURE_COMMAND = r"^/(animate|video)(@\w+)?(\s|$)"
_ALBUMS = "albums"


async def gate(update: Update, context: BotContext) -> None:
    """Runs before every handler: unknown users get their id and nothing else happens."""
    user = update.effective_user
    use_saved_languages(context.services.user_settings.language)
    if user is not None and context.services.access.is_allowed(user.id):
        return
    if user is not None:
        logger.info("refused user %d", user.id)
        sentence = texts.text(lang(update), "not_allowed", user_id=user.id)
        if update.callback_query is not None:
            await update.callback_query.answer(sentence, show_alert=True)
        elif update.effective_message is not None:
            await update.effective_message.reply_text(sentence)
    raise ApplicationHandlerStop


async def start(update: Update, context: BotContext) -> None:
    """Greet and list the commands."""
    user = update.effective_user
    assert user is not None
    await reply(update, "start", name=user.first_name, user_id=user.id)


async def help_command(update: Update, context: BotContext) -> None:
    """List the commands and the user's id."""
    user = update.effective_user
    assert user is not None
    await reply(update, "help", user_id=user.id)


async def image(update: Update, context: BotContext) -> None:
    """/image <prompt>: text to image."""
    message = update.effective_message
    assert message is not None
    parsed = parse_command(message.text)
    if await _refuse_prompt(update, context, parsed, usage="usage_image"):
        return
    if parsed.references:
        await reply(update, "ref_needs_pictures", max=MAX_REFERENCES)
        return
    await _submit(update, context, JobKind.IMAGE, parsed)


async def video(update: Update, context: BotContext) -> None:
    """/video <prompt>: text to video, or image to video when it replies to an image."""
    message = update.effective_message
    assert message is not None
    if message.reply_to_message is not None and _has_picture(message.reply_to_message):
        await animate(update, context)
        return
    parsed = parse_command(message.text)
    if await _refuse_prompt(update, context, parsed, usage="usage_video"):
        return
    if parsed.references:
        await reply(update, "ref_needs_pictures", max=MAX_REFERENCES)
        return
    await _submit(update, context, JobKind.VIDEO, parsed)


async def animate(update: Update, context: BotContext) -> None:
    """/animate <prompt> as a reply to an image or photo (or as a photo's caption)."""
    message = update.effective_message
    assert message is not None
    parsed = parse_command(message.text or message.caption)
    source = message if message.photo else message.reply_to_message
    if source is None:
        await reply(update, "usage_animate")
        return
    if await _refuse_prompt(update, context, parsed, usage="usage_animate"):
        return
    await _animate_from(update, context, source, parsed)


async def album_photo(update: Update, context: BotContext) -> None:
    """One photo of an album: remembered; once the album is complete, its command acts on it."""
    message = update.effective_message
    assert message is not None and message.media_group_id is not None
    photo = _album_photo(message)
    await context.services.images.remember_album_photo(photo)
    album = await _albums(context).collect((photo.chat_id, photo.media_group_id),
                                           photo.message_id, message)
    command = next((m for m in album or () if re.match(PICTURE_COMMAND, m.caption or "")), None)
    if album is None or command is None:
        return  # a later photo's handler acts, or the album carries no command for us
    # The album answers as its command message: replies and the job quote that one.
    lead = Update(update.update_id, message=command)
    parsed = parse_command(command.caption)
    if await _refuse_prompt(lead, context, parsed, usage="usage_animate"):
        return
    await _animate_photos(lead, context, [m.photo[-1].file_id for m in album], parsed)


async def prompt_reply(update: Update, context: BotContext) -> None:
    """A plain text reply to one of our images (or to the "how should it move?" question)."""
    message = update.effective_message
    assert message is not None and message.reply_to_message is not None
    if await buttons.answer_ask(update, context):
        return  # the continuation of a video (its Extend button's question)
    ref = await context.services.images.lookup(message.chat_id, message.reply_to_message.message_id)
    if ref is None:
        return  # an ordinary conversation reply: not for us
    parsed = parse_prompt(message.text or "")
    if await _refuse_prompt(update, context, parsed, usage="usage_animate"):
        return
    await _animate_ref(update, context, ref, parsed)


async def animate_button(update: Update, context: BotContext) -> None:
    """The "🎬 Animate" button: ask for the motion prompt as a reply."""
    query = update.callback_query
    assert query is not None and query.data is not None
    await query.answer()
    ref = await context.services.images.by_job(int(query.data.split(":", 1)[1]))
    if ref is None or query.message is None:
        await reply(update, "image_gone")
        return
    if not _may_animate(update, context, ref):
        await reply(update, "not_your_image")
        return
    asked = await context.bot.send_message(
        ref.chat_id, texts.text(lang(update), "ask_motion"),
        reply_to_message_id=ref.message_id, allow_sending_without_reply=True,
        reply_markup=ForceReply(selective=True))
    await context.services.images.remember(chat_id=ref.chat_id, message_id=asked.message_id,
                                           media_id=ref.media_id, owner_id=ref.owner_id,
                                           job_id=ref.job_id)


async def status(update: Update, context: BotContext) -> None:
    """/status: the user's last jobs, their state and age."""
    user = update.effective_user
    assert user is not None
    jobs = await context.services.jobs.for_user(user.id, limit=STATUS_LIMIT)
    language = lang(update)
    if not jobs:
        await reply(update, "status_empty")
        return
    lines = [texts.text(language, "status_header")]
    now = time.time()
    for job in jobs:
        prompt = _shorten(job.prompt)
        lines.append(texts.text(
            language, "status_line", id=job.id, kind=texts.text(language, f"kind_{job.kind.value}"),
            state=texts.text(language, f"state_{job.state.value}"),
            age=texts.duration(now - job.created_at), prompt=prompt))
        if job.parent_id is not None and job.origin is not None:
            lines.append(texts.text(language, "status_parent", id=job.parent_id,
                                    action=texts.origin_label(language, job.origin)))
        if job.first_provider is not None:
            lines.append(texts.text(language, "status_failover", first=job.first_provider,
                                    provider=job.provider))
        if job.error_code and job.error_code != "too_large":
            reason = texts.error_sentence(language, job.error_code, job.error_detail)
            lines.append(texts.text(language, "status_reason", reason=reason))
    message = update.effective_message
    assert message is not None
    await message.reply_text("\n".join(lines))


async def cancel(update: Update, context: BotContext) -> None:
    """/cancel <id>: cancel one of the user's unfinished jobs."""
    user = update.effective_user
    assert user is not None
    args = context.args or []
    matched = re.fullmatch(r"#?([0-9]{1,18})", args[0]) if len(args) == 1 else None
    if matched is None:
        await reply(update, "cancel_usage")
        return
    job_id = int(matched[1])
    job = await context.services.jobs.find(job_id)
    if job is None or job.user_id != user.id:
        await reply(update, "cancel_not_found", id=job_id)
        return
    if job.state.terminal:
        state = texts.text(lang(update), f"state_{job.state.value}")
        await reply(update, "cancel_finished", id=job_id, state=state)
        return
    await context.services.runner.cancel(job)
    await reply(update, "cancel_done", id=job_id)


async def unknown(update: Update, context: BotContext) -> None:
    """Any other command."""
    await reply(update, "unknown_command")


async def on_error(update: object, context: BotContext) -> None:
    """Log every handler error with its traceback first; the user gets a short sentence."""
    logger.error("handler error", exc_info=context.error)
    if isinstance(update, Update) and update.effective_message is not None:
        try:
            await update.effective_message.reply_text(
                texts.error_sentence(lang(update), "internal", None))
        except TelegramError:
            logger.warning("could not tell the user about the error")


async def _refuse_prompt(update: Update, context: BotContext, parsed: ParsedPrompt, *,
                         usage: str) -> bool:
    """Reply with the one sentence that says what is wrong, if anything is."""
    issue = problem(parsed.prompt, limit=context.services.settings.prompt_max_chars)
    if issue is not None:
        key, values = issue
        await reply(update, usage if key == "empty" else key, **values)
        return True
    if parsed.error is not None:
        key, details = parsed.error
        await reply(update, key, **details)
        return True
    unsupported = _unsupported_options(update, context, parsed, image=usage == "usage_image")
    if unsupported:
        await reply(update, "option_unsupported", options=", ".join(unsupported))
        return True
    makes = _provider(update, context).aspects
    if parsed.given_aspect is not None and parsed.given_aspect not in makes:
        ratios = ", ".join(aspect.ratio for aspect in Aspect if aspect in makes)
        await reply(update, "aspect_unsupported", aspect=parsed.given_aspect.ratio, ratios=ratios)
        return True
    return False


def _unsupported_options(update: Update, context: BotContext, parsed: ParsedPrompt, *,
                         image: bool) -> list[str]:
    provider = _provider(update, context)
    supported = provider.image_options if image else provider.supported_options
    return sorted(OPTION_FLAGS[name] for name in parsed.options.named() - supported)


def _provider(update: Update, context: BotContext) -> Provider:
    """The provider the user's new jobs go to."""
    user = update.effective_user
    assert user is not None
    services = context.services
    return services.provider_for_account(services.accounts.account_for(user.id))


async def _animate_from(update: Update, context: BotContext, source: Message,
                        parsed: ParsedPrompt) -> None:
    ref = await context.services.images.lookup(source.chat_id, source.message_id)
    if ref is not None:
        await _animate_ref(update, context, ref, parsed)
        return
    album = await context.services.images.album_of(source.chat_id, source.message_id)
    if album:
        await _animate_photos(update, context, [photo.file_id for photo in album], parsed)
        return
    if not source.photo:
        await reply(update, "no_image_in_reply")
        return
    await _animate_photos(update, context, [source.photo[-1].file_id], parsed)


async def _animate_photos(update: Update, context: BotContext, file_ids: list[str],
                          parsed: ParsedPrompt) -> None:
    """A user's photos, album order: 1–2 frames (first, last), or 1–3 references (`--ref`)."""
    role = ImageRole.REFERENCES if parsed.references else ImageRole.FRAMES
    if role is ImageRole.FRAMES and len(file_ids) > 2:
        await reply(update, "album_frames_two", count=len(file_ids), max=MAX_REFERENCES)
        return
    if len(file_ids) > MAX_REFERENCES:
        await reply(update, "album_refs_max", count=len(file_ids), max=MAX_REFERENCES)
        return
    if await _refuse_pictures(update, context, None, role, len(file_ids)):
        return
    paths = [await _download(context, file_id) for file_id in file_ids]
    if None in paths:
        await reply(update, "photo_failed")
        return
    first, *others = [path for path in paths if path is not None]
    await _submit(update, context, JobKind.ANIMATE, parsed, source_path=first,
                  extra_images=tuple(ExtraImage(source_path=path) for path in others),
                  image_role=role)


async def _download(context: BotContext, file_id: str) -> str | None:
    """The photo's bytes exactly as Telegram holds them, in a file beside the database."""
    path = context.services.settings.files_dir / f"upload-{uuid.uuid4().hex}.jpg"
    try:
        file = await context.bot.get_file(file_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        await file.download_to_drive(path)
    except TelegramError as exc:
        logger.warning("photo download failed: %s", exc)
        return None
    return str(path)


async def _animate_ref(update: Update, context: BotContext, ref: ImageRef,
                       parsed: ParsedPrompt) -> None:
    if not _may_animate(update, context, ref):
        await reply(update, "not_your_image")
        return
    made_by = await context.services.jobs.find(ref.job_id) if ref.job_id else None
    role = ImageRole.REFERENCES if parsed.references else ImageRole.FRAMES
    if await _refuse_pictures(update, context, made_by.provider if made_by else None, role, 1):
        return
    # The image's handle means something only to the provider that made it; its file (kept
    # after delivery) goes along, so a failover can hand the picture over as bytes.
    kept = made_by.file_path if made_by and made_by.file_path else None
    await _submit(update, context, JobKind.ANIMATE, parsed, reference_media_id=ref.media_id,
                  source_path=kept if kept and Path(kept).exists() else None,
                  provider=made_by.provider if made_by else None, image_role=role)


async def _refuse_pictures(update: Update, context: BotContext, name: ProviderName | None,
                           role: ImageRole, count: int) -> bool:
    """Before anything is downloaded or uploaded: a sentence when the job's provider cannot
    take these pictures in this role."""
    services = context.services
    user = update.effective_user
    assert user is not None
    account = services.accounts.account_for(user.id)
    provider = (services.provider_named(name, account) if name
                else services.provider_for_account(account))
    limit = provider.pictures.get(role, 0)
    if count <= limit:
        return False
    if limit == 0:
        await reply(update, "pictures_no_references", provider=provider.name)
    else:
        await reply(update, "pictures_frames_max", provider=provider.name, max=limit, count=count)
    return True


def _may_animate(update: Update, context: BotContext, ref: ImageRef) -> bool:
    """An image is animated in its own chat (a forged button's job number from another chat is
    refused); in a group, an image made by someone else is theirs (and the admins')."""
    user = update.effective_user
    chat = update.effective_chat
    if user is None or chat is None or chat.id != ref.chat_id:
        return False
    if chat.type == ChatType.PRIVATE or ref.owner_id == user.id:
        return True
    return context.services.access.is_admin(user.id)


async def _submit(update: Update, context: BotContext, kind: JobKind, parsed: ParsedPrompt, *,
                  reference_media_id: str | None = None, source_path: str | None = None,
                  provider: ProviderName | None = None,
                  extra_images: tuple[ExtraImage, ...] = (),
                  image_role: ImageRole = ImageRole.FRAMES) -> None:
    message = update.effective_message
    user = update.effective_user
    assert message is not None and user is not None
    services = context.services
    if kind is not JobKind.IMAGE and await over_daily_limit(context, user.id):
        await reply(update, "daily_limit", limit=services.settings.daily_video_limit)
        return
    # The user's /settings fill in what the command did not say (what this provider can make).
    saved = defaults_for(services.user_settings.get(user.id),
                         user_choices(services, user.id, provider), kind)
    await services.runner.submit(NewJob(
        user_id=user.id, chat_id=message.chat_id, kind=kind, prompt=parsed.prompt,
        aspect=parsed.given_aspect or saved.aspect or parsed.aspect,
        reference_media_id=reference_media_id, source_path=source_path,
        reply_to_message_id=message.message_id, language=lang(update),
        account=services.accounts.account_for(user.id), options=saved.options(parsed.options),
        provider=provider or services.provider_name, extra_images=extra_images,
        image_role=image_role, update_id=update.update_id, model=saved.model))


def _shorten(prompt: str) -> str:
    return prompt if len(prompt) <= PROMPT_PREVIEW else prompt[:PROMPT_PREVIEW] + "…"


def _has_picture(message: Message) -> bool:
    return bool(message.photo)


def _album_photo(message: Message) -> AlbumPhoto:
    """The record of an album's photo message: its largest size."""
    assert message.media_group_id is not None
    return AlbumPhoto(message.chat_id, message.message_id, message.media_group_id,
                      message.photo[-1].file_id)


def _albums(context: BotContext) -> AlbumCollector[Message]:
    """The one collector of albums being received, made on first use."""
    collector: AlbumCollector[Message] | None = context.bot_data.get(_ALBUMS)
    if collector is None:
        collector = AlbumCollector(wait=context.services.settings.album_wait)
        context.bot_data[_ALBUMS] = collector
    return collector


class _InAlbum(filters.MessageFilter):
    """A message that is one part of an album (a media group)."""

    def filter(self, message: Message) -> bool:
        return message.media_group_id is not None


_IN_ALBUM = _InAlbum(name="IN_ALBUM")


def register(application: Application) -> None:  # type: ignore[type-arg]
    """Wire every handler; the access gate runs first, in its own group."""
    application.add_handler(TypeHandler(Update, gate), group=-1)
    animate_caption = filters.PHOTO & filters.CaptionRegex(PICTURE_COMMAND)
    application.add_handlers([
        CommandHandler("start", start),
        CommandHandler("help", help_command),
        CommandHandler("image", image),
        CommandHandler("video", video),
        CommandHandler("animate", animate),
        CommandHandler("status", status),
        CommandHandler("cancel", cancel),
        MessageHandler(filters.PHOTO & _IN_ALBUM, album_photo),
        MessageHandler(animate_caption, animate),
        CallbackQueryHandler(animate_button, pattern=r"^animate:[0-9]{1,18}$"),
        CallbackQueryHandler(buttons.pressed, pattern=keyboards.ACTION_PATTERN),
        CallbackQueryHandler(buttons.dropped, pattern=keyboards.DROP_PATTERN),
        MessageHandler(filters.REPLY & filters.TEXT & ~filters.COMMAND, prompt_reply),
    ])
    admin.register(application)
    settings.register(application)
    application.add_handler(MessageHandler(filters.COMMAND, unknown))
    application.add_error_handler(on_error)
