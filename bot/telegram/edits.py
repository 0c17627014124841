"""`EditCoalescer`: progress edits are cosmetic, so only the newest text of a message is sent, at
most once per `interval` per chat, and none while other calls wait for the global budget."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from telegram.error import BadRequest, TelegramError

from bot.telegram.pacing import Clock, SystemClock

logger = logging.getLogger(__name__)
Edit = Callable[[int, int, str], Awaitable[object]]  #: (chat_id, message_id, text)
MIN_ROUND = 0.05  #: the shortest wait of an edit held back by a contended budget
MAX_IDLE_CHATS = 1024


@dataclass(eq=False)
class _ChatEdits:
    pending: dict[int, str] = field(default_factory=dict)  #: message id -> newest text
    last: float = float("-inf")
    flusher: asyncio.Task[None] | None = None


class EditCoalescer:
    """`edit()` never waits: it records the newest text; a task per chat sends it in time."""

    def __init__(self, *, send: Edit, interval: float,
                 contended: Callable[[], bool] = lambda: False,
                 clock: Clock | None = None) -> None:
        self._send = send
        self._interval = interval
        self._contended = contended
        self._clock = clock or SystemClock()
        self._chats: dict[int, _ChatEdits] = {}

    def edit(self, chat_id: int, message_id: int, text: str) -> None:
        """Ask for a message's text to become `text`; an older pending text is dropped."""
        chat = self._chat(chat_id)
        chat.pending.pop(message_id, None)  # to the end of the queue: others' turn first
        chat.pending[message_id] = text
        if chat.flusher is None or chat.flusher.done():
            chat.flusher = asyncio.create_task(self._flush(chat_id, chat))

    async def drain(self, wait: float = 10.0) -> None:
        """Wait (at most `wait` seconds) for pending edits: at shutdown, last words go out."""
        flushers = [c.flusher for c in self._chats.values() if c.flusher and not c.flusher.done()]
        if flushers:
            await asyncio.wait(flushers, timeout=wait)

    async def close(self) -> None:
        for chat in self._chats.values():
            if chat.flusher is not None:
                chat.flusher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await chat.flusher

    async def _flush(self, chat_id: int, chat: _ChatEdits) -> None:
        while chat.pending:
            delay = chat.last + self._interval - self._clock.monotonic()
            if delay > 0:
                await self._clock.sleep(delay)
            if self._contended():
                # Others wait for the global budget: this edit waits a round, and its newest
                # text goes out later.
                await self._clock.sleep(max(self._interval, MIN_ROUND))
                continue
            message_id = next(iter(chat.pending))
            text = chat.pending.pop(message_id)
            try:
                await self._send(chat_id, message_id, text)
            except BadRequest as exc:
                if "not modified" not in str(exc).lower():
                    logger.info("edit in chat %d failed: %s", chat_id, exc)
            except TelegramError as exc:
                logger.warning("edit in chat %d failed: %s", chat_id, exc)
            except Exception:
                logger.exception("edit in chat %d failed", chat_id)
            finally:
                chat.last = self._clock.monotonic()

    def _chat(self, chat_id: int) -> _ChatEdits:
        chat = self._chats.get(chat_id)
        if chat is None:
            if len(self._chats) >= MAX_IDLE_CHATS:
                self._forget_idle_chats()
            chat = self._chats[chat_id] = _ChatEdits()
        return chat

    def _forget_idle_chats(self) -> None:
        quiet = self._clock.monotonic() - self._interval
        for chat_id, chat in list(self._chats.items()):
            if not chat.pending and chat.last <= quiet and (
                    chat.flusher is None or chat.flusher.done()):
                del self._chats[chat_id]
