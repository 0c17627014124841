"""The rate limiter and the edit coalescer on a virtual clock: spacing per chat, a global budget
by priority, coalesced edits, the retry rule. No test waits for real time."""

from __future__ import annotations

import asyncio
import heapq
import io
import itertools
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from telegram import InputFile
from telegram.error import BadRequest, NetworkError, RetryAfter, TimedOut

from bot.telegram.edits import EditCoalescer
from bot.telegram.pacing import Priority, RetryRule, TelegramPacer

Stamp = tuple[str, float]


class VirtualClock:
    """`sleep` parks its caller; `run` moves time to the next wake-up once all else is blocked."""

    def __init__(self) -> None:
        self.now = 0.0
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        future = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self.now + max(0.0, seconds), next(self._order), future))
        await future

    async def run(self, *work: Awaitable[Any], until: float = 1000.0) -> list[Any]:
        everything = asyncio.gather(*work)
        while True:
            for _ in range(50):  # let every runnable task run until it blocks
                await asyncio.sleep(0)
            if everything.done():
                return list(await everything)
            self._wake_next(until)

    def _wake_next(self, until: float) -> None:
        while self._sleepers:
            moment, _, future = heapq.heappop(self._sleepers)
            if not future.done():
                assert moment <= until, "nothing left to do before the deadline"
                self.now = max(self.now, moment)
                future.set_result(None)
                return
        raise AssertionError("deadlock: everyone waits and no one sleeps")


def pacer(clock: VirtualClock, *, chat_interval: float = 0.0, rate: float = 1000.0,
          burst: float | None = None, retry: RetryRule | None = None) -> TelegramPacer:
    return TelegramPacer(chat_interval=chat_interval, global_rate=rate, global_burst=burst,
                         retry=retry or RetryRule(random=lambda: 0.0), clock=clock)


def call(limiter: TelegramPacer, clock: VirtualClock, log: list[Stamp], name: str,
         chat_id: int | None, *, priority: Priority | None = None, endpoint: str = "sendMessage",
         failures: list[Exception] | None = None) -> Awaitable[Any]:
    """One Bot API call through the limiter; it records (name, time) and raises `failures`
    first, one per attempt."""
    async def callback() -> bool:
        log.append((name, clock.now))
        if failures:
            raise failures.pop(0)
        return True

    data = {} if chat_id is None else {"chat_id": chat_id}
    return limiter.process_request(callback, (), {}, endpoint, data, priority)


def names(log: list[Stamp]) -> list[str]:
    return [name for name, _ in log]


async def test_calls_in_one_chat_are_spaced_but_other_chats_are_not_delayed() -> None:
    clock, log = VirtualClock(), list[Stamp]()
    limiter = pacer(clock, chat_interval=1.1)
    await clock.run(*(call(limiter, clock, log, f"a{n}", 1) for n in range(4)),
                    call(limiter, clock, log, "b", 2))
    assert [at for name, at in log if name.startswith("a")] == pytest.approx([0, 1.1, 2.2, 3.3])
    assert ("b", 0.0) in log


async def test_a_result_may_skip_its_chats_spacing() -> None:
    clock, log = VirtualClock(), list[Stamp]()
    limiter = pacer(clock, chat_interval=1.1)
    await clock.run(call(limiter, clock, log, "reply", 1),
                    call(limiter, clock, log, "video", 1, priority=Priority.DELIVERY),
                    call(limiter, clock, log, "progress", 1, priority=Priority.PROGRESS))
    assert log == [("reply", 0.0), ("video", 0.0), ("progress", pytest.approx(1.1))]


async def test_the_global_budget_allows_a_burst_then_the_rate() -> None:
    clock, log = VirtualClock(), list[Stamp]()
    limiter = pacer(clock, rate=20, burst=5)
    await clock.run(*(call(limiter, clock, log, str(chat), chat) for chat in range(9)))
    stamps = [at for _, at in log]
    assert stamps[:5] == [0.0] * 5
    assert stamps[5:] == pytest.approx([0.05, 0.10, 0.15, 0.20])


async def test_calls_without_a_chat_neither_wait_nor_take_permits() -> None:
    clock, log = VirtualClock(), list[Stamp]()
    limiter = pacer(clock, rate=1, burst=1)
    await clock.run(call(limiter, clock, log, "first", 1),
                    *(call(limiter, clock, log, f"getMe{n}", None, endpoint="getMe")
                      for n in range(3)),
                    call(limiter, clock, log, "poll", 5, endpoint="getUpdates"),
                    call(limiter, clock, log, "second", 2))
    assert {name for name, at in log if at == 0} == {"first", "getMe0", "getMe1", "getMe2", "poll"}
    assert ("second", 1.0) in log


async def test_deliveries_overtake_waiting_progress_messages() -> None:
    clock, log = VirtualClock(), list[Stamp]()
    limiter = pacer(clock, rate=20, burst=1)
    progress = [call(limiter, clock, log, f"progress{chat}", chat, priority=Priority.PROGRESS)
                for chat in range(1, 6)]
    late_video = _after(clock, 0.01, call(limiter, clock, log, "video", 99,
                                          priority=Priority.DELIVERY))
    await clock.run(*progress, late_video)
    assert names(log)[:2] == ["progress1", "video"]
    assert sorted(names(log)[2:]) == [f"progress{chat}" for chat in range(2, 6)]


async def test_replies_go_before_progress_and_after_deliveries() -> None:
    clock, log = VirtualClock(), list[Stamp]()
    limiter = pacer(clock, rate=10, burst=1)
    await clock.run(call(limiter, clock, log, "first", 1),
                    call(limiter, clock, log, "progress", 2, priority=Priority.PROGRESS),
                    call(limiter, clock, log, "reply", 3),
                    call(limiter, clock, log, "video", 4, priority=Priority.DELIVERY))
    assert names(log) == ["first", "video", "reply", "progress"]


async def test_a_result_lends_its_priority_to_its_own_chats_waiting_chatter() -> None:
    clock, log = VirtualClock(), list[Stamp]()
    limiter = pacer(clock, rate=20, burst=1)
    others = [call(limiter, clock, log, f"progress{chat}", chat, priority=Priority.PROGRESS)
              for chat in range(1, 6)]
    # Chat 7's progress message holds its chat, waiting for a low-priority permit...
    own = _after(clock, 0.01, call(limiter, clock, log, "progress7", 7,
                                   priority=Priority.PROGRESS))
    # ...when its video arrives behind it.
    video = _after(clock, 0.02, call(limiter, clock, log, "video7", 7,
                                     priority=Priority.DELIVERY))
    await clock.run(*others, own, video)
    assert names(log).index("video7") <= 3  # not behind the other chats' four messages
    assert names(log).index("progress7") < names(log).index("video7")


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")  # RetryAfter
async def test_a_flood_wait_is_honoured_with_a_little_jitter() -> None:
    clock, log = VirtualClock(), list[Stamp]()
    limiter = pacer(clock, retry=RetryRule(random=lambda: 1.0, flood_jitter=0.5))
    result = await clock.run(call(limiter, clock, log, "video", 1, failures=[RetryAfter(3)]))
    assert result == [True]
    assert log == [("video", 0.0), ("video", 3.5)]


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")  # RetryAfter
async def test_a_flood_wait_longer_than_the_rule_allows_is_final() -> None:
    clock, log = VirtualClock(), list[Stamp]()
    limiter = pacer(clock, retry=RetryRule(max_seconds=60, random=lambda: 0.0))
    with pytest.raises(RetryAfter):
        await clock.run(call(limiter, clock, log, "video", 1, failures=[RetryAfter(100)]))
    assert len(log) == 1


async def test_a_timed_out_send_is_not_retried() -> None:
    clock, log = VirtualClock(), list[Stamp]()
    limiter = pacer(clock)
    with pytest.raises(TimedOut):
        await clock.run(call(limiter, clock, log, "video", 1, failures=[TimedOut()]))
    assert len(log) == 1


async def test_a_bad_request_is_not_retried() -> None:
    clock, log = VirtualClock(), list[Stamp]()
    limiter = pacer(clock)
    with pytest.raises(BadRequest):
        await clock.run(call(limiter, clock, log, "reply", 1, failures=[BadRequest("no")]))
    assert len(log) == 1


async def test_network_errors_back_off_exponentially_with_full_jitter_then_give_up() -> None:
    clock, log = VirtualClock(), list[Stamp]()
    rule = RetryRule(attempts=4, base_delay=1.0, random=lambda: 1.0)  # the jitter's ceiling
    limiter = pacer(clock, retry=rule)
    with pytest.raises(NetworkError):
        await clock.run(call(limiter, clock, log, "reply", None, endpoint="getMe",
                             failures=[NetworkError("blink") for _ in range(4)]))
    assert [at for _, at in log] == [0.0, 1.0, 3.0, 7.0]


def test_the_jitter_spreads_a_network_retry_between_zero_and_the_ceiling() -> None:
    low = RetryRule(base_delay=1.0, random=lambda: 0.0)
    high = RetryRule(base_delay=1.0, max_delay=5.0, random=lambda: 1.0)
    blink = NetworkError("blink")
    assert low.delay(3, 0.0, blink) == 0.0
    assert high.delay(3, 0.0, blink) == 4.0 and high.delay(4, 0.0, blink) == 5.0


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")  # RetryAfter
async def test_a_retried_upload_sends_the_whole_file_again() -> None:
    clock = VirtualClock()
    limiter = pacer(clock)
    handle = io.BytesIO(b"x" * 1000)
    video = InputFile(handle, filename="v.mp4", read_file_handle=False)
    uploads: list[int] = []

    async def upload() -> bool:
        uploads.append(len(handle.read()))
        if len(uploads) == 1:
            raise RetryAfter(1)
        return True

    await clock.run(limiter.process_request(upload, (), {}, "sendVideo",
                                            {"chat_id": 1, "video": video}, Priority.DELIVERY))
    assert uploads == [1000, 1000]


async def test_edits_of_one_message_are_coalesced_to_the_newest_text() -> None:
    clock, sent = VirtualClock(), list[Stamp]()
    edits = EditCoalescer(send=_recorder(clock, sent), interval=3.0, clock=clock)

    async def typing() -> None:
        for n in range(6):
            edits.edit(7, 42, f"text {n}")
            await clock.sleep(0.1)

    await clock.run(typing())
    await clock.run(edits.drain())
    assert sent == [("7:42 text 0", 0.0), ("7:42 text 5", 3.0)]


async def test_edits_in_one_chat_go_once_per_interval() -> None:
    clock, sent = VirtualClock(), list[Stamp]()
    edits = EditCoalescer(send=_recorder(clock, sent), interval=3.0, clock=clock)
    for message_id in (1, 2, 3):
        edits.edit(7, message_id, "done")
    edits.edit(8, 1, "done")
    await clock.run(edits.drain())
    assert sent == [("7:1 done", 0.0), ("8:1 done", 0.0), ("7:2 done", 3.0), ("7:3 done", 6.0)]


async def test_edits_wait_while_the_global_budget_is_contended() -> None:
    clock, sent = VirtualClock(), list[Stamp]()
    edits = EditCoalescer(send=_recorder(clock, sent), interval=1.0, clock=clock,
                          contended=lambda: clock.now < 10)
    edits.edit(7, 42, "rendering")
    await clock.run(edits.drain())
    assert sent == [("7:42 rendering", 10.0)]


async def test_an_edit_that_changes_nothing_is_quietly_dropped() -> None:
    clock = VirtualClock()

    async def refuse(chat_id: int, message_id: int, text: str) -> None:
        raise BadRequest("Message is not modified")

    edits = EditCoalescer(send=refuse, interval=1.0, clock=clock)
    edits.edit(7, 42, "same")
    edits.edit(7, 43, "same")
    await clock.run(edits.drain())
    await edits.close()


def _recorder(clock: VirtualClock,
              sent: list[Stamp]) -> Callable[[int, int, str], Awaitable[None]]:
    async def send(chat_id: int, message_id: int, text: str) -> None:
        sent.append((f"{chat_id}:{message_id} {text}", clock.now))
    return send


async def _after(clock: VirtualClock, delay: float, work: Awaitable[Any]) -> Any:
    await clock.sleep(delay)
    return await work
