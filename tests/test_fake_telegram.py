"""The fake Telegram Bot API, driven by python-telegram-bot itself over real HTTP."""

from __future__ import annotations

import asyncio
import struct
import time
import zlib
from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Update
from telegram.error import BadRequest, EndPointNotFound, InvalidToken, RetryAfter
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.sim import telegram as telegram_fake
from bot.sim.entities import parse_entities
from bot.sim.telegram import FakeTelegram

USER = 1001
KEYBOARD = InlineKeyboardMarkup([[InlineKeyboardButton("Go", callback_data="go:1")]])


def _png(width: int, height: int) -> bytes:
    """A tiny valid-looking PNG header (enough for size sniffing), plus binary junk."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    body = struct.pack(">I", len(ihdr)) + chunk + struct.pack(">I", zlib.crc32(chunk))
    return b"\x89PNG\r\n\x1a\n" + body + bytes(range(256)) + b"\r\n--\r\n\n\r"


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    server = FakeTelegram()
    await server.start()
    yield server
    await server.stop()


def _bot(fake: FakeTelegram, token: str | None = None) -> Bot:
    return Bot(token or fake.token, base_url=f"{fake.url}/bot",
               base_file_url=f"{fake.url}/file/bot")


@pytest.fixture
async def bot(fake: FakeTelegram) -> AsyncIterator[Bot]:
    async with _bot(fake) as client:
        yield client


async def _ping(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None
    await update.effective_message.reply_text("pong")


async def _menu(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None
    await update.effective_message.reply_text("choose", reply_markup=KEYBOARD)


async def _photo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    assert message is not None and message.photo
    data = await (await message.photo[-1].get_file()).download_as_bytearray()
    await message.reply_text(f"got {len(data)} bytes, caption={message.caption}")


async def _pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None
    await query.answer("ok")
    await query.edit_message_text(f"pressed {query.data}")


@pytest.fixture
async def app(fake: FakeTelegram) -> AsyncIterator[Application]:  # type: ignore[type-arg]
    application = (
        Application.builder().token(fake.token)
        .base_url(f"{fake.url}/bot").base_file_url(f"{fake.url}/file/bot").build()
    )
    application.add_handler(CommandHandler("ping", _ping))
    application.add_handler(CommandHandler("menu", _menu))
    application.add_handler(MessageHandler(filters.PHOTO, _photo))
    application.add_handler(CallbackQueryHandler(_pressed))
    async with application:
        await application.start()
        assert application.updater is not None
        await application.updater.start_polling(poll_interval=0.0, timeout=1)
        yield application
        await application.updater.stop()
        await application.stop()


# ---------------------------------------------------------------------- through an Application


async def test_ping_gets_a_reply(fake: FakeTelegram, app: Application) -> None:  # type: ignore[type-arg]
    sent = fake.send_text(USER, "/ping")
    assert sent["entities"] == [{"type": "bot_command", "offset": 0, "length": 5}]
    reply = await fake.wait_for(lambda: fake.bot_messages(USER))
    assert reply[0]["text"] == "pong"
    assert reply[0]["message_id"] == sent["message_id"] + 1
    assert reply[0]["from"]["is_bot"] is True
    assert [m["message_id"] for m in fake.messages[USER]] == [1, 2]
    assert {"getMe", "deleteWebhook", "getUpdates", "sendMessage"} <= {
        method for method, _ in fake.requests}


async def test_command_addressed_to_the_bot_by_username(
    fake: FakeTelegram, app: Application  # type: ignore[type-arg]
) -> None:
    sent = fake.send_text(USER, "/ping@veo_test_bot now")
    assert sent["entities"][0]["length"] == len("/ping@veo_test_bot")
    await fake.wait_for(lambda: fake.bot_messages(USER))


async def test_callback_query_reaches_the_handler(
    fake: FakeTelegram, app: Application  # type: ignore[type-arg]
) -> None:
    fake.send_text(USER, "/menu")
    menu = (await fake.wait_for(lambda: fake.bot_messages(USER)))[0]
    assert menu["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "go:1"
    query_id = fake.press_button(USER, menu["message_id"], "go:1")
    await fake.wait_for(lambda: menu["_edits"])
    assert menu["text"] == "pressed go:1" and menu["_edits"] == ["pressed go:1"]
    assert "reply_markup" not in menu  # an edit without reply_markup drops the keyboard
    assert fake.answered_callbacks[0]["callback_query_id"] == query_id
    assert fake.calls("answerCallbackQuery")[0]["text"] == "ok"


async def test_user_photo_is_downloaded_by_the_app(
    fake: FakeTelegram, app: Application  # type: ignore[type-arg]
) -> None:
    photo = _png(1080, 1920)
    sent = fake.send_photo(USER, photo, caption="a cat")
    assert [(p["width"], p["height"]) for p in sent["photo"]] == [(180, 320), (1080, 1920)]
    reply = await fake.wait_for(lambda: fake.bot_messages(USER))
    assert reply[0]["text"] == f"got {len(photo)} bytes, caption=a cat"


# ---------------------------------------------------------------------- with a bare Bot


async def test_get_file_download_returns_the_same_bytes(fake: FakeTelegram, bot: Bot) -> None:
    photo = _png(64, 48)
    sent = fake.send_photo(USER, photo, caption="/animate slowly")
    assert sent["caption_entities"][0]["type"] == "bot_command"
    file = await bot.get_file(sent["photo"][-1]["file_id"])
    assert file.file_size == len(photo)
    assert bytes(await file.download_as_bytearray()) == photo
    with pytest.raises(BadRequest, match="Invalid file_id"):
        await bot.get_file("nope")


async def test_send_video_records_bytes_and_streaming(
    fake: FakeTelegram, bot: Bot, tmp_path: Path
) -> None:
    fake.send_text(USER, "hello")
    data = bytes(range(256)) * 40 + b"\r\n\r\n--boundary\r\n"
    path = tmp_path / "clip.mp4"
    path.write_bytes(data)
    with path.open("rb") as handle:
        message = await bot.send_video(USER, video=InputFile(handle, read_file_handle=False),
                                       supports_streaming=True, caption="your video")
    assert message.video is not None and message.video.file_size == len(data)
    stored = fake.bot_messages(USER)[-1]
    assert stored["_file"] == data
    assert stored["_params"]["supports_streaming"] is True
    assert stored["caption"] == "your video"
    assert stored["video"]["mime_type"] == "video/mp4"
    assert fake.calls("sendVideo")[0]["video"] == {"upload": "clip.mp4", "size": len(data)}
    file = await bot.get_file(message.video.file_id)
    assert bytes(await file.download_as_bytearray()) == data


async def test_without_kept_uploads_only_sizes_and_deliveries_remain() -> None:
    fake = FakeTelegram(keep_uploads=False)
    await fake.start()
    try:
        async with _bot(fake) as client:
            fake.send_text(USER, "hello")
            data = bytes(range(256)) * 2000 + b"\r\n--boundary--\r\n"
            before = time.monotonic()
            message = await client.send_video(USER, video=data, filename="fox.mp4",
                                              caption="🎬 a fox")
            assert message.video is not None and message.video.file_size == len(data)
            with pytest.raises(InvalidToken, match="Not Found"):  # PTB reads any 404 so
                await (await client.get_file(message.video.file_id)).download_as_bytearray()
    finally:
        await fake.stop()
    assert fake.bot_messages(USER)[-1]["_file"] is None
    assert fake.files[message.video.file_id].data is None
    [delivery] = fake.deliveries
    assert (delivery.chat_id, delivery.caption, delivery.size) == (USER, "🎬 a fox", len(data))
    assert before <= delivery.at <= time.monotonic()
    assert fake.calls("sendVideo")[0]["video"] == {"upload": "fox.mp4", "size": len(data)}


async def test_inject_fails_the_next_calls_of_a_method(fake: FakeTelegram, bot: Bot) -> None:
    fake.send_text(USER, "hello")
    fake.inject("sendMessage", 400, "Bad Request: chat not found", times=2)
    for _ in range(2):
        with pytest.raises(BadRequest, match="Chat not found"):
            await bot.send_message(USER, "x")
    assert (await bot.send_message(USER, "y")).text == "y"
    assert fake.method_counts()["sendMessage"] == 3 and fake.deliveries == []


async def test_send_photo_by_upload_and_by_file_id(fake: FakeTelegram, bot: Bot) -> None:
    fake.send_text(USER, "hello")
    photo = _png(640, 360)
    first = await bot.send_photo(USER, photo=photo, caption="<b>done</b>", parse_mode="HTML")
    assert first.caption == "done" and first.photo[-1].width == 640
    again = await bot.send_photo(USER, photo=first.photo[-1].file_id)
    assert fake.bot_messages(USER)[-1]["_file"] == photo and again.caption is None
    with pytest.raises(BadRequest, match="Message caption is too long"):
        await bot.send_photo(USER, photo=photo, caption="x" * 1025)
    with pytest.raises(BadRequest, match="Wrong file identifier"):
        await bot.send_photo(USER, photo="unknown-file-id")


async def test_edit_message_text(fake: FakeTelegram, bot: Bot) -> None:
    fake.send_text(USER, "hello")
    sent = await bot.send_message(USER, "working…", reply_markup=KEYBOARD)
    with pytest.raises(BadRequest, match="Message is not modified"):
        await bot.edit_message_text("working…", USER, sent.message_id, reply_markup=KEYBOARD)
    edited = await bot.edit_message_text("<i>done</i>", USER, sent.message_id,
                                         parse_mode="HTML")
    assert isinstance(edited, type(sent)) and edited.text == "done"
    with pytest.raises(BadRequest, match="Message to edit not found"):
        await bot.edit_message_text("x", USER, 999)
    with pytest.raises(BadRequest, match="Message can't be edited"):
        await bot.edit_message_text("x", USER, 1)  # the user's message
    assert fake.bot_messages(USER)[-1]["_edits"] == ["done"]


async def test_edit_caption_markup_and_delete(fake: FakeTelegram, bot: Bot) -> None:
    fake.send_text(USER, "hello")
    photo = await bot.send_photo(USER, photo=_png(10, 10), caption="one")
    await bot.edit_message_caption(USER, photo.message_id, caption="two")
    await bot.edit_message_reply_markup(USER, photo.message_id, reply_markup=KEYBOARD)
    with pytest.raises(BadRequest, match="not modified"):
        await bot.edit_message_reply_markup(USER, photo.message_id, reply_markup=KEYBOARD)
    stored = fake.message(USER, photo.message_id)
    assert stored is not None and stored["caption"] == "two" and stored["_edits"] == ["two"]
    text = await bot.send_message(USER, "plain")
    with pytest.raises(BadRequest, match="There is no caption"):
        await bot.edit_message_caption(USER, text.message_id, caption="x")
    assert await bot.delete_message(USER, text.message_id) is True
    assert [m["message_id"] for m in fake.bot_messages(USER)] == [photo.message_id]
    with pytest.raises(BadRequest, match="Message to delete not found"):
        await bot.delete_message(USER, text.message_id)


async def test_send_message_errors(fake: FakeTelegram, bot: Bot) -> None:
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.send_message(USER, "nobody wrote yet")
    fake.send_text(USER, "hello")
    await bot.send_message(USER, "x" * 4096)
    with pytest.raises(BadRequest, match="Message is too long"):
        await bot.send_message(USER, "x" * 4097)
    with pytest.raises(BadRequest, match="unsupported start tag"):
        await bot.send_message(USER, "a <prompt> b", parse_mode="HTML")
    with pytest.raises(BadRequest, match=r"character '\.' is reserved"):
        await bot.send_message(USER, "Done.", parse_mode="MarkdownV2")
    with pytest.raises(BadRequest, match="Wrong parameter action"):
        await bot.send_chat_action(USER, "dancing")
    assert await bot.send_chat_action(USER, "upload_video") is True


async def test_replies_both_ways(fake: FakeTelegram, bot: Bot) -> None:
    first = fake.send_text(USER, "a prompt")
    answer = await bot.send_message(USER, "ok", reply_to_message_id=first["message_id"])
    assert answer.reply_to_message is not None
    assert answer.reply_to_message.text == "a prompt"
    second = fake.send_text(USER, "/video", reply_to=answer.message_id)
    assert second["reply_to_message"]["text"] == "ok"
    assert "reply_to_message" not in second["reply_to_message"]
    updates = await bot.get_updates()
    assert updates[-1].message is not None and updates[-1].message.reply_to_message is not None
    with pytest.raises(BadRequest, match="replied not found"):
        await bot.send_message(USER, "x", reply_to_message_id=99)


async def test_group_chat(fake: FakeTelegram, bot: Bot) -> None:
    group = -100123
    fake.send_text(USER, "/ping", chat_id=group, chat_type="supergroup", first_name="Ann")
    sent = fake.send_text(USER + 1, "hi", chat_id=group)
    assert sent["chat"]["type"] == "supergroup" and sent["message_id"] == 2
    update = (await bot.get_updates())[0]
    assert update.effective_chat is not None and update.effective_chat.type == "supergroup"
    assert update.effective_user is not None and update.effective_user.first_name == "Ann"


async def test_get_updates_long_poll_and_offsets(fake: FakeTelegram, bot: Bot) -> None:
    started = time.monotonic()
    assert await bot.get_updates(timeout=0) == ()
    asyncio.get_running_loop().call_later(0.05, fake.send_text, USER, "late")
    updates = await bot.get_updates(timeout=5)
    assert time.monotonic() - started < 1.0
    assert [u.message.text for u in updates if u.message] == ["late"]
    fake.send_text(USER, "next")
    again = await bot.get_updates(offset=updates[-1].update_id + 1, timeout=0)
    assert [u.message.text for u in again if u.message] == ["next"]


async def test_commands_round_trip(bot: Bot) -> None:
    assert await bot.set_my_commands([("image", "Make an image"), ("video", "Animate")])
    commands = await bot.get_my_commands()
    assert [c.command for c in commands] == ["image", "video"]
    with pytest.raises(BadRequest, match="Bot_command_invalid"):
        await bot.set_my_commands([("Bad-Name", "x")])


async def test_wrong_token_and_unknown_method(fake: FakeTelegram, bot: Bot) -> None:
    with pytest.raises(InvalidToken):
        await _bot(fake, "999:WRONG").get_me()
    with pytest.raises(EndPointNotFound):
        await bot.do_api_request("sendFakeThing", api_kwargs={"chat_id": USER})


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_flood_limits_answer_429(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeTelegram(flood_limits=True)
    # Time stands still for the fake's buckets, so a slow (loaded) machine cannot refill them
    # between the sends this test counts on being refused.
    frozen = time.monotonic()
    monkeypatch.setattr(telegram_fake, "time", SimpleNamespace(monotonic=lambda: frozen,
                                                               time=time.time))
    await fake.start()
    try:
        async with _bot(fake) as client:
            await _flood_per_chat_and_global(fake, client)
    finally:
        await fake.stop()


async def _flood_per_chat_and_global(fake: FakeTelegram, bot: Bot) -> None:
    fake.send_text(USER, "hello")
    for index in range(3):
        await bot.send_message(USER, f"burst {index}")
    with pytest.raises(RetryAfter, match="Retry in"):
        await bot.send_message(USER, "one too many")
    assert fake.flood_429 == 1
    assert await bot.send_chat_action(USER, "typing")  # exempt
    assert len(fake.bot_messages(USER)) == 3  # the refused message was not sent
    for chat in range(2000, 2060):
        fake.send_text(chat, "hi")
    refused = 0
    for chat in range(2000, 2060):
        try:
            await bot.send_message(chat, "hello")
        except RetryAfter:
            refused += 1
    assert refused >= 10 and fake.flood_429 == 1 + refused
    last = fake.calls("sendMessage")[-1]
    assert last["chat_id"] == 2059


async def test_wait_for_reports_on_timeout(fake: FakeTelegram) -> None:
    fake.send_text(USER, "hello")
    with pytest.raises(AssertionError, match="wait_for timed out") as info:
        await fake.wait_for(lambda: fake.bot_messages(USER)[0], timeout=0.05)
    assert "IndexError" in str(info.value) and "chat 1001" in str(info.value)


async def test_press_button_needs_a_bot_message(fake: FakeTelegram) -> None:
    sent = fake.send_text(USER, "hello")
    with pytest.raises(ValueError, match="no bot message"):
        fake.press_button(USER, sent["message_id"], "x")


@pytest.mark.parametrize(("text", "mode", "plain"), [
    ("<b>a</b> &amp; <a href='x'>b</a>", "HTML", "a & b"),
    ("*bold* \\. _it_ [link](http://x.y/\\)) `co\\`de`", "MarkdownV2", "bold . it link co`de"),
    ("*bold* _it_ [l](u)", "Markdown", "bold it l"),
    ("a < b", None, "a < b"),
])
def test_parse_modes(text: str, mode: str | None, plain: str) -> None:
    assert parse_entities(text, mode)[0] == plain
