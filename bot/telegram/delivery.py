"""`TelegramNotifier`: the engine's reports rendered into chats — one progress message per job,
edited in place, and the finished image or video uploaded as a reply.

Progress edits are cosmetic (coalesced, may be lost). A job's final word (failed, paused) is the
progress message's last edit, and the notifier returns only once Telegram confirmed it: the engine
keeps the word owed until then (see `bot.jobs.runner`)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from telegram import InlineKeyboardMarkup, InputFile
from telegram.error import BadRequest, Forbidden, TelegramError
from telegram.ext import ExtBot

from bot import texts
from bot.jobs.errors import ErrorCode
from bot.jobs.model import Job, Phase
from bot.jobs.notifier import DeliveryFailed
from bot.jobs.runner import ProviderFor
from bot.telegram import keyboards
from bot.telegram.edits import EditCoalescer
from bot.telegram.pacing import Priority
from storage.images import ImageStore
from storage.jobs import JobStore

logger = logging.getLogger(__name__)
#: an operator notice: one text, or its text in a given language
Notice = str | Callable[[str], str]
CAPTION_LIMIT = 1024
UPLOAD_TIMEOUT = 300.0


@dataclass(eq=False)
class _Final:
    """A final word on its way as an edit: `done` resolves once Telegram has that text."""

    text: str
    done: asyncio.Future[None] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future())

    def settle(self, error: BaseException | None = None) -> None:
        if self.done.done():
            return
        if isinstance(error, asyncio.CancelledError):
            self.done.cancel()
        elif error is not None:
            self.done.set_exception(error)
        else:
            self.done.set_result(None)


class TelegramNotifier:
    """Implements `bot.jobs.notifier.Notifier` for Telegram chats. Every call names its priority
    for the bot's rate limiter (`bot.telegram.pacing`); progress edits are coalesced first."""

    def __init__(self, *, bot: ExtBot[Priority], jobs: JobStore, images: ImageStore,
                 edit_interval: float, contended: Callable[[], bool] = lambda: False,
                 admin_ids: frozenset[int] = frozenset(), max_uploads: int = 16,
                 provider_for: ProviderFor | None = None) -> None:
        self._bot = bot
        self._provider_for = provider_for  #: whose word the buttons under a result are
        #: user id → the language saved in /settings (set once those are loaded)
        self.languages: Callable[[int], str | None] | None = None
        self._admin_ids = admin_ids
        self._alerted: set[str] = set()
        self._jobs = jobs
        self._images = images
        self._edits = EditCoalescer(send=self._edit, interval=edit_interval, contended=contended)
        self._progress_ids: dict[int, int] = {}
        self._latest: dict[int, str] = {}  # text for a progress message still being created
        self._creating: dict[int, asyncio.Task[None]] = {}
        self._finals: dict[tuple[int, int], _Final] = {}  #: (chat, message) -> word on its way
        self._uploads = asyncio.Semaphore(max_uploads)
        self._failovers: dict[int, str] = {}  #: job id -> its failover line

    async def progress(self, job: Job, phase: Phase) -> None:
        text = _progress_text(job, phase)
        moved = self._failovers.get(job.id)
        if moved is not None:
            text = f"{moved}\n{text}"
            if phase is Phase.DONE:
                del self._failovers[job.id]
        self._show(job, text, final=phase is Phase.DONE)

    async def failed_over(self, job: Job, reason: ErrorCode) -> None:
        """One line, kept above the progress text from now on."""
        self._failovers[job.id] = texts.failover_line(
            job.language, str(job.first_provider), str(job.provider), str(reason))
        await self.progress(job, Phase.QUEUED)

    async def failed(self, job: Job) -> None:
        reason = texts.error_sentence(job.language, job.error_code, job.error_detail)
        await self._say(job, texts.text(job.language, "phase_failed", id=job.id,
                                        kind=_kind(job), reason=reason))

    async def waiting_for_token(self, job: Job) -> None:
        if job.error_code == ErrorCode.ACCOUNT_DISCONNECTED:
            await self._say(job, texts.text(job.language, "phase_waiting_account", id=job.id,
                                            kind=_kind(job)))
            await self._alert_disconnected(job)
            return
        reason = texts.error_sentence(job.language, job.error_code, job.error_detail)
        await self._say(job, texts.text(job.language, "phase_waiting", id=job.id,
                                        kind=_kind(job), reason=reason))
        await self._alert_once(job.account)

    async def account_back(self, job: Job) -> None:
        self._alerted.discard(_outage(job))

    async def _alert_disconnected(self, job: Job) -> None:
        """Only the operator can reconnect a gateway's account: the admins, once per outage."""
        if _outage(job) in self._alerted:
            return
        self._alerted.add(_outage(job))
        detail = (job.error_detail or "").strip().rstrip(".")
        await self._send_each(sorted(self._admin_ids),
                              lambda lang: texts.text(lang, "account_alert", detail=detail))

    def token_renewed(self, account: str) -> None:
        """The account has a new token: a later expiry is news again."""
        self._alerted.discard(account)

    async def _alert_once(self, account: str) -> None:
        """Tell whoever can fix the token (admins, or the account's owner), once per outage."""
        if account in self._alerted:
            return
        self._alerted.add(account)
        owner = account.removeprefix("user:")
        targets = [int(owner)] if owner.isdigit() else sorted(self._admin_ids)
        await self._send_each(targets,
                              lambda lang: texts.text(lang, "token_alert", account=account))

    async def tell_admins(self, text: Notice) -> None:
        """An operator notice (e.g. a configured model Google retired, a health check) to every
        admin: the same text, or one rendered in each admin's language."""
        await self._send_each(sorted(self._admin_ids), text)

    async def _send_each(self, chat_ids: list[int], text: Notice) -> None:
        for chat_id in chat_ids:
            try:
                await self._bot.send_message(chat_id, text if isinstance(text, str)
                                             else text(self._language_of(chat_id)))
            except TelegramError as exc:
                logger.warning("could not tell %d: %s", chat_id, exc)

    def _language_of(self, user_id: int) -> str:
        """A pushed notice has no message to read a language from: the one the user saved in
        /settings, else English."""
        return (self.languages(user_id) if self.languages else None) or texts.language_of(None)

    async def deliver(self, job: Job, path: Path) -> None:
        try:
            async with self._uploads:
                if not job.makes_video:
                    await self._send_image(job, path)
                else:
                    await self._send_video(job, path)
        except (Forbidden, BadRequest) as exc:
            raise DeliveryFailed(str(exc)) from exc

    async def deliver_link(self, job: Job, url: str) -> None:
        message = texts.text(job.language, "too_large", url=url)
        await self._reply_to(job, message, Priority.DELIVERY)

    async def _send_video(self, job: Job, path: Path) -> None:
        caption = _caption(job, texts.text(job.language, "video_caption", prompt=job.prompt))
        with path.open("rb") as file:
            # Streamed from the handle, not read into memory; the pacer rewinds it for a retry.
            video = InputFile(file, filename=f"veo-{job.id}.mp4", read_file_handle=False)
            await self._bot.send_video(
                job.chat_id, video, caption=caption, supports_streaming=True,
                reply_markup=self._buttons(job),
                reply_to_message_id=job.reply_to_message_id, allow_sending_without_reply=True,
                write_timeout=UPLOAD_TIMEOUT, read_timeout=UPLOAD_TIMEOUT,
                rate_limit_args=Priority.DELIVERY)

    async def _send_image(self, job: Job, path: Path) -> None:
        assert job.media_id is not None, "an image job is delivered with its mediaId"
        data = await asyncio.to_thread(path.read_bytes)
        message = await self._bot.send_photo(
            job.chat_id, data, caption=_caption(job, job.prompt),
            reply_markup=self._buttons(job),
            reply_to_message_id=job.reply_to_message_id, allow_sending_without_reply=True,
            write_timeout=UPLOAD_TIMEOUT, rate_limit_args=Priority.DELIVERY)
        await self._images.remember(chat_id=job.chat_id, message_id=message.message_id,
                                    media_id=job.media_id, owner_id=job.user_id, job_id=job.id)

    def _buttons(self, job: Job) -> InlineKeyboardMarkup | None:
        actions = (keyboards.offered(self._provider_for(job), job) if self._provider_for
                   else frozenset())
        return keyboards.under_result(job, actions)

    async def close(self, *, drain: float = 2.0) -> None:
        """Stop creating progress messages; give pending edits `drain` seconds to go out."""
        for task in list(self._creating.values()):
            task.cancel()
        await asyncio.gather(*self._creating.values(), return_exceptions=True)
        await self._edits.drain(wait=drain)
        await self._edits.close()
        for final in self._finals.values():
            final.settle(asyncio.CancelledError())

    async def _say(self, job: Job, text: str) -> None:
        """A job's final word: the last edit of its progress message, or a new message when it
        has none (or that one is gone). Returns once Telegram has it."""
        creating = self._creating.get(job.id)
        if creating is not None:  # the progress message first: the word becomes its edit
            await asyncio.wait({creating})
        message_id = self._progress_ids.pop(job.id, None) or job.progress_message_id
        if message_id is not None:
            try:
                await self._edit_finally(job.chat_id, message_id, text)
                return
            except BadRequest as exc:
                logger.info("job %d: progress message %d cannot take the final word (%s); "
                            "sending it anew", job.id, message_id, exc)
        await self._reply_to(job, text, Priority.REPLY)

    async def _reply_to(self, job: Job, text: str, priority: Priority) -> None:
        """A message answering the job's command; a chat that will not take it fails delivery."""
        try:
            await self._bot.send_message(
                job.chat_id, text, reply_to_message_id=job.reply_to_message_id,
                allow_sending_without_reply=True, rate_limit_args=priority)
        except (Forbidden, BadRequest) as exc:
            raise DeliveryFailed(str(exc)) from exc

    async def _edit_finally(self, chat_id: int, message_id: int, text: str) -> None:
        """The word goes through the coalescer like any edit, so that no older progress text
        still pending for the message can land after it; `_edit` reports its confirmation."""
        key = (chat_id, message_id)
        final = self._finals[key] = _Final(text)
        try:
            self._edits.edit(chat_id, message_id, text)
            await final.done
        finally:
            if self._finals.get(key) is final:
                del self._finals[key]

    def _show(self, job: Job, text: str, *, final: bool = False) -> None:
        """Set the job's progress text. Never waits: the engine must not queue behind chatter."""
        message_id = self._progress_ids.get(job.id) or job.progress_message_id
        if message_id is None:
            self._latest[job.id] = text
            if job.id not in self._creating:
                self._creating[job.id] = asyncio.create_task(self._create_progress(job))
            return
        self._edits.edit(job.chat_id, message_id, text)
        if final:
            self._progress_ids.pop(job.id, None)
        else:
            self._progress_ids[job.id] = message_id

    async def _create_progress(self, job: Job) -> None:
        """Send the progress message; texts that arrived meanwhile become one edit."""
        sent = self._latest[job.id]
        try:
            message = await self._bot.send_message(
                job.chat_id, sent, reply_to_message_id=job.reply_to_message_id,
                allow_sending_without_reply=True, rate_limit_args=Priority.PROGRESS)
            self._progress_ids[job.id] = message.message_id
            await self._jobs.update(job, progress_message_id=message.message_id)
        except TelegramError as exc:
            logger.warning("job %d: progress message failed: %s", job.id, exc)
            return
        finally:
            self._creating.pop(job.id, None)
        latest = self._latest.pop(job.id, sent)
        if latest != sent:
            self._show(job, latest)

    async def _edit(self, chat_id: int, message_id: int, text: str) -> None:
        final = self._finals.get((chat_id, message_id))
        if final is None or final.text != text:
            await self._bot.edit_message_text(text, chat_id=chat_id, message_id=message_id,
                                              rate_limit_args=Priority.PROGRESS)
            return
        try:
            await self._bot.edit_message_text(text, chat_id=chat_id, message_id=message_id,
                                              rate_limit_args=Priority.REPLY)
        except BadRequest as exc:
            # "Not modified": the message says it already (an earlier run's edit went through).
            final.settle(None if "not modified" in str(exc).lower() else exc)
            raise
        except BaseException as exc:
            final.settle(exc)
            raise
        final.settle()


def _outage(job: Job) -> str:
    """The key of a disconnected gateway account's alert: the gateway is one account per deploy."""
    return f"disconnected:{job.provider}"


def _kind(job: Job) -> str:
    return texts.text(job.language, f"kind_{job.kind.value}")


def _caption(job: Job, caption: str) -> str:
    """A result sent again after a crash says that its owner may have it already."""
    if job.delivery_attempts <= 1:
        return caption[:CAPTION_LIMIT]
    note = texts.text(job.language, "maybe_duplicate", kind=_kind(job))
    return f"{caption[:CAPTION_LIMIT - len(note) - 2]}\n\n{note}"


def _progress_text(job: Job, phase: Phase) -> str:
    if phase is Phase.RENDERING:
        started = job.render_started_at or job.created_at
        return texts.text(job.language, "phase_rendering", id=job.id, kind=_kind(job),
                          elapsed=texts.duration(time.time() - started))
    if phase is Phase.DONE:
        elapsed = texts.duration((job.finished_at or time.time()) - job.created_at)
        if job.remaining_credits is not None:
            return texts.text(job.language, "phase_done_credits", id=job.id, kind=_kind(job),
                              elapsed=elapsed,
                              credits=texts.number(job.language, job.remaining_credits))
        return texts.text(job.language, "phase_done", id=job.id, kind=_kind(job),
                          elapsed=elapsed)
    return texts.text(job.language, f"phase_{phase.value}", id=job.id, kind=_kind(job))
