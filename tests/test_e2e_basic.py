"""End to end: the real bot against the simulator and the fake Bot API, over loopback."""

from __future__ import annotations

from tests.conftest import USER
from tests.harness import BotHarness


async def test_video_from_text(bot: BotHarness) -> None:
    bot.telegram.send_text(USER, "/video a dog surfing")
    videos = await bot.wait_videos(USER)
    assert videos[0]["_params"]["supports_streaming"] is True
    assert videos[0]["_file"][4:8] == b"ftyp"
