"""ChatPacer: per-chat spacing, a global budget handed out by priority, coalesced edits."""

from __future__ import annotations

import asyncio
import itertools
import time

from bot.telegram.pacing import ChatPacer, Priority


def recorder(order: list[str]):  # type: ignore[no-untyped-def]
    """`call(name)` makes a Telegram-call stand-in that records its name when it runs."""
    def call(name: str):  # type: ignore[no-untyped-def]
        async def run() -> None:
            order.append(name)
        return run
    return call


async def test_sends_in_one_chat_are_spaced() -> None:
    pacer = ChatPacer(chat_interval=0.1, edit_interval=0.1, global_rate=1000)
    stamps: list[float] = []

    async def call() -> None:
        stamps.append(time.monotonic())

    await asyncio.gather(*(pacer.send(1, call) for _ in range(4)))
    assert len(stamps) == 4
    assert min(b - a for a, b in itertools.pairwise(stamps)) >= 0.1 - 0.005


async def test_deliveries_overtake_waiting_progress_messages() -> None:
    pacer = ChatPacer(chat_interval=0, edit_interval=0, global_rate=20, global_burst=1)
    order: list[str] = []
    call = recorder(order)

    progress = [asyncio.create_task(pacer.send(chat, call(f"progress{chat}"),
                                               priority=Priority.PROGRESS))
                for chat in range(1, 6)]
    await asyncio.sleep(0.01)  # the first progress message went, the rest wait for permits
    video = asyncio.create_task(pacer.send(99, call("video"), priority=Priority.DELIVERY))
    await asyncio.gather(*progress, video)
    assert order[0] == "progress1" and order[1] == "video"
    assert sorted(order[2:]) == [f"progress{chat}" for chat in range(2, 6)]


async def test_edits_of_one_message_are_coalesced_to_the_newest_text() -> None:
    pacer = ChatPacer(chat_interval=0, edit_interval=0.2, global_rate=1000)
    sent: list[str] = []

    async def edit(text: str, markup: object) -> None:
        sent.append(text)

    for n in range(6):
        pacer.edit(7, 42, f"text {n}", None, edit)
        await asyncio.sleep(0.01)
    await pacer.drain(wait=2)
    assert sent[-1] == "text 5"
    assert len(sent) <= 2  # the first edit, then only the newest of the others
    await pacer.close()


async def test_the_global_budget_allows_a_burst_then_the_rate() -> None:
    pacer = ChatPacer(chat_interval=0, edit_interval=0, global_rate=20, global_burst=5)
    stamps: list[float] = []

    async def call() -> None:
        stamps.append(time.monotonic())

    started = time.monotonic()
    await asyncio.gather(*(pacer.send(chat, call) for chat in range(9)))
    assert stamps[4] - started < 0.03  # the first five at once
    assert stamps[8] - started >= 4 / 20 - 0.01  # then one every 1/20 s


async def test_a_result_lends_its_priority_to_its_own_chats_waiting_chatter() -> None:
    pacer = ChatPacer(chat_interval=0, edit_interval=0, global_rate=20, global_burst=1)
    order: list[str] = []
    call = recorder(order)

    others = [asyncio.create_task(pacer.send(chat, call(f"progress{chat}"),
                                             priority=Priority.PROGRESS)) for chat in range(1, 6)]
    await asyncio.sleep(0.01)
    own = asyncio.create_task(pacer.send(7, call("progress7"), priority=Priority.PROGRESS))
    await asyncio.sleep(0.01)  # chat 7 now holds its lock, waiting for a low-priority permit
    video = asyncio.create_task(pacer.send(7, call("video7"), priority=Priority.DELIVERY))
    await asyncio.gather(*others, own, video)
    assert order.index("video7") <= 3  # not behind the other chats' four waiting messages
    assert order.index("progress7") < order.index("video7")
