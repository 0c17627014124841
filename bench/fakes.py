"""The two servers the bench runs on loopback, tuned to stay cheap and small under load.

`BenchTelegram` is the test suite's `FakeTelegram` with its flood limits on (Telegram's published
limits: about 1 message per second per chat, 30 per second in all; past them a 429 with
`retry_after`, each counted in `flood_429`). Three changes keep it fit for hundreds of 5 MB
uploads, none of which changes what a client sees:

* multipart bodies are split with `bytes.find` instead of the `email` package (which costs about
  70-170 ms of the bench's CPU per 5 MB upload and would slow the very server being measured);
* an uploaded video's bytes are dropped once its size is recorded (800 x 5 MB would otherwise stay
  in the bench process: in the message's `_file` and in the fake's file store);
* every accepted `sendVideo` (one that passed the flood check) is recorded with its arrival time,
  chat and caption, which is what job latency is measured against.

`BenchSim` is the `FlowSimulator` without the request bodies in its log (a poll body of 800
operations at every tick adds up); method, path, status, arrival time and the number of
operations of each poll stay, which is all the metrics need.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from bot.sim.server import VIDEO_PREFIX, FlowSimulator, LoggedRequest
from bot.sim.telegram import FakeTelegram, _Call


@dataclass(frozen=True)
class Delivery:
    """One sendVideo the fake accepted."""

    chat_id: int
    caption: str
    at: float  # time.monotonic() when the fake took it (after the whole upload arrived)
    size: int  # bytes of the uploaded video


class BenchTelegram(FakeTelegram):
    """`FakeTelegram` with flood limits, a fast multipart parser and no kept upload bytes."""

    def __init__(self, *, token: str = "777000:BENCH-TOKEN") -> None:
        super().__init__(token=token, flood_limits=True)
        self.deliveries: list[Delivery] = []

    def api_requests(self) -> int:
        """Bot API calls received, 429s included, without the getUpdates long polls."""
        return sum(1 for method, _ in self.requests if method != "getUpdates")

    def by_method(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for method, _ in self.requests:
            counts[method] = counts.get(method, 0) + 1
        return counts

    # FakeTelegram's hooks (private in the test fake; kept in sync by the smoke test)

    def _api_sendVideo(self, call: _Call) -> dict[str, Any]:
        at = time.monotonic()
        result: dict[str, Any] = super()._api_sendVideo(call)
        video = result["video"]
        self.deliveries.append(Delivery(int(result["chat"]["id"]), str(result.get("caption", "")),
                                        at, int(video["file_size"])))
        stored = self.files.get(video["file_id"])
        if stored is not None:
            stored.data = b""
        message = self._index.get((result["chat"]["id"], result["message_id"]))
        if message is not None:
            message["_file"] = None
        return result


class BenchSim(FlowSimulator):
    """`FlowSimulator` whose log keeps no request bodies."""

    def _record(self, entry: LoggedRequest) -> None:
        entry.body = None
        super()._record(entry)

    def video_times(self) -> dict[str, tuple[float, float | None]]:
        """prompt -> (when its create-video arrived, when its video was first fetched)."""
        fetched: dict[str, float] = {}
        for entry in self.log:
            if entry.path.startswith(VIDEO_PREFIX) and entry.status == 200:
                name = entry.path.removeprefix(VIDEO_PREFIX).removesuffix(".mp4")
                fetched.setdefault(name, entry.at)
        return {op.spec.prompt: (op.created, fetched.get(op.name))
                for op in self._state.operations.values()}
