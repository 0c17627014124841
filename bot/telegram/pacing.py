"""`TelegramPacer`: the bot's rate limiter (a PTB `BaseRateLimiter`), so every Bot API call stays
under Telegram's flood limits: per-chat spacing, a global budget handed out by priority, and one
retry rule for flood waits and network blinks.

Callers choose a priority per call: `bot.send_video(..., rate_limit_args=Priority.DELIVERY)`;
a call without one (a command reply) is a `Priority.REPLY`.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import random
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from enum import IntEnum
from typing import IO, Any, Protocol

from telegram import InputFile
from telegram.error import BadRequest, NetworkError, RetryAfter, TelegramError, TimedOut
from telegram.ext import BaseRateLimiter

from bot.jobs.retry import backoff_ceiling

logger = logging.getLogger(__name__)
Result = bool | dict[str, Any] | list[dict[str, Any]]  #: what a Bot API call answers
Call = Callable[[], Coroutine[Any, Any, Result]]
MAX_IDLE_CHATS = 1024  #: chats remembered before idle ones are forgotten
EPSILON = 1e-9  #: a permit this close to whole is whole (else float rounding stalls the bucket)


class Clock(Protocol):
    """Time as the pacer sees it; tests pass a virtual one so they never wait for real."""

    def monotonic(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class Priority(IntEnum):
    """Who goes first when the global budget is short: results before chatter.

    Never 0: PTB drops a falsy `rate_limit_args` before it reaches the limiter.
    """

    DELIVERY = 1  #: the image or video the user waits for
    REPLY = 2  #: answers and notices (the default)
    PROGRESS = 3  #: progress messages and their edits (cosmetic, coalesced)


@dataclass(frozen=True)
class RetryRule:
    """When a failed Bot API call is tried again; `attempts` and `max_seconds` bound the tries."""

    attempts: int = 5
    max_seconds: float = 120.0
    base_delay: float = 1.0
    max_delay: float = 30.0
    flood_jitter: float = 0.5  #: at most this much is added to a 429's `retry_after`
    random: Callable[[], float] = field(default=random.random, compare=False)

    def delay(self, attempt: int, spent: float, exc: TelegramError) -> float | None:
        """Seconds to wait before trying again, or None when `exc` is final."""
        if attempt >= self.attempts:
            return None
        if isinstance(exc, RetryAfter):
            delay = _seconds(exc.retry_after) + self.flood_jitter * self.random()
        elif isinstance(exc, TimedOut | BadRequest) or not isinstance(exc, NetworkError):
            # A timed-out request may have arrived: sending it again could post it twice.
            return None
        else:
            delay = self.random() * backoff_ceiling(attempt, base=self.base_delay,
                                                    cap=self.max_delay)
        return delay if spent + delay <= self.max_seconds else None


@dataclass(order=True)
class _Ticket:
    priority: int
    order: int
    future: asyncio.Future[None] = field(compare=False)


@dataclass(eq=False)
class _Chat:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    last_send: float = float("-inf")
    users: int = 0  #: calls inside `_in_chat`; a chat with none may be forgotten
    ticket: _Ticket | None = None  #: the permit this chat's lock holder is waiting for
    deliveries_waiting: int = 0  #: results queued behind the lock: whoever holds it hurries


class _PriorityGate:
    """A token bucket: `rate` permits per second, bursts up to `burst`; when permits run short,
    waiters get them by priority, then in order of arrival."""

    def __init__(self, rate: float, burst: float, clock: Clock) -> None:
        self._rate = rate
        self._burst = max(1.0, burst)
        self._clock = clock
        self._tokens = self._burst
        self._stamp = clock.monotonic()
        self._waiting: list[_Ticket] = []
        self._order = itertools.count()
        self._releaser: asyncio.Task[None] | None = None

    async def take(self, priority: int, chat: _Chat | None = None) -> None:
        """Wait for a permit; while waiting, `chat.ticket` lets a later, more urgent call of
        the same chat raise this wait's priority (see `bump`)."""
        self._refill()
        if not self._waiting and self._tokens >= 1 - EPSILON:
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

    def congested(self) -> bool:
        """Someone is waiting for a permit."""
        return any(not ticket.future.done() for ticket in self._waiting)

    def bump(self, ticket: _Ticket, priority: int) -> None:
        if priority < ticket.priority and not ticket.future.done():
            ticket.priority = priority
            heapq.heapify(self._waiting)

    def close(self) -> None:
        if self._releaser is not None:
            self._releaser.cancel()

    def _refill(self) -> None:
        now = self._clock.monotonic()
        self._tokens = min(self._burst, self._tokens + (now - self._stamp) * self._rate)
        self._stamp = now

    async def _release(self) -> None:
        while self._waiting:
            self._refill()
            if self._tokens < 1 - EPSILON:
                await self._clock.sleep((1 - self._tokens) / self._rate)
                continue
            ticket = heapq.heappop(self._waiting)
            if ticket.future.done():  # its caller was cancelled
                continue
            self._tokens -= 1
            ticket.future.set_result(None)


class TelegramPacer(BaseRateLimiter[Priority]):
    """Calls of one chat go out one at a time, `chat_interval` apart (a result may skip the
    spacing: Telegram allows a chat a short burst), each after taking a permit of the global
    budget. Calls without a chat (getMe, answerCallbackQuery) neither wait nor take permits;
    PTB never passes getUpdates here. Every call follows `retry`."""

    def __init__(self, *, chat_interval: float, global_rate: float,
                 global_burst: float | None = None, retry: RetryRule | None = None,
                 clock: Clock | None = None) -> None:
        self._clock = clock or SystemClock()
        self._chat_interval = chat_interval
        self._gate = _PriorityGate(global_rate, global_burst or global_rate, self._clock)
        self._retry = retry or RetryRule()
        self._chats: dict[int | str, _Chat] = {}

    async def initialize(self) -> None:
        """Nothing to open."""

    async def shutdown(self) -> None:
        self._gate.close()

    def contended(self) -> bool:
        """Calls are waiting for the global budget: cosmetic work should hold back."""
        return self._gate.congested()

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, Result]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: Priority | None,
    ) -> Result:
        def call() -> Coroutine[Any, Any, Result]:
            return callback(*args, **kwargs)

        chat_id = data.get("chat_id")
        if endpoint == "getUpdates":
            return await call()  # a long poll is idle time, not a message
        if chat_id is None:
            return await self._retrying(call, endpoint, data)
        return await self._in_chat(chat_id, rate_limit_args or Priority.REPLY, call,
                                   endpoint, data)

    async def _in_chat(self, chat_id: int | str, priority: Priority, call: Call,
                       endpoint: str, data: dict[str, Any]) -> Result:
        """A result queued behind its own chat's chatter lends that chatter its priority, so a
        video never waits for a cosmetic edit's turn."""
        chat = self._chat(chat_id)
        lending = priority is Priority.DELIVERY
        chat.users += 1
        if lending:
            chat.deliveries_waiting += 1
            if chat.ticket is not None:
                self._gate.bump(chat.ticket, priority)
        try:
            async with chat.lock:
                if lending:
                    chat.deliveries_waiting -= 1
                    lending = False
                else:
                    await self._sleep_until(chat.last_send + self._chat_interval)
                try:
                    return await self._retrying(
                        lambda: self._permitted(priority, chat, call), endpoint, data)
                finally:
                    chat.last_send = self._clock.monotonic()
        finally:
            chat.users -= 1
            if lending:  # cancelled while waiting for the lock
                chat.deliveries_waiting -= 1

    async def _permitted(self, priority: Priority, chat: _Chat, call: Call) -> Result:
        """The permit is taken last, right before the call, so calls never bunch up past the
        global rate."""
        hurry = Priority.DELIVERY if chat.deliveries_waiting else priority
        await self._gate.take(min(priority, hurry), chat)
        return await call()

    async def _retrying(self, call: Call, endpoint: str, data: dict[str, Any]) -> Result:
        started = self._clock.monotonic()
        uploads = _upload_positions(data)
        attempt = 0
        while True:
            attempt += 1
            try:
                return await call()
            except TelegramError as exc:
                delay = self._retry.delay(attempt, self._clock.monotonic() - started, exc)
                if delay is None:
                    raise
                level = logging.WARNING if isinstance(exc, RetryAfter) else logging.INFO
                logger.log(level, "%s failed (%s); attempt %d, retrying in %.2fs",
                           endpoint, exc, attempt, delay)
            await self._clock.sleep(delay)
            for handle, position in uploads:  # a retry must send the whole file again
                handle.seek(position)

    def _chat(self, chat_id: int | str) -> _Chat:
        chat = self._chats.get(chat_id)
        if chat is None:
            if len(self._chats) >= MAX_IDLE_CHATS:
                self._forget_idle_chats()
            chat = self._chats[chat_id] = _Chat()
        return chat

    def _forget_idle_chats(self) -> None:
        """A chat nobody is using and whose spacing has passed holds nothing worth keeping."""
        quiet = self._clock.monotonic() - self._chat_interval
        for chat_id, chat in list(self._chats.items()):
            if chat.users == 0 and chat.last_send <= quiet:
                del self._chats[chat_id]

    async def _sleep_until(self, moment: float) -> None:
        delay = moment - self._clock.monotonic()
        if delay > 0:
            await self._clock.sleep(delay)


def _upload_positions(data: dict[str, Any]) -> list[tuple[IO[bytes], int]]:
    """Where each file handle being uploaded starts (PTB streams a handle without reading it)."""
    return [(value.input_file_content, value.input_file_content.tell())
            for value in data.values()
            if isinstance(value, InputFile) and not isinstance(value.input_file_content, bytes)]


def _seconds(value: Any) -> float:
    return float(value.total_seconds()) if hasattr(value, "total_seconds") else float(value)
