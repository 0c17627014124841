"""`ChatPacer`: keeps the bot under Telegram's flood limits.

Sends (replies, photos, videos) go out at most once per `chat_interval` per chat and at most
`global_rate` per second in all. Progress edits are coalesced: only the newest text of a message
is sent, at most once per `edit_interval` per chat, so a busy job never floods its chat.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import heapq
import itertools
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any, TypeVar

from telegram.error import BadRequest, NetworkError, RetryAfter, TimedOut

logger = logging.getLogger(__name__)
T = TypeVar("T")
EditCall = Callable[[str, Any], Awaitable[Any]]


class Priority(IntEnum):
    """Who goes first when the global budget is short: results before chatter."""

    DELIVERY = 0  #: the image or video the user waits for
    REPLY = 1  #: answers and notices
    PROGRESS = 2  #: progress messages and their edits (cosmetic, coalesced)


@dataclass(order=True)
class _Ticket:
    priority: int
    order: int
    future: asyncio.Future[None] = field(compare=False)


class _PriorityGate:
    """A token bucket: `rate` permits per second, bursts up to `burst`; when permits run short,
    waiters get them by priority, then in order of arrival."""

    def __init__(self, rate: float, burst: float) -> None:
        self._rate = rate
        self._burst = max(1.0, burst)
        self._tokens = self._burst
        self._stamp = time.monotonic()
        self._waiting: list[_Ticket] = []
        self._order = itertools.count()
        self._releaser: asyncio.Task[None] | None = None

    async def take(self, priority: int, chat: _Chat | None = None) -> None:
        """Wait for a permit; while waiting, `chat.ticket` lets a later, more urgent send of
        the same chat raise this wait's priority (see `bump`)."""
        self._refill()
        if not self._waiting and self._tokens >= 1:
            self._tokens -= 1
            return
        ticket = _Ticket(priority, next(self._order),
                         asyncio.get_running_loop().create_future())
        heapq.heappush(self._waiting, ticket)
        if self._releaser is None or self._releaser.done():
            self._releaser = asyncio.create_task(self._release())
        if chat is not None:
            chat.ticket = ticket
        try:
            await ticket.future
        finally:
            if chat is not None:
                chat.ticket = None

    @property
    def congested(self) -> bool:
        """Someone is waiting for a permit."""
        return any(not ticket.future.done() for ticket in self._waiting)

    def bump(self, ticket: _Ticket, priority: int) -> None:
        if priority < ticket.priority and not ticket.future.done():
            ticket.priority = priority
            heapq.heapify(self._waiting)

    def _refill(self) -> None:
        now = time.monotonic()
        self._tokens = min(self._burst, self._tokens + (now - self._stamp) * self._rate)
        self._stamp = now

    async def _release(self) -> None:
        while self._waiting:
            self._refill()
            if self._tokens < 1:
                await asyncio.sleep((1 - self._tokens) / self._rate)
                continue
            ticket = heapq.heappop(self._waiting)
            if ticket.future.done():  # its caller was cancelled
                continue
            self._tokens -= 1
            ticket.future.set_result(None)


@dataclass(eq=False)
class _Chat:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    last_send: float = 0.0
    last_edit: float = 0.0
    pending: dict[int, tuple[str, Any, EditCall]] = field(default_factory=dict)
    flusher: asyncio.Task[None] | None = None
    ticket: _Ticket | None = None  #: the permit this chat's lock holder is waiting for
    deliveries_waiting: int = 0  #: results queued behind the lock: whoever holds it hurries


class ChatPacer:
    def __init__(self, *, chat_interval: float, edit_interval: float, global_rate: float,
                 global_burst: float | None = None, max_retries: int = 5) -> None:
        self._chat_interval = chat_interval
        self._edit_interval = edit_interval
        self._gate = _PriorityGate(global_rate, global_burst or global_rate)
        self._max_retries = max_retries
        self._chats: dict[int, _Chat] = {}

    async def send(self, chat_id: int, call: Callable[[], Awaitable[T]], *,
                   priority: Priority = Priority.REPLY) -> T:
        """Run one Telegram call for this chat when the limits allow it.

        The permit is taken last, right before the call, so that sends never bunch up past the
        global rate. A result queued behind its own chat's chatter lends that chatter its
        priority, so a video never waits behind a cosmetic progress edit's turn.
        """
        chat = self._chats.setdefault(chat_id, _Chat())
        urgent = priority is Priority.DELIVERY
        if urgent:
            chat.deliveries_waiting += 1
            if chat.ticket is not None:
                self._gate.bump(chat.ticket, priority)
        try:
            async with chat.lock:
                if urgent:
                    chat.deliveries_waiting -= 1
                    urgent = False
                else:
                    # A result may use the short burst Telegram allows a chat; chatter may not.
                    await _sleep_until(chat.last_send + self._chat_interval)
                try:
                    return await self._with_retries(call, priority, chat)
                finally:
                    chat.last_send = time.monotonic()
        finally:
            if urgent:  # cancelled while waiting for the lock
                chat.deliveries_waiting -= 1

    def edit(self, chat_id: int, message_id: int, text: str, markup: Any, call: EditCall) -> None:
        """Ask for a message's text to become `text`; an older pending text is dropped."""
        chat = self._chats.setdefault(chat_id, _Chat())
        chat.pending.pop(message_id, None)
        chat.pending[message_id] = (text, markup, call)
        if chat.flusher is None or chat.flusher.done():
            chat.flusher = asyncio.create_task(self._flush(chat_id, chat))

    async def drain(self, wait: float = 10.0) -> None:
        """Wait for pending edits (used at shutdown and by the terminal front)."""
        flushers = [c.flusher for c in self._chats.values() if c.flusher and not c.flusher.done()]
        if flushers:
            await asyncio.wait(flushers, timeout=wait)

    async def close(self) -> None:
        for chat in self._chats.values():
            if chat.flusher is not None:
                chat.flusher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await chat.flusher

    async def _flush(self, chat_id: int, chat: _Chat) -> None:
        while chat.pending:
            await _sleep_until(chat.last_edit + self._edit_interval)
            if self._gate.congested:
                # Edits are cosmetic and coalesced: while others wait for the global budget,
                # this one waits another round (its newest text goes out later).
                chat.last_edit = time.monotonic()
                continue
            async with chat.lock:
                await _sleep_until(chat.last_send + self._chat_interval)
                if not chat.pending:
                    return
                message_id = next(iter(chat.pending))
                text, markup, call = chat.pending.pop(message_id)
                try:
                    await self._with_retries(functools.partial(call, text, markup),
                                             Priority.PROGRESS, chat)
                except BadRequest as exc:
                    if "not modified" not in str(exc).lower():
                        logger.info("edit in chat %d failed: %s", chat_id, exc)
                except Exception as exc:
                    logger.warning("edit in chat %d failed: %s", chat_id, exc)
                finally:
                    chat.last_send = chat.last_edit = time.monotonic()

    async def _with_retries(self, call: Callable[[], Awaitable[T]], priority: Priority,
                            chat: _Chat) -> T:
        """Take a permit, call; when Telegram asks us to wait (429) or the network blinks, wait
        and do both again."""
        for attempt in range(1, self._max_retries + 1):
            hurry = Priority.DELIVERY if chat.deliveries_waiting else priority
            await self._gate.take(min(priority, hurry), chat)
            try:
                return await call()
            except RetryAfter as exc:
                delay = _seconds(exc.retry_after)
                logger.warning("Telegram flood limit: waiting %.1fs (attempt %d)", delay, attempt)
            except TimedOut:
                raise  # the request may have arrived: sending again could post it twice
            except NetworkError as exc:
                if attempt == self._max_retries or isinstance(exc, BadRequest):
                    raise
                delay = min(2.0**attempt, 30.0)
                logger.info("Telegram network error (%s); retrying in %.1fs", exc, delay)
            if attempt == self._max_retries:
                break
            await asyncio.sleep(delay)
        raise RuntimeError("Telegram kept refusing the call")


def _seconds(value: Any) -> float:
    return float(value.total_seconds()) if hasattr(value, "total_seconds") else float(value)


async def _sleep_until(moment: float) -> None:
    delay = moment - time.monotonic()
    if delay > 0:
        await asyncio.sleep(delay)
