"""`InboxPoller`: long polling that stores each update (`storage.inbox`) before Telegram is told it
arrived, so a crash at any moment either replays an update after the restart or has handled it
already, never neither.

It takes the place of PTB's `Updater` (`Application.builder().updater(None)`): the `Updater`
confirms an update with its next `getUpdates`, which can come before a handler stored the job, so a
kill in between lost the request without a trace. Here the next `getUpdates` is only made once the
batch is committed, and an update is marked handled once `Application.process_update` is done with
it. Replaying is idempotent: an update whose job is stored already (jobs keep their `update_id`)
is not handled again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable

from telegram import Update
from telegram.error import RetryAfter
from telegram.ext import Application

from bot.jobs.retry import backoff_ceiling
from storage.inbox import InboxStore, Received
from storage.jobs import JobStore

logger = logging.getLogger(__name__)
POLLING_GLITCH = "Exception happened while polling for updates."
KEEP_HANDLED = 2 * 86400.0  #: Telegram re-sends an unconfirmed update for 24 hours at most


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

    async def start(self, *, long_poll: int = 10) -> int:
        """Replay every stored update not handled yet, then long-poll (`long_poll` seconds a
        call); return how many updates were replayed."""
        await self._application.bot.delete_webhook()  # getUpdates is refused while one is set
        await self._inbox.prune(older_than=KEEP_HANDLED)
        replayed = 0
        for received in await self._inbox.pending():
            job = await self._jobs.find_by_update(received.update_id)
            if job is not None:
                logger.info("update %d: its job %d is stored already", received.update_id, job.id)
                await self._inbox.handled(received.update_id)
                continue
            logger.info("update %d: not handled before the stop; handling it now",
                        received.update_id)
            self._dispatch(received)
            replayed += 1
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
            for received in fresh:
                self._dispatch(received)

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

    def _dispatch(self, received: Received) -> None:
        update = Update.de_json(received.payload, self._application.bot)
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
        await self._inbox.handled(update.update_id)
