"""End to end with PROVIDER=useapi: the real bot against the simulated useapi.net and the fake
Bot API, over loopback."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path
from typing import Any

import av
import pytest

from bot.jobs.model import JobState
from bot.sim.media import make_png
from bot.sim.useapi_state import DEFAULT_EMAIL
from tests.conftest import ADMIN, OTHER_USER, USEAPI_TOKEN, USER, StartBot
from tests.harness import BotHarness

VIDEOS = "/v1/google-flow/videos"
JOBS = "/v1/google-flow/jobs/"


def _decodes(data: bytes) -> bool:
    with av.open(io.BytesIO(data), mode="r") as container:
        return any(True for _ in container.decode(video=0))


def _bodies(bot: BotHarness, path: str) -> list[dict[str, Any]]:
    return [e.body for e in bot.sim.log if e.path == path and e.method == "POST"]


@pytest.fixture(params=[DEFAULT_EMAIL, None], ids=["email", "no-email"])
async def useapi(request: pytest.FixtureRequest, start_bot: StartBot) -> BotHarness:
    bot: BotHarness = await start_bot(provider="useapi", useapi_email=request.param)
    return bot


async def test_image_then_reply_animate(useapi: BotHarness) -> None:
    useapi.telegram.send_text(USER, "/image a cute cat")
    photo = (await useapi.wait_photos(USER))[0]
    assert photo["_file"].startswith(b"\x89PNG")
    image = await useapi.wait_job(USER, lambda j: j.state is JobState.DELIVERED)
    assert image.provider == "useapi" and image.media_id in useapi.sim.useapi.pictures
    asked = _bodies(useapi, "/v1/google-flow/images")[0]
    assert (asked["model"], asked["aspectRatio"]) == ("nano-banana-pro", "16:9")
    assert asked.get("email") == useapi.settings.useapi_email
    useapi.telegram.send_text(USER, "/animate walks slowly", reply_to=photo["message_id"])
    video = (await useapi.wait_videos(USER))[0]
    assert _decodes(video["_file"])
    sent = _bodies(useapi, VIDEOS)
    assert len(sent) == 1 and sent[0]["startImage"] == image.media_id and sent[0]["async"]
    assert useapi.sim.useapi.job_paths and all("%40" in p for p in useapi.sim.useapi.job_paths)
    assert useapi.sim.count("create-video-veo3") == 0  # nothing went through the Flow proxy


async def test_own_photo_is_uploaded_as_it_is_and_animated(useapi: BotHarness) -> None:
    png = make_png("a photo of mine", 96, 64)
    photo = useapi.telegram.send_photo(USER, png)
    useapi.telegram.send_text(USER, "/animate waves", reply_to=photo["message_id"])
    assert _decodes((await useapi.wait_videos(USER))[0]["_file"])
    uploads = [e for e in useapi.sim.log if "/v1/google-flow/assets" in e.path]
    assert [e.path for e in uploads] == [f"/v1/google-flow/assets/{DEFAULT_EMAIL}"]
    job = await useapi.wait_job(USER, lambda j: j.state is JobState.DELIVERED)
    assert job.reference_media_id is not None
    stored = useapi.sim.useapi.pictures[job.reference_media_id]
    assert (stored.data, stored.mime, stored.account) == (png, "image/png", DEFAULT_EMAIL)


async def test_text_to_video_with_options(useapi: BotHarness) -> None:
    useapi.telegram.send_text(USER, "/video 9:16 a dog surfing --dur 6 --seed 42")
    await useapi.wait_videos(USER)
    sent = _bodies(useapi, VIDEOS)[0]
    assert sent["prompt"] == "a dog surfing" and sent["aspectRatio"] == "portrait"
    assert (sent["duration"], sent["seed"], sent["model"]) == (6, 42, "veo-3.1-fast")
    assert sent.get("email") == useapi.settings.useapi_email
    useapi.telegram.send_text(USER, "/video a cat --res 1080p")
    assert "can't honour --res" in await useapi.wait_text(USER, "honour")


async def test_quality_takes_8_seconds_only(start_bot: StartBot) -> None:
    bot = await start_bot(provider="useapi", useapi_video_model="veo-3.1-quality")
    bot.telegram.send_text(USER, "/video a dog --dur 4")
    job = await bot.wait_job(USER, lambda j: j.state is JobState.FAILED)
    assert job.error_code == "rejected" and "8 seconds, not 4" in (job.error_detail or "")
    assert bot.sim.count(VIDEOS) == 0


async def test_a_failed_job_is_explained(start_bot: StartBot) -> None:
    bot = await start_bot(provider="useapi")
    bot.telegram.send_text(USER, "/video FORCE_FAIL a dog")
    job = await bot.wait_job(USER, lambda j: j.state is JobState.FAILED)
    assert job.error_code == "generation_failed"
    assert "Google could not generate it" in await bot.wait_text(USER, "failed.")


async def test_a_refusal_is_a_safety_block(start_bot: StartBot) -> None:
    bot = await start_bot(provider="useapi")
    bot.telegram.send_text(USER, "/video FORCE_UNSAFE a dog")
    job = await bot.wait_job(USER, lambda j: j.state is JobState.FAILED)
    assert job.error_code == "unsafe"
    assert "safety filters" in await bot.wait_text(USER, "failed.")
    bot.telegram.send_text(USER, "/image FORCE_UNSAFE a cat")
    image = await bot.wait_job(USER, lambda j: j.kind == "image" and j.state.terminal)
    assert image.error_code == "unsafe"


async def test_restart_mid_render_resumes_the_job(start_bot: StartBot) -> None:
    bot = await start_bot(provider="useapi")
    bot.sim.config.latency = 1.0
    bot.telegram.send_text(USER, "/video survives a restart")
    job = await bot.wait_job(USER, lambda j: j.state is JobState.RENDERING)
    assert job.task_id and job.render == [{"jobid": job.task_id}]
    await bot.stop()
    revived = await start_bot(provider="useapi")
    await revived.wait_videos(USER)
    await revived.wait_job(USER, lambda j: j.state is JobState.DELIVERED)
    assert revived.sim.count(VIDEOS, "POST") == 1
    assert len(revived.telegram.calls("sendVideo")) == 1


async def test_a_429_is_waited_out_then_sent_again(start_bot: StartBot) -> None:
    bot = await start_bot(provider="useapi")
    bot.sim.inject(VIDEOS, 429, retry_after=0.2)
    bot.telegram.send_text(USER, "/video a patient dog")
    await bot.wait_videos(USER)
    creates = [e for e in bot.sim.log if e.path == VIDEOS]
    assert [e.status for e in creates] == [429, 201]
    assert creates[1].at - creates[0].at >= 0.2


async def test_an_unclear_failure_is_not_sent_again(start_bot: StartBot) -> None:
    bot = await start_bot(provider="useapi")
    bot.sim.inject(VIDEOS, 502)
    bot.telegram.send_text(USER, "/video maybe made")
    job = await bot.wait_job(USER, lambda j: j.state is JobState.FAILED)
    assert job.error_code == "unclear" and job.task_id is None
    assert "not sent again" in await bot.wait_text(USER, "failed.")
    assert bot.sim.count(VIDEOS, "POST") == 1 and bot.telegram.calls("sendVideo") == []


async def test_a_wrong_token_makes_jobs_wait(start_bot: StartBot) -> None:
    bot = await start_bot(provider="useapi", useapi_token="user:1-not-the-right-token-000")
    bot.telegram.send_text(USER, "/video a dog")
    job = await bot.wait_job(USER, lambda j: j.state is JobState.WAITING_FOR_TOKEN)
    assert job.error_code == "auth_expired" and job.task_id is None
    assert bot.sim.count(VIDEOS, "POST") == 1
    assert all(USEAPI_TOKEN not in text for text in bot.texts(USER))


RECONNECT = "must be reconnected on useapi.net"
ALERT = "lost its session"


async def _said(bot: BotHarness, chat_id: int, text: str) -> str:
    """What the bot answered `text` in that chat."""
    before = len(bot.telegram.bot_messages(chat_id))
    bot.telegram.send_text(chat_id, text)
    await bot.telegram.wait_for(lambda: len(bot.telegram.bot_messages(chat_id)) > before)
    return str(bot.telegram.bot_messages(chat_id)[-1]["text"])


def _mentions(bot: BotHarness, chat_id: int, needle: str) -> int:
    """Messages of the chat (any of their versions) that said `needle`."""
    return sum(1 for m in bot.telegram.bot_messages(chat_id)
               if any(needle in t for t in [m.get("text") or "", *m.get("_edits", [])]))


async def test_a_596_on_a_poll_waits_then_resumes_by_itself(start_bot: StartBot) -> None:
    bot = await start_bot(provider="useapi", useapi_email=DEFAULT_EMAIL,
                          health_check_interval=0.2)
    await _said(bot, ADMIN, "/start")  # a bot may only write to people who wrote to it
    bot.sim.config.latency = 1.0
    bot.telegram.send_text(USER, "/video a dog across an outage")
    job = await bot.wait_job(USER, lambda j: j.state is JobState.RENDERING)
    bot.sim.useapi.disconnect()
    bot.sim.inject(JOBS, 596)
    waiting = await bot.wait_job(USER, lambda j: j.state is JobState.WAITING_FOR_TOKEN)
    assert waiting.error_code == "account_disconnected" and waiting.task_id == job.task_id
    assert "continues by itself" in await bot.wait_text(USER, RECONNECT)
    await bot.wait_text(ADMIN, ALERT)
    await bot.telegram.wait_for(lambda: bot.sim.count(f"/accounts/{DEFAULT_EMAIL}") >= 2)
    assert (await bot.jobs_of(USER))[-1].state is JobState.WAITING_FOR_TOKEN
    bot.sim.useapi.reconnect()
    await bot.wait_videos(USER)
    done = await bot.wait_job(USER, lambda j: j.state is JobState.DELIVERED)
    assert done.remaining_credits == bot.sim.useapi.accounts[DEFAULT_EMAIL].credits
    assert bot.sim.count(VIDEOS, "POST") == 1
    assert _mentions(bot, USER, RECONNECT) == 1 and _mentions(bot, ADMIN, ALERT) == 1
    await bot.wait_text(USER, "credits left")


async def test_a_596_at_create_waits_then_sends_it_again(start_bot: StartBot) -> None:
    bot = await start_bot(provider="useapi", useapi_email=DEFAULT_EMAIL,
                          health_check_interval=0.2)
    await _said(bot, ADMIN, "/start")
    bot.sim.useapi.disconnect()
    bot.telegram.send_text(USER, "/video a dog")
    first = await bot.wait_job(USER, lambda j: j.state is JobState.WAITING_FOR_TOKEN)
    bot.telegram.send_text(OTHER_USER, "/video a cat")
    await bot.wait_job(OTHER_USER, lambda j: j.state is JobState.WAITING_FOR_TOKEN)
    await bot.wait_text(OTHER_USER, RECONNECT)
    assert first.task_id is None and first.error_code == "account_disconnected"
    assert "Health: Session expired" in await _said(bot, ADMIN, "/account")
    bot.sim.useapi.reconnect()
    await bot.wait_videos(USER)
    await bot.wait_videos(OTHER_USER)
    creates = [e.status for e in bot.sim.log if e.path == VIDEOS]
    assert sorted(creates) == [201, 201, 596, 596]
    assert _mentions(bot, ADMIN, ALERT) == 1 and _mentions(bot, USER, RECONNECT) == 1


async def test_the_done_message_shows_the_credits_left(start_bot: StartBot) -> None:
    bot = await start_bot(provider="useapi")
    bot.sim.useapi.accounts[DEFAULT_EMAIL].credits = 2000
    bot.telegram.send_text(USER, "/video a dog")
    done = await bot.wait_text(USER, "credits left")
    left = bot.sim.useapi.accounts[DEFAULT_EMAIL].credits
    assert "done in" in done and f"· {left:,} credits left" in done and left < 2000


async def test_account_shows_health_credits_and_tier(start_bot: StartBot) -> None:
    bot = await start_bot(provider="useapi", useapi_email=DEFAULT_EMAIL)
    bot.sim.useapi.accounts[DEFAULT_EMAIL].credits = 1234
    for chat in (USER, ADMIN):
        shown = await _said(bot, chat, "/account")
        assert "Health: OK" in shown and "Credits: 1,234 (tier PAYGATE_TIER_TWO)" in shown


async def test_a_plan_without_4_seconds_is_useapis_to_refuse(start_bot: StartBot) -> None:
    bot = await start_bot(provider="useapi")
    bot.sim.useapi.make_pro()
    bot.telegram.send_text(USER, "/video a short dog --dur 4")
    job = await bot.wait_job(USER, lambda j: j.state is JobState.FAILED)
    assert job.error_code == "access_denied" and bot.sim.count(VIDEOS, "POST") == 1


async def test_an_expired_link_is_a_lost_result(start_bot: StartBot) -> None:
    bot = await start_bot(provider="useapi")
    bot.sim.config.useapi_link_seconds = -1
    bot.telegram.send_text(USER, "/video too late")
    job = await bot.wait_job(USER, lambda j: j.state is JobState.FAILED)
    assert job.error_code == "lost" and bot.sim.count(VIDEOS, "POST") == 1


async def test_the_token_goes_to_the_api_only_and_leaks_nowhere(
        start_bot: StartBot, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    bot = await start_bot(provider="useapi")
    bot.telegram.send_text(USER, "/image a cat")
    await bot.wait_photos(USER)
    bot.telegram.send_text(USER, "/video a dog")
    await bot.wait_videos(USER)
    bot.sim.inject(VIDEOS, 401, body={"error": "Unauthorized"})
    bot.telegram.send_text(USER, "/video refused")
    await bot.wait_job(USER, lambda j: j.state is JobState.WAITING_FOR_TOKEN)
    files = [e for e in bot.sim.log if e.path.startswith("/useapi-files/")]
    assert len(files) == 2 and all(e.status == 200 for e in files)  # signed, token-free
    assert USEAPI_TOKEN not in caplog.text
    assert USEAPI_TOKEN not in json.dumps(bot.telegram.calls("sendMessage")
                                          + bot.telegram.calls("editMessageText"))
    database = Path(bot.settings.database_path)
    for path in database.parent.glob(database.name + "*"):
        assert USEAPI_TOKEN.encode() not in path.read_bytes()
