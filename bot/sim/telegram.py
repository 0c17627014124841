"""A fake Telegram Bot API server over real HTTP, for tests and benchmarks.

The bot under test talks to it with python-telegram-bot exactly as it talks to Telegram:

    fake = FakeTelegram()
    root = await fake.start()
    app = (Application.builder().token(fake.token)
           .base_url(f"{root}/bot").base_file_url(f"{root}/file/bot").build())

The test drives the *user* side with `send_text`, `send_photo`, `send_album` and `press_button`
(each queues an Update, one per message, that the bot receives through `getUpdates` long polling)
and observes the *bot* side through `messages`, `bot_messages`, `requests`, `calls` and
`wait_for`.

Answers are real Bot API JSON, including Telegram's error descriptions for the mistakes a bot
commonly makes (text too long, unparsable HTML/MarkdownV2, editing without a change, unknown chat,
unknown message) and, with `flood_limits=True`, 429 "Too Many Requests" answers modelled on the
published limits (about 1 message per second per chat, 30 per second in total).

Benchmarks get public hooks instead of subclassing: `keep_uploads=False` counts uploaded bytes
as they stream in and keeps none of them, `deliveries` records every accepted `sendVideo`, and
`inject()` makes the next calls of a method fail. Crash tests get `hold()`: the next matching call
waits, unhandled or handled but unanswered, until released (or forever, if the bot is killed).

It is an `aiohttp.web` application; everything runs on the event loop of the test: the driver
methods are plain functions and must be called from that loop's thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import itertools
import json
import logging
import math
import mimetypes
import re
import struct
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import BodyPartReader, web

from bot.sim.entities import EntityError, Parsed, parse_entities
from bot.sim.loopback import LoopbackServer

__all__ = ["ApiError", "Delivery", "FakeTelegram", "Hold", "StoredFile", "Upload"]

logger = logging.getLogger(__name__)

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_UPLOAD = 50 * 1024 * 1024
MAX_DOWNLOAD = 20 * 1024 * 1024
MAX_FORM = MAX_UPLOAD + 1024 * 1024  # a urlencoded or JSON body
UPLOAD_CHUNK = 256 * 1024  # an uploaded file is read in pieces this big
DEFAULT_VIDEO = {"width": 1280, "height": 720, "duration": 8}

# Methods that count against the flood limits (deleteMessage and sendChatAction are exempt).
FLOOD_METHODS = frozenset({
    "sendMessage", "editMessageText", "editMessageCaption", "editMessageReplyMarkup",
    "sendPhoto", "sendVideo", "sendDocument",
})
CHAT_RATE, CHAT_BURST = 1.0, 3.0
GLOBAL_RATE, GLOBAL_BURST = 30.0, 30.0

_INT_PARAMS = frozenset({
    "chat_id", "message_id", "reply_to_message_id", "offset", "limit", "timeout", "width",
    "height", "duration", "cache_time", "message_thread_id",
})
_BOOL_PARAMS = frozenset({
    "supports_streaming", "disable_notification", "protect_content", "has_spoiler",
    "show_alert", "disable_web_page_preview", "allow_sending_without_reply",
    "drop_pending_updates", "show_caption_above_media", "disable_content_type_detection",
})
_JSON_PARAMS = frozenset({
    "reply_markup", "reply_parameters", "entities", "caption_entities", "link_preview_options",
    "allowed_updates", "commands", "scope",
})
_CHAT_ACTIONS = frozenset({
    "typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice",
    "upload_document", "choose_sticker", "find_location", "record_video_note",
    "upload_video_note",
})
_MEDIA_KEYS = ("photo", "video", "document", "animation", "audio", "voice")
_COMMAND_RE = re.compile(r"[a-z0-9_]{1,32}")
_DESCRIPTIONS = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
                 429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway"}
_NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)


class ApiError(Exception):
    """A Bot API error answer: `{"ok": false, "error_code": code, "description": ...}`."""

    def __init__(self, code: int, description: str, *, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after

    def payload(self) -> dict[str, Any]:
        data: dict[str, Any] = {"ok": False, "error_code": self.code,
                                "description": self.description}
        if self.retry_after is not None:
            data["parameters"] = {"retry_after": self.retry_after}
        return data


def _bad(description: str) -> ApiError:
    return ApiError(400, f"Bad Request: {description}")


def _entities(text: str, parse_mode: Any) -> Parsed:
    try:
        return parse_entities(text, parse_mode)
    except EntityError as exc:
        raise _bad(str(exc)) from None


@dataclass(frozen=True)
class Upload:
    """A file of a request: its name, its size and its bytes (None when they were not kept)."""

    filename: str
    size: int
    data: bytes | None

    @classmethod
    def of(cls, filename: str, data: bytes) -> Upload:
        return cls(filename, len(data), data)


@dataclass
class StoredFile:
    """A file the fake can serve: via getFile and GET /file/bot<token>/<file_path>."""

    file_id: str
    file_unique_id: str
    file_path: str
    data: bytes | None  # None for an upload whose bytes were not kept
    size: int

    def as_dict(self) -> dict[str, Any]:
        return {"file_id": self.file_id, "file_unique_id": self.file_unique_id,
                "file_size": self.size}


@dataclass(frozen=True)
class Delivery:
    """One `sendVideo` the fake accepted."""

    chat_id: int
    caption: str
    at: float  # time.monotonic() when the fake took it: the whole upload in, the flood check passed
    size: int  # bytes of the video


@dataclass(eq=False)
class Hold:
    """One call kept waiting by `FakeTelegram.hold`: `reached` is set when it arrives, `params`
    are its parameters; `release()` lets it go on."""

    method: str
    when: Callable[[dict[str, Any]], bool] | None
    after: bool
    reached: asyncio.Event = field(default_factory=asyncio.Event)
    params: dict[str, Any] | None = None
    _released: asyncio.Event = field(default_factory=asyncio.Event)
    _abandoned: bool = False

    def release(self) -> None:
        self._released.set()

    def matches(self, call: _Call) -> bool:
        return (self.params is None and self.method == call.method.lower()
                and (self.when is None or bool(self.when(call.params))))

    async def wait(self) -> None:
        self.reached.set()
        await self._released.wait()
        if self._abandoned:
            raise ApiError(500, "Internal Server Error: the fake stopped while holding the call")

    def abandon(self) -> None:
        """The fake stops: a call still held is answered with an error and never handled."""
        if not self._released.is_set():
            self._abandoned = True
            self._released.set()


@dataclass
class _Injection:
    method: str
    error: ApiError
    times: int


@dataclass
class _Bucket:
    """A token bucket: `rate` tokens per second, at most `burst`."""

    rate: float
    burst: float
    tokens: float = field(init=False)
    stamp: float = field(default_factory=lambda: time.monotonic())  # the module clock, late-bound

    def __post_init__(self) -> None:
        self.tokens = self.burst

    def wait(self, now: float) -> float:
        """Seconds until one token is available (0 when one is available now)."""
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        return 0.0 if self.tokens >= 1.0 else (1.0 - self.tokens) / self.rate


@dataclass
class _Call:
    """One decoded Bot API call."""

    method: str
    params: dict[str, Any]
    files: dict[str, Upload]
    recorded: dict[str, Any] = field(default_factory=dict)  # params without file bytes


Predicate = Callable[[], Any]


class FakeTelegram:
    """A fake Bot API server: the user side is driven by the test, the bot side is recorded.

    `keep_uploads=False` drops the bytes of what the bot uploads once their size is counted
    (stored messages then have `_file` None and such files cannot be downloaded).
    """

    def __init__(self, *, token: str = "123456:TEST-TOKEN", flood_limits: bool = False,
                 bot_id: int = 123456, bot_username: str = "veo_test_bot",
                 keep_uploads: bool = True) -> None:
        self.token = token
        self.flood_limits = flood_limits
        self.keep_uploads = keep_uploads
        self.bot_user: dict[str, Any] = {"id": bot_id, "is_bot": True,
                                         "first_name": "Veo Test Bot", "username": bot_username}
        self.url = ""
        self.messages: dict[int, list[dict[str, Any]]] = {}
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self.request_times: list[float] = []  # time.monotonic() of each entry of `requests`
        self.answered_callbacks: list[dict[str, Any]] = []
        self.commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.files: dict[str, StoredFile] = {}
        self.deliveries: list[Delivery] = []  # every accepted sendVideo, in order
        self.flood_429 = 0
        #: the webhook set with setWebhook ("" under long polling, as getWebhookInfo says)
        self.webhook_url = ""
        self._server = LoopbackServer(self._application)
        self._closed = False
        self._injections: list[_Injection] = []
        self._holds: list[Hold] = []
        self._index: dict[tuple[int, int], dict[str, Any]] = {}
        self._next_message_id: dict[int, int] = {}
        self._chats: dict[int, dict[str, Any]] = {}
        self._users: dict[int, dict[str, Any]] = {}
        self._by_method: dict[str, list[dict[str, Any]]] = {}
        self._paths: dict[str, StoredFile] = {}
        self._updates: deque[dict[str, Any]] = deque()
        self._update_ids = itertools.count(1)
        self._file_ids = itertools.count(1)
        self._query_ids = itertools.count(1)
        self._media_groups = itertools.count(1)
        self._pending_queries: set[str] = set()
        self._updates_event = asyncio.Event()
        self._chat_buckets: dict[int, _Bucket] = {}
        self._global_bucket = _Bucket(GLOBAL_RATE, GLOBAL_BURST)
        self._methods: dict[str, Callable[[_Call], Any]] = {
            name[len("_api_"):].lower(): getattr(self, name)
            for name in dir(self) if name.startswith("_api_")
        }

    # ------------------------------------------------------------------ lifecycle

    async def start(self, *, host: str = "127.0.0.1", port: int = 0) -> str:
        """Start serving (port 0: a free one) and return the root url (for TELEGRAM_API_URL)."""
        self._closed = False
        self.url = await self._server.start(host=host, port=port)
        return self.url

    async def stop(self) -> None:
        """Release pending long polls, abandon held calls and stop the server."""
        self._closed = True
        self._updates_event.set()
        for hold in self._holds:
            hold.abandon()
        await self._server.stop()

    async def __aenter__(self) -> FakeTelegram:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # ------------------------------------------------------------------ driving: the user side

    def send_text(self, user_id: int, text: str, *, chat_id: int | None = None,
                  reply_to: int | None = None, language_code: str = "en",
                  chat_type: str = "private", first_name: str = "User") -> dict[str, Any]:
        """A user writes `text`; queues a `message` Update and returns the stored message."""
        user = self._user(user_id, first_name=first_name, language_code=language_code)
        # "private" is the default: for a chat_id other than the user's, the chat's known type
        # (or "supergroup") wins.
        kind = None if chat_type == "private" and chat_id not in (None, user_id) else chat_type
        chat = self._chat(user, user_id if chat_id is None else chat_id, kind)
        content: dict[str, Any] = {"text": text}
        entity = _command_entity(text)
        if entity:
            content["entities"] = [entity]
        message = self._store(chat["id"], user, content, self._replied(chat["id"], reply_to))
        self._queue("message", _public(message))
        return message

    def send_photo(self, user_id: int, photo: bytes, *, caption: str | None = None,
                   chat_id: int | None = None, reply_to: int | None = None,
                   language_code: str = "en", media_group_id: str | None = None
                   ) -> dict[str, Any]:
        """A user sends a photo (downloadable by the bot through getFile); with
        `media_group_id`, one photo of an album (see `send_album`)."""
        user = self._user(user_id, language_code=language_code)
        chat = self._chat(user, user_id if chat_id is None else chat_id, None)
        content: dict[str, Any] = {"photo": self._photo_sizes(Upload.of("photo.jpg", photo))}
        if media_group_id is not None:
            content["media_group_id"] = media_group_id
        if caption is not None:
            content["caption"] = caption
            entity = _command_entity(caption)
            if entity:
                content["caption_entities"] = [entity]
        message = self._store(chat["id"], user, content, self._replied(chat["id"], reply_to))
        message["_file"] = photo
        self._queue("message", _public(message))
        return message

    def send_album(self, user_id: int, photos: list[bytes], *, caption: str | None = None,
                   caption_on: int = 0, chat_id: int | None = None,
                   language_code: str = "en") -> list[dict[str, Any]]:
        """A user sends an album, as Telegram delivers one: a message per photo, in order, all
        with the same new `media_group_id`, the caption on one of them (the first by default)."""
        group = str(13_000_000_000_000_000 + next(self._media_groups))
        return [self.send_photo(user_id, photo, chat_id=chat_id, language_code=language_code,
                                caption=caption if index == caption_on else None,
                                media_group_id=group)
                for index, photo in enumerate(photos)]

    def inject(self, method: str, code: int, description: str | None = None, *,
               times: int = 1, retry_after: int | None = None) -> None:
        """The next `times` calls of `method` (any case) fail with this error, flood-free."""
        if description is None:
            description = _DESCRIPTIONS.get(code, "Error")
            if retry_after is not None:
                description += f": retry after {retry_after}"
        error = ApiError(code, description, retry_after=retry_after)
        self._injections.append(_Injection(method.lower(), error, times))

    def hold(self, method: str, *, when: Callable[[dict[str, Any]], bool] | None = None,
             after: bool = False) -> Hold:
        """The next call of `method` (any case) whose parameters satisfy `when` waits for
        `Hold.release()`: before the fake handles it (Telegram never saw it: no message, no
        confirmation of updates), or with `after=True` once handled (the message exists, its
        answer has not gone back). A held call whose bot died stays held until `stop()`, which
        answers it with an error without handling it."""
        held = Hold(method.lower(), when, after)
        self._holds.append(held)
        return held

    def press_button(self, user_id: int, message_id: int, data: str, *,
                     chat_id: int | None = None) -> str:
        """A user presses an inline button of a bot message; returns the callback query id."""
        chat_key = user_id if chat_id is None else chat_id
        message = self._index.get((chat_key, message_id))
        if message is None or message["_deleted"] or not message["_from_bot"]:
            raise ValueError(f"no bot message {message_id} in chat {chat_key}")
        query_id = str(4_000_000_000_000_000 + next(self._query_ids))
        self._pending_queries.add(query_id)
        self._queue("callback_query", {
            "id": query_id, "from": self._user(user_id), "message": _public(message),
            "chat_instance": str(-chat_key), "data": data,
        })
        return query_id

    # ------------------------------------------------------------------ observing: the bot side

    def bot_messages(self, chat_id: int) -> list[dict[str, Any]]:
        """Messages sent by the bot in that chat that are not deleted, in order."""
        return [m for m in self.messages.get(chat_id, ())
                if m["_from_bot"] and not m["_deleted"]]

    def message(self, chat_id: int, message_id: int) -> dict[str, Any] | None:
        """The stored message (user's or bot's), deleted or not, or None."""
        return self._index.get((chat_id, message_id))

    def calls(self, method: str) -> list[dict[str, Any]]:
        """Params of every call of `method`, in order."""
        return list(self._by_method.get(method, ()))

    def method_counts(self) -> dict[str, int]:
        """How many calls of each method arrived, refused ones included."""
        return {method: len(calls) for method, calls in self._by_method.items()}

    async def wait_for(
        self, predicate: Predicate, *, timeout: float = 10.0
    ) -> Any:
        """Poll `predicate` every 10 ms until it returns something truthy, and return that.

        Exceptions raised by the predicate (an IndexError on a message not there yet, ...)
        count as "not yet"; the last one is reported on timeout.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        last_error: Exception | None = None
        while True:
            try:
                value = predicate()
            except Exception as exc:
                value, last_error = None, exc
            if value:
                return value
            if loop.time() >= deadline:
                raise AssertionError(self._timeout_report(predicate, timeout, last_error))
            await asyncio.sleep(0.01)

    def _timeout_report(self, predicate: Predicate, timeout: float,
                        error: Exception | None) -> str:
        try:
            source = inspect.getsource(predicate).strip()
        except (OSError, TypeError):
            source = repr(predicate)
        recent = [(method, _short(params)) for method, params in self.requests[-8:]
                  if method != "getUpdates"]
        lines = [f"wait_for timed out after {timeout}s: {source}",
                 f"  last predicate error: {error!r}" if error else "  predicate stayed falsy",
                 f"  {len(self.requests)} API calls; latest (without getUpdates): {recent}"]
        for chat_id, messages in list(self.messages.items())[-3:]:
            texts = [(m["message_id"], "bot" if m["_from_bot"] else "user",
                      _short(m.get("text") or m.get("caption") or "")) for m in messages[-5:]]
            lines.append(f"  chat {chat_id}: {texts}")
        return "\n".join(lines)

    # ------------------------------------------------------------------ HTTP

    def _application(self) -> web.Application:
        app = web.Application(client_max_size=MAX_FORM)
        app.router.add_get("/file/bot{token}/{file_path:.+}", self._serve_file)
        app.router.add_route("*", "/bot{token}/{method}", self._serve_api)
        app.router.add_route("*", "/{tail:.*}", self._not_found)
        return app

    async def _not_found(self, request: web.Request) -> web.Response:
        return _answer(ApiError(404, "Not Found"))

    async def _serve_file(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return _answer(ApiError(401, "Unauthorized"))
        stored = self._paths.get(request.match_info["file_path"])
        if stored is None or stored.data is None:
            return _answer(ApiError(404, "Not Found"))
        return web.Response(body=stored.data, content_type="application/octet-stream")

    async def _serve_api(self, request: web.Request) -> web.Response:
        try:
            call = await self._decode(request, request.match_info["method"])
            self.requests.append((call.method, call.recorded))
            self.request_times.append(time.monotonic())
            self._by_method.setdefault(call.method, []).append(call.recorded)
            held = next((hold for hold in self._holds if hold.matches(call)), None)
            if held is not None:
                held.params = call.recorded
                if not held.after:
                    await held.wait()
            result = self._dispatch(request.match_info["token"], call)
            if inspect.isawaitable(result):
                result = await result
            if held is not None and held.after:
                await held.wait()
        except ApiError as error:
            return _answer(error)
        except Exception:
            logger.exception("the fake Bot API failed on %s", request.match_info["method"])
            return _answer(ApiError(500, "Internal Server Error"))
        return web.json_response({"ok": True, "result": result})

    async def _decode(self, request: web.Request, method: str) -> _Call:
        fields, files = await self._form(request)
        handler = self._methods.get(method.lower())
        name = handler.__name__[len("_api_"):] if handler else method
        params = {key: _decode_value(key, value) for key, value in
                  {**request.query, **fields}.items()}
        recorded = {**params, **{key: {"upload": upload.filename, "size": upload.size}
                                 for key, upload in files.items()}}
        return _Call(name, params, files, recorded)

    async def _form(self, request: web.Request) -> tuple[dict[str, str], dict[str, Upload]]:
        """Fields and files of a JSON, urlencoded or multipart/form-data body."""
        if not request.body_exists:
            return {}, {}
        if request.content_type == "application/json":
            try:
                data = await request.json()
            except ValueError:
                raise _bad("can't parse JSON") from None
            if not isinstance(data, dict):
                return {}, {}
            return {k: v if isinstance(v, str) else json.dumps(v) for k, v in data.items()}, {}
        if request.content_type == "multipart/form-data":
            return await self._multipart(request)
        form = await request.post()
        return {key: value for key, value in form.items() if isinstance(value, str)}, {}

    async def _multipart(self, request: web.Request
                         ) -> tuple[dict[str, str], dict[str, Upload]]:
        fields: dict[str, str] = {}
        files: dict[str, Upload] = {}
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader):
                continue  # a nested multipart: no Bot API method sends one
            if part.filename is None:
                fields[part.name or ""] = await part.text()
            else:
                files[part.name or ""] = await self._receive(part)
        return fields, files

    async def _receive(self, part: BodyPartReader) -> Upload:
        """An uploaded file, read piece by piece; its bytes are kept only with keep_uploads."""
        size, pieces = 0, []
        while piece := await part.read_chunk(UPLOAD_CHUNK):
            size += len(piece)
            if self.keep_uploads:
                pieces.append(piece)
        return Upload(part.filename or "", size, b"".join(pieces) if self.keep_uploads else None)

    def _dispatch(self, token: str, call: _Call) -> Any:
        if token != self.token:
            raise ApiError(401, "Unauthorized")
        handler = self._methods.get(call.method.lower())
        if handler is None:
            raise ApiError(404, "Not Found")
        if any(upload.size > MAX_UPLOAD for upload in call.files.values()):
            raise ApiError(413, "Request Entity Too Large")
        self._raise_injected(call.method)
        if self.flood_limits and call.method in FLOOD_METHODS:
            self._check_flood(call.params.get("chat_id"))
        return handler(call)

    def _raise_injected(self, method: str) -> None:
        for injection in self._injections:
            if injection.times > 0 and injection.method == method.lower():
                injection.times -= 1
                raise injection.error
        self._injections = [i for i in self._injections if i.times > 0]

    def _check_flood(self, chat_id: Any) -> None:
        now = time.monotonic()
        key = chat_id if isinstance(chat_id, int) else 0
        chat_bucket = self._chat_buckets.get(key)
        if chat_bucket is None:
            chat_bucket = self._chat_buckets[key] = _Bucket(CHAT_RATE, CHAT_BURST)
        wait = max(chat_bucket.wait(now), self._global_bucket.wait(now))
        if wait > 0:
            self.flood_429 += 1
            retry = max(1, math.ceil(wait))
            raise ApiError(429, f"Too Many Requests: retry after {retry}", retry_after=retry)
        chat_bucket.tokens -= 1.0
        self._global_bucket.tokens -= 1.0

    # ------------------------------------------------------------------ API: bot and updates

    def _api_getMe(self, call: _Call) -> dict[str, Any]:
        return {**self.bot_user, "can_join_groups": True, "can_read_all_group_messages": False,
                "supports_inline_queries": False}

    def _api_deleteWebhook(self, call: _Call) -> bool:
        if call.params.get("drop_pending_updates"):
            self._updates.clear()
        self.webhook_url = ""
        return True

    def _api_setWebhook(self, call: _Call) -> bool:
        url = str(call.params.get("url") or "")
        if url and not url.startswith("https://"):
            raise _bad("bad webhook: An HTTPS URL must be provided for webhook")
        self.webhook_url = url
        if call.params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    def _api_getWebhookInfo(self, call: _Call) -> dict[str, Any]:
        """WebhookInfo; under long polling (no webhook) its `url` is empty."""
        info: dict[str, Any] = {"url": self.webhook_url, "has_custom_certificate": False,
                                "pending_update_count": len(self._updates)}
        if self.webhook_url:
            info["max_connections"] = 40
        return info

    async def _api_getUpdates(self, call: _Call) -> list[dict[str, Any]]:
        if self.webhook_url:
            raise ApiError(409, "Conflict: can't use getUpdates method while webhook is active; "
                                "use deleteWebhook to delete the webhook first")
        offset = call.params.get("offset")
        limit = min(max(int(call.params.get("limit") or 100), 1), 100)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + float(call.params.get("timeout") or 0)
        while True:
            self._confirm(offset)
            if self._updates or self._closed or loop.time() >= deadline:
                return list(itertools.islice(self._updates, limit))
            self._updates_event.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._updates_event.wait(), deadline - loop.time())

    def _confirm(self, offset: Any) -> None:
        if not isinstance(offset, int):
            return
        if offset < 0:
            while len(self._updates) > -offset:
                self._updates.popleft()
            return
        while self._updates and self._updates[0]["update_id"] < offset:
            self._updates.popleft()

    def _api_setMyCommands(self, call: _Call) -> bool:
        commands = call.params.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise _bad("BOT_COMMANDS_TOO_MUCH" if commands else "commands must be an array")
        for command in commands:
            if not _COMMAND_RE.fullmatch(str(command.get("command", ""))):
                raise _bad("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", ""))) <= 256:
                raise _bad("BOT_COMMAND_DESCRIPTION_INVALID")
        self.commands[_commands_key(call.params)] = commands
        return True

    def _api_getMyCommands(self, call: _Call) -> list[dict[str, Any]]:
        return self.commands.get(_commands_key(call.params), [])

    def _api_answerCallbackQuery(self, call: _Call) -> bool:
        query_id = str(call.params.get("callback_query_id", ""))
        if query_id not in self._pending_queries:
            raise _bad("query is too old and response timeout expired or query ID is invalid")
        self._pending_queries.discard(query_id)
        self.answered_callbacks.append(call.recorded)
        return True

    def _api_sendChatAction(self, call: _Call) -> bool:
        self._known_chat(call)
        if call.params.get("action") not in _CHAT_ACTIONS:
            raise _bad("wrong parameter action in request")
        return True

    def _api_getFile(self, call: _Call) -> dict[str, Any]:
        stored = self.files.get(str(call.params.get("file_id", "")))
        if stored is None:
            raise _bad("invalid file_id")
        if stored.size > MAX_DOWNLOAD:
            raise _bad("file is too big")
        return {**stored.as_dict(), "file_path": stored.file_path}

    # ------------------------------------------------------------------ API: sending

    def _api_sendMessage(self, call: _Call) -> dict[str, Any]:
        chat_id = self._known_chat(call)
        raw = str(call.params.get("text", ""))
        text, marks = _entities(raw, call.params.get("parse_mode"))
        if not text.strip():
            raise _bad("message text is empty")
        if len(text) > MAX_TEXT:
            raise _bad("message is too long")
        return self._send(call, chat_id, {"text": text}, (text, marks))

    def _api_sendPhoto(self, call: _Call) -> dict[str, Any]:
        chat_id = self._known_chat(call)
        upload = self._input_file(call, "photo")
        content = {"photo": self._photo_sizes(upload)}
        return self._send_media(call, chat_id, content, upload.data)

    def _api_sendVideo(self, call: _Call) -> dict[str, Any]:
        at = time.monotonic()
        chat_id = self._known_chat(call)
        upload = self._input_file(call, "video")
        stored = self._new_file("videos", upload.filename or "video.mp4", upload)
        video = {**stored.as_dict(), "mime_type": _mime(upload.filename, "video/mp4"),
                 **{key: int(call.params.get(key) or value)
                    for key, value in DEFAULT_VIDEO.items()}}
        if upload.filename:
            video["file_name"] = upload.filename
        message = self._send_media(call, chat_id, {"video": video}, upload.data)
        self.deliveries.append(Delivery(chat_id, str(message.get("caption", "")), at,
                                        upload.size))
        return message

    def _api_sendDocument(self, call: _Call) -> dict[str, Any]:
        chat_id = self._known_chat(call)
        upload = self._input_file(call, "document")
        name = upload.filename or "document"
        stored = self._new_file("documents", name, upload)
        document = {**stored.as_dict(), "file_name": name,
                    "mime_type": _mime(name, "application/octet-stream")}
        return self._send_media(call, chat_id, {"document": document}, upload.data)

    def _send_media(self, call: _Call, chat_id: int, content: dict[str, Any],
                    data: bytes | None) -> dict[str, Any]:
        signature: tuple[str, tuple[Any, ...]] = ("", ())
        if call.params.get("caption") is not None:
            caption, marks = _entities(str(call.params["caption"]),
                                             call.params.get("parse_mode"))
            if len(caption) > MAX_CAPTION:
                raise _bad("message caption is too long")
            content["caption"] = caption
            signature = (caption, marks)
        return self._send(call, chat_id, content, signature, data)

    def _send(self, call: _Call, chat_id: int, content: dict[str, Any],
              signature: tuple[str, tuple[Any, ...]], data: bytes | None = None
              ) -> dict[str, Any]:
        replied = self._reply_target(call, chat_id)
        message = self._store(chat_id, self.bot_user, content, replied)
        message.update(_file=data, _params=call.recorded, _sig=signature)
        _set_markup(message, call.params.get("reply_markup"))
        return _public(message)

    def _reply_target(self, call: _Call, chat_id: int) -> dict[str, Any] | None:
        reply = call.params.get("reply_parameters")
        if not isinstance(reply, dict):
            reply = {"message_id": call.params.get("reply_to_message_id"),
                     "allow_sending_without_reply":
                         call.params.get("allow_sending_without_reply", False)}
        if reply.get("message_id") is None:
            return None
        target = self._index.get((_int(reply.get("chat_id", chat_id)), _int(reply["message_id"])))
        if target is not None and not target["_deleted"]:
            return target
        if reply.get("allow_sending_without_reply"):
            return None
        raise _bad("message to be replied not found")

    def _input_file(self, call: _Call, name: str) -> Upload:
        if name in call.files:
            return call.files[name]
        value = call.params.get(name)
        if value is None:
            raise _bad(f"there is no {name} in the request")
        value = str(value)
        if value.startswith("attach://") and value[len("attach://"):] in call.files:
            return call.files[value[len("attach://"):]]
        stored = self.files.get(value)
        if stored is None:
            raise _bad("wrong file identifier/HTTP URL specified")
        return Upload(stored.file_path.rsplit("/", 1)[-1], stored.size, stored.data)

    # ------------------------------------------------------------------ API: editing, deleting

    def _api_editMessageText(self, call: _Call) -> dict[str, Any]:
        message = self._editable(call)
        if "text" not in message:
            raise _bad("there is no text in the message to edit")
        raw = str(call.params.get("text", ""))
        text, marks = _entities(raw, call.params.get("parse_mode"))
        if not text.strip():
            raise _bad("message text is empty")
        if len(text) > MAX_TEXT:
            raise _bad("message is too long")
        return self._apply_edit(call, message, "text", (text, marks))

    def _api_editMessageCaption(self, call: _Call) -> dict[str, Any]:
        message = self._editable(call)
        if not any(key in message for key in _MEDIA_KEYS):
            raise _bad("there is no caption in the message to edit")
        raw = call.params.get("caption")
        caption, marks = _entities(str(raw or ""), call.params.get("parse_mode"))
        if len(caption) > MAX_CAPTION:
            raise _bad("message caption is too long")
        return self._apply_edit(call, message, "caption", (caption, marks))

    def _api_editMessageReplyMarkup(self, call: _Call) -> dict[str, Any]:
        message = self._editable(call)
        markup = _inline_markup(call.params.get("reply_markup"))
        if markup == message.get("reply_markup"):
            raise ApiError(400, _NOT_MODIFIED)
        _set_markup(message, markup)
        message["edit_date"] = int(time.time())
        return _public(message)

    def _apply_edit(self, call: _Call, message: dict[str, Any], key: str,
                    signature: tuple[str, tuple[Any, ...]]) -> dict[str, Any]:
        markup = _inline_markup(call.params.get("reply_markup"))
        if signature == message.get("_sig") and markup == message.get("reply_markup"):
            raise ApiError(400, _NOT_MODIFIED)
        if signature[0]:
            message[key] = signature[0]
        else:
            message.pop(key, None)
        message["_sig"] = signature
        message["_edits"].append(signature[0])
        message["edit_date"] = int(time.time())
        _set_markup(message, markup)
        return _public(message)

    def _editable(self, call: _Call) -> dict[str, Any]:
        if call.params.get("inline_message_id"):
            raise _bad("inline messages are not supported by the fake")
        chat_id = self._known_chat(call)
        message = self._index.get((chat_id, _int(call.params.get("message_id"))))
        if message is None or message["_deleted"]:
            raise _bad("message to edit not found")
        if not message["_from_bot"]:
            raise _bad("message can't be edited")
        return message

    def _api_deleteMessage(self, call: _Call) -> bool:
        chat_id = self._known_chat(call)
        message = self._index.get((chat_id, _int(call.params.get("message_id"))))
        if message is None or message["_deleted"]:
            raise _bad("message to delete not found")
        message["_deleted"] = True
        return True

    # ------------------------------------------------------------------ storage

    def _user(self, user_id: int, *, first_name: str | None = None,
              language_code: str | None = None) -> dict[str, Any]:
        known = self._users.get(user_id, {})
        user = {"id": user_id, "is_bot": False,
                "first_name": first_name or known.get("first_name", "User"),
                "language_code": language_code or known.get("language_code", "en")}
        if user != known:
            self._users[user_id] = user
        return self._users[user_id]

    def _chat(self, user: dict[str, Any], chat_id: int, chat_type: str | None
              ) -> dict[str, Any]:
        known = self._chats.get(chat_id)
        if known is not None and chat_type in (None, known["type"]):
            return known
        kind = chat_type or ("private" if chat_id == user["id"] else "supergroup")
        chat: dict[str, Any] = {"id": chat_id, "type": kind}
        if kind == "private":
            chat["first_name"] = user["first_name"]
        else:
            chat["title"] = f"Chat {chat_id}"
        self._chats[chat_id] = chat
        return chat

    def _known_chat(self, call: _Call) -> int:
        chat_id = call.params.get("chat_id")
        if not isinstance(chat_id, int) or chat_id not in self._chats:
            raise _bad("chat not found")
        return chat_id

    def _replied(self, chat_id: int, reply_to: int | None) -> dict[str, Any] | None:
        if reply_to is None:
            return None
        target = self._index.get((chat_id, reply_to))
        if target is None:
            raise ValueError(f"reply_to: no message {reply_to} in chat {chat_id}")
        return target

    def _store(self, chat_id: int, sender: dict[str, Any], content: dict[str, Any],
               replied: dict[str, Any] | None) -> dict[str, Any]:
        message_id = self._next_message_id.get(chat_id, 0) + 1
        self._next_message_id[chat_id] = message_id
        message: dict[str, Any] = {"message_id": message_id, "from": sender,
                                   "chat": self._chats[chat_id], "date": int(time.time()),
                                   **content}
        if replied is not None:
            nested = _public(replied)
            nested.pop("reply_to_message", None)
            message["reply_to_message"] = nested
        message.update(_from_bot=sender["is_bot"], _edits=[], _file=None, _params={},
                       _deleted=False)
        self.messages.setdefault(chat_id, []).append(message)
        self._index[(chat_id, message_id)] = message
        return message

    def _queue(self, kind: str, payload: dict[str, Any]) -> None:
        self._updates.append({"update_id": next(self._update_ids), kind: payload})
        self._updates_event.set()

    def _new_file(self, folder: str, filename: str, upload: Upload) -> StoredFile:
        number = next(self._file_ids)
        extension = filename.rsplit(".", 1)[-1] if "." in filename else "bin"
        stored = StoredFile(file_id=f"{folder[:2].upper()}AC{number:08d}fakeFileId",
                            file_unique_id=f"AQAD{number:08d}",
                            file_path=f"{folder}/file_{number}.{extension}", data=upload.data,
                            size=upload.size)
        self.files[stored.file_id] = stored
        self._paths[stored.file_path] = stored
        return stored

    def _photo_sizes(self, upload: Upload) -> list[dict[str, Any]]:
        width, height = _image_size(upload.data or b"") or (1280, 720)
        scale = min(1.0, 320 / max(width, height, 1))
        sizes = [(max(1, round(width * scale)), max(1, round(height * scale))), (width, height)]
        return [{**self._new_file("photos", "photo.jpg", upload).as_dict(), "width": w,
                 "height": h} for w, h in sizes]


# ---------------------------------------------------------------------- helpers: values


def _answer(error: ApiError) -> web.Response:
    return web.json_response(error.payload(), status=error.code)


def _public(message: dict[str, Any]) -> dict[str, Any]:
    """The Bot API view of a stored message: without the fake's "_" keys."""
    return {key: value for key, value in message.items() if not key.startswith("_")}


def _short(value: Any, limit: int = 60) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1


def _decode_value(key: str, value: str) -> Any:
    """A form field back to its Bot API type (PTB sends non-strings JSON-encoded)."""
    try:
        if key in _JSON_PARAMS:
            return json.loads(value)
        if key in _INT_PARAMS:
            return int(value)
    except ValueError:
        return value
    if key in _BOOL_PARAMS:
        return value.lower() in ("true", "1")
    return value


def _inline_markup(markup: Any) -> dict[str, Any] | None:
    """Only inline keyboards appear in a Message's reply_markup."""
    if isinstance(markup, dict) and "inline_keyboard" in markup:
        return markup
    return None


def _set_markup(message: dict[str, Any], markup: Any) -> None:
    inline = _inline_markup(markup)
    if inline is None:
        message.pop("reply_markup", None)
    else:
        message["reply_markup"] = inline


def _commands_key(params: dict[str, Any]) -> tuple[str, str]:
    scope = params.get("scope") or {"type": "default"}
    return json.dumps(scope, sort_keys=True), str(params.get("language_code") or "")


def _command_entity(text: str) -> dict[str, Any] | None:
    if not text.startswith("/"):
        return None
    word = text.split(maxsplit=1)[0]
    return {"type": "bot_command", "offset": 0, "length": len(word.encode("utf-16-le")) // 2}


def _mime(filename: str | None, default: str) -> str:
    return (mimetypes.guess_type(filename or "", strict=False)[0]) or default


def _image_size(data: bytes) -> tuple[int, int] | None:
    """Width and height of a PNG, GIF or JPEG image, if recognisable."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return int(width), int(height)
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        width, height = struct.unpack("<HH", data[6:10])
        return int(width), int(height)
    if data[:2] == b"\xff\xd8":
        return _jpeg_size(data)
    return None


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    i = 2
    while i + 9 <= len(data) and data[i] == 0xFF:
        marker = data[i + 1]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[i + 5:i + 9])
            return int(width), int(height)
        i += 2 + struct.unpack(">H", data[i + 2:i + 4])[0]
    return None
