"""End to end: accounts, token renewal, secrets commands, access and isolation."""

from __future__ import annotations

import stat
from pathlib import Path

from bot.jobs.model import JobState
from bot.sim.server import FlowSimulator
from tests.conftest import ADMIN, BEARER, OTHER_USER, STRANGER, USER, StartBot
from tests.harness import BotHarness

COOKIE = "sim-cookie-0123456789-abcdefghij"
FRESH = "ya29.fresh.admin-token-9876543210-wxyz"
GROUP = -100500


async def _answer(bot: BotHarness, user: int, text: str, *, chat_id: int | None = None,
                  **kwargs: object) -> str:
    chat = chat_id or user
    before = len(bot.texts(chat))
    bot.telegram.send_text(user, text, chat_id=chat_id, **kwargs)  # type: ignore[arg-type]
    await bot.telegram.wait_for(lambda: len(bot.texts(chat)) > before)
    return bot.texts(chat)[-1]


async def test_token_expiring_mid_render_renews_itself_with_a_cookie(
        start_bot: StartBot, sim: FlowSimulator) -> None:
    sim.sessions.add_cookie(COOKIE)
    bot = await start_bot(flow_session_url=sim.session_url)
    assert "Saved the session cookie" in await _answer(bot, ADMIN, f"/cookie {COOKIE}")
    sim.config.latency = 1.0
    bot.telegram.send_text(USER, "/video renews by itself")
    await bot.wait_job(USER, lambda j: j.state is JobState.RENDERING)
    sim.sessions.expire()  # every token minted so far dies mid-render
    await bot.wait_videos(USER)
    assert not any("token" in text.lower() for text in bot.texts(USER))
    assert not any(m.get("_edits") and any("token" in e for e in m["_edits"])
                   for m in bot.telegram.bot_messages(USER))
    assert sim.sessions.renewals == 2  # once for /cookie, once after the 401
    assert any(e.status == 401 for e in sim.log if "batchCheck" in e.path)


async def test_without_a_cookie_the_job_waits_until_an_admin_sends_a_token(bot: BotHarness) -> None:
    await _answer(bot, ADMIN, "/start")  # a bot may only write to people who wrote to it
    bot.sim.config.latency = 1.0
    bot.telegram.send_text(USER, "/video waits for a token")
    await bot.wait_job(USER, lambda j: j.state is JobState.RENDERING)
    bot.sim.sessions.expire_static(BEARER)
    await bot.wait_job(USER, lambda j: j.state is JobState.WAITING_FOR_TOKEN)
    await bot.wait_text(USER, "refused the bot's token or key")
    alert = await bot.wait_text(ADMIN, "has expired and jobs are waiting")
    assert "/token" in alert
    bot.sim.config.bearer_token = FRESH

    token_message = bot.telegram.send_text(ADMIN, f"/token {FRESH}")
    confirmation = await bot.wait_text(ADMIN, "Saved the Google token")
    assert "ya29.…wxyz" in confirmation and FRESH not in confirmation
    assert "1 paused job(s) resume" in confirmation
    assert _deleted(bot, ADMIN, token_message["message_id"])
    await bot.wait_videos(USER)
    assert bot.sim.count("create-video-veo3") == 1
    alerts = [t for t in bot.texts(ADMIN) if "has expired and jobs are waiting" in t]
    assert len(alerts) == 1  # told once, not once per poll


async def test_token_is_stored_sealed_and_survives_a_restart(
        start_bot: StartBot, tmp_path: Path) -> None:
    bot = await start_bot(flow_bearer_token="ya29.env.token-that-google-refuses-0000")
    await _answer(bot, ADMIN, f"/token {BEARER}")
    await bot.stop()
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("bot.sqlite3*"))
    assert BEARER.encode() not in raw
    assert stat.S_IMODE((tmp_path / "secret.key").stat().st_mode) == 0o600
    revived = await start_bot(flow_bearer_token="ya29.env.token-that-google-refuses-0000")
    revived.telegram.send_text(USER, "/video with the stored token")
    await revived.wait_videos(USER)


async def test_secret_commands_in_a_group_are_refused_and_deleted(bot: BotHarness) -> None:
    sent = bot.telegram.send_text(ADMIN, f"/token {FRESH}", chat_id=GROUP, chat_type="group")
    refusal = await bot.wait_text(GROUP, "Never post secrets in a group")
    assert FRESH not in refusal
    assert _deleted(bot, GROUP, sent["message_id"])
    assert bot.engine.accounts.view("default").bearer_token == BEARER


async def test_only_admins_may_set_the_operator_token(bot: BotHarness) -> None:
    answer = await _answer(bot, USER, f"/token {FRESH}")
    assert "Only the bot's admins" in answer
    assert bot.engine.accounts.view("default").bearer_token == BEARER


async def test_account_shows_masked_token_credits_and_running_jobs(bot: BotHarness) -> None:
    answer = await _answer(bot, ADMIN, "/account")
    assert "ya29.…abcd" in answer and BEARER not in answer
    assert "Credits: 1000 (tier PAYGATE_TIER_TWO)" in answer
    assert "Jobs running on it: 0" in answer
    assert "operator's Google account" in await _answer(bot, USER, "/account")


async def test_users_bring_their_own_account(bot: BotHarness) -> None:
    own = "ya29.users.own-token-1111-2222-3333"
    bot.sim.config.bearer_token = None  # the simulator accepts any non-empty token
    login = bot.telegram.send_text(USER, f"/login {own} project=my-project proxy=my-proxy")
    assert "Your own Google account is set" in await bot.wait_text(USER, "account is set")
    assert _deleted(bot, USER, login["message_id"])
    bot.sim.config.proxy_token = None
    bot.telegram.send_text(USER, "/video on my own account")
    await bot.wait_videos(USER)
    create = next(e.body for e in bot.sim.log if e.path.endswith("create-video-veo3"))
    assert create["flow_auth_token"] == own
    assert create["body_json"]["clientContext"]["projectId"] == "my-project"
    job = (await bot.jobs_of(USER))[-1]
    assert job.account == f"user:{USER}"
    assert "account is erased" in await _answer(bot, USER, "/logout")
    assert bot.engine.accounts.account_for(USER) == "default"


async def test_login_needs_project_and_proxy(bot: BotHarness) -> None:
    answer = await _answer(bot, USER, "/login ya29.only.a-token-000000000000")
    assert "project=" in answer and not bot.engine.accounts.has_own(USER)


async def test_login_with_a_dead_cookie_is_refused(start_bot: StartBot, sim: FlowSimulator) -> None:
    bot = await start_bot(flow_session_url=sim.session_url)
    answer = await _answer(bot, USER, "/login cookie=not-a-live-cookie project=p proxy=q")
    assert "gave no token" in answer and not bot.engine.accounts.has_own(USER)


async def test_admins_allow_and_deny_users(bot: BotHarness) -> None:
    assert "private" in await _answer(bot, STRANGER, "/status")
    assert "may use the bot now" in await _answer(bot, ADMIN, f"/allow {STRANGER}")
    assert "no jobs yet" in await _answer(bot, STRANGER, "/status")
    assert "may no longer use" in await _answer(bot, ADMIN, f"/deny {OTHER_USER}")
    requests_before = len(bot.sim.log)
    assert "private" in await _answer(bot, OTHER_USER, "/video not any more")
    assert len(bot.sim.log) == requests_before
    listing = await _answer(bot, ADMIN, "/users")
    assert f"Admins: {ADMIN}" in listing and str(STRANGER) in listing
    assert f"Denied: {OTHER_USER}" in listing
    assert "Only the bot's admins" in await _answer(bot, USER, f"/allow {STRANGER}")
    assert "stays allowed" in await _answer(bot, ADMIN, f"/deny {ADMIN}")


async def test_access_decisions_survive_a_restart(start_bot: StartBot) -> None:
    bot = await start_bot()
    await _answer(bot, ADMIN, f"/allow {STRANGER}")
    await bot.stop()
    revived = await start_bot()
    assert "no jobs yet" in await _answer(revived, STRANGER, "/status")


async def test_daily_video_limit(start_bot: StartBot) -> None:
    bot = await start_bot(daily_video_limit=1)
    bot.telegram.send_text(USER, "/video the only one today")
    await bot.wait_videos(USER)
    answer = await _answer(bot, USER, "/video one more")
    assert "today's limit of 1 videos" in answer
    assert bot.sim.count("create-video-veo3") == 1
    bot.telegram.send_text(USER, "/image images are not videos")
    await bot.wait_photos(USER)


async def test_user_cannot_animate_someone_elses_image_in_a_group(bot: BotHarness) -> None:
    bot.telegram.send_text(USER, "/image mine", chat_id=GROUP, chat_type="group")
    photo = (await bot.wait_photos(GROUP))[0]
    answer = await _answer(bot, OTHER_USER, "/animate steal it", chat_id=GROUP,
                           reply_to=photo["message_id"])
    assert "Only the person who made this image" in answer
    assert bot.sim.count("create-video-veo3") == 0
    bot.telegram.send_text(ADMIN, "/animate admins may", chat_id=GROUP,
                           reply_to=photo["message_id"])
    await bot.wait_videos(GROUP)



async def test_token_renews_itself_before_it_expires(
        start_bot: StartBot, sim: FlowSimulator) -> None:
    sim.sessions.add_cookie(COOKIE)
    sim.sessions.token_ttl = 120.0  # minted tokens expire in two minutes
    bot = await start_bot(flow_session_url=sim.session_url, token_renew_margin=300.0)
    await _answer(bot, ADMIN, f"/cookie {COOKIE}")
    first = bot.engine.accounts.view("default").bearer_token
    assert sim.sessions.renewals == 1
    bot.telegram.send_text(USER, "/video renewed ahead of time")
    await bot.wait_videos(USER)
    # Within the margin of its expiry, the token was replaced before any call could fail.
    assert sim.sessions.renewals >= 2
    assert bot.engine.accounts.view("default").bearer_token != first
    assert not any(e.status == 401 for e in sim.log)


def _deleted(bot: BotHarness, chat_id: int, message_id: int) -> bool:
    message = bot.telegram.message(chat_id, message_id)
    assert message is not None, f"no message {message_id} in chat {chat_id}"
    return bool(message["_deleted"])
