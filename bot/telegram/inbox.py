"""`InboxPoller`: long polling that stores each update (`storage.inbox`) before Telegram is told it
arrived, so a crash at any moment either replays an update after the restart or has handled it
already, never neither.

It takes the place of PTB's `Updater` (`Application.builder().updater(None)`): the `Updater`
confirms an update with its next `getUpdates`, which can come before a handler stored the job, so a
kill in between lost the request without a trace. Here the next `getUpdates` is only made once the
batch is committed, and an update is marked handled once `Application.process_update` is done with
it. Replaying is idempotent: an update whose job is stored already (jobs keep their `update_id`)
is not handled again.

An album comes as one update per picture, and only the handler of its last part makes the job
(`bot.telegram.albums`): its parts are marked handled together, once none is being handled any
more, and replayed together, or not at all when one of them has its job. Otherwise a crash before
the job could replay the last part alone, and make a job of a piece of the album.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field

from telegram import Update
from telegram.error import RetryAfter
from telegram.ext import Application

from bot.jobs.retry import backoff_ceiling
from storage.inbox import InboxStore, Received
from storage.jobs import JobStore

logger = logging.getLogger(__name__)
POLLING_GLITCH = "Exception happened while polling for updates."
KEEP_HANDLED = 2 * 86400.0  #: Telegram re-sends an unconfirmed update for 24 hours at most
AlbumKey = tuple[int, str]  #: (chat id, media_group_id)


@dataclass
class _Album:
    handling: set[int] = field(default_factory=set)  #: update ids whose handler runs
    done: list[int] = field(default_factory=list)  #: update ids handled, not yet marked


class InboxPoller:
    """`start()` replays what a previous run left unhandled, then polls until `stop()`."""

    def __init__(self, *, application: Application,  # type: ignore[type-arg]
                 inbox: InboxStore, jobs: JobStore, retry_delay: float = 0.5,
                 max_retry_delay: float = 30.0,
                 jitter: Callable[[], float] = random.random) -> None:
        self._application = application
        self._inbox = inbox
        self._jobs = jobs
        self._retry_delay = retry_delay
        self._max_retry_delay = max_retry_delay
        self._jitter = jitter
        self._poller: asyncio.Task[None] | None = None
        self._handling: set[asyncio.Task[None]] = set()
        self._albums: dict[AlbumKey, _Album] = {}

    async def start(self, *, long_poll: int = 10) -> int:
        """Replay every stored update not handled yet, then long-poll (`long_poll` seconds a
        call); return how many updates were replayed."""
        await self._application.bot.delete_webhook()  # getUpdates is refused while one is set
        await self._inbox.prune(older_than=KEEP_HANDLED)
        replayed = 0
        for updates in _together(await self._inbox.pending(), self._application):
            jobs = [job for update in updates
                    if (job := await self._jobs.find_by_update(update.update_id)) is not None]
            if jobs:
                logger.info("update %d: its job %d is stored already", jobs[0].update_id,
                            jobs[0].id)
                for update in updates:
                    await self._inbox.handled(update.update_id)
                continue
            for update in updates:
                logger.info("update %d: not handled before the stop; handling it now",
                            update.update_id)
                self._dispatch(update)
            replayed += len(updates)
        self._poller = asyncio.create_task(self._poll(long_poll), name="inbox:poll")
        return replayed

    async def stop(self, *, grace: float = 5.0) -> None:
        """Stop polling, give the updates being handled `grace` seconds, and leave the rest in
        the inbox for the next start. A batch fetched but not stored was not confirmed either:
        Telegram sends it again."""
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
            self._poller = None
        if self._handling:
            _, late = await asyncio.wait(set(self._handling), timeout=grace)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)

    async def _poll(self, long_poll: int) -> None:
        bot = self._application.bot
        offset: int | None = None
        failures = 0
        while True:
            try:
                updates = await bot.get_updates(offset=offset, timeout=long_poll,
                                                allowed_updates=Update.ALL_TYPES)
            except Exception as exc:  # never let the loop die: the bot would go deaf
                failures += 1
                await asyncio.sleep(self._pause(exc, failures))
                continue
            failures = 0
            if not updates:
                continue
            fresh = await self._inbox.receive(
                [Received(update.update_id, update.to_dict()) for update in updates])
            # Only now may the next call confirm them: they are committed.
            offset = updates[-1].update_id + 1
            known = {received.update_id for received in fresh}
            for update in updates:
                if update.update_id in known:
                    self._dispatch(update)

    def _pause(self, exc: Exception, failures: int) -> float:
        if isinstance(exc, RetryAfter):
            retry_after = exc.retry_after
            seconds = (retry_after.total_seconds() if not isinstance(retry_after, int)
                       else float(retry_after))
            logger.warning("getUpdates: flood wait of %.0fs", seconds)
            return seconds
        logger.error(POLLING_GLITCH, exc_info=exc)
        return self._jitter() * backoff_ceiling(failures, base=self._retry_delay,
                                                cap=self._max_retry_delay)

    def _dispatch(self, update: Update) -> None:
        album = _album_of(update)
        if album is not None:
            self._albums.setdefault(album, _Album()).handling.add(update.update_id)
        task = asyncio.create_task(self._handle(update), name=f"update:{update.update_id}")
        self._handling.add(task)
        task.add_done_callback(self._handling.discard)

    async def _handle(self, update: Update) -> None:
        """PTB's own processing (handlers, error handler, concurrency limit); then the update
        is handled, whatever the handlers made of it. Cancelled (a stop): it stays pending."""
        application = self._application
        try:
            await application.update_processor.process_update(
                update, application.process_update(update))
        except Exception:
            logger.exception("update %d: processing failed", update.update_id)
        key = _album_of(update)
        album = self._albums.get(key) if key is not None else None
        if album is None:
            await self._inbox.handled(update.update_id)
            return
        album.handling.discard(update.update_id)
        album.done.append(update.update_id)
        if album.handling:
            return  # the album's job comes from a part still being handled
        assert key is not None
        del self._albums[key]
        for update_id in album.done:
            await self._inbox.handled(update_id)


def _album_of(update: Update) -> AlbumKey | None:
    message = update.effective_message
    if message is None or message.media_group_id is None:
        return None
    return message.chat_id, message.media_group_id


def _together(pending: list[Received],
              application: Application) -> list[list[Update]]:  # type: ignore[type-arg]
    """Stored updates as PTB objects, the parts of an album in one list, in order."""
    groups: dict[AlbumKey | int, list[Update]] = {}
    for received in pending:
        update = Update.de_json(received.payload, application.bot)
        groups.setdefault(_album_of(update) or update.update_id, []).append(update)
    return list(groups.values())
