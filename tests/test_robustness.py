"""Property-based robustness: arbitrary text, commands, entities, replies, photos and button presses
go through the real handlers of a running bot; no handler error ever reaches the error handler
(nothing is logged at ERROR), and the bot still answers /help after every example.

Design: hypothesis drives a sync test, and the bot is started once for the whole module. The
simulator, the fake Telegram and the bot live on an event loop of their own in a background
thread (`LiveBot`); each example is one coroutine sent there with `run_coroutine_threadsafe`
(the fake's driver methods must run on its loop's thread). Starting a bot per example would cost
about a second each; an async `@given` test would stop the loop between examples, freezing the
bot's polling and its background jobs. State is shared between examples (the chats grow, jobs
pile up), which is closer to a real bot's life; access decisions are reset after each example.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.sim.config import SimConfig
from bot.sim.media import make_png
from bot.sim.server import FlowSimulator
from bot.sim.telegram import FakeTelegram
from bot.telegram.context import installed_services
from storage.accounts import OPERATOR, StoredAccount, user_account_id
from tests.conftest import ADMIN, OTHER_USER, STRANGER, USER, make_settings
from tests.harness import BotHarness

T = TypeVar("T")
PROBE = 4242  # an admin (admins cannot be denied) that only ever sends the /help probe
GROUP, SUPERGROUP = -100500, -1001000000001
CHAT_TYPES = {GROUP: "group", SUPERGROUP: "supergroup"}
USERS = (USER, OTHER_USER, ADMIN, STRANGER)
COMMANDS = ("start", "help", "image", "video", "animate", "status", "cancel", "account", "token",
            "proxytoken", "cookie", "project", "login", "logout", "allow", "deny", "users",
            "settings")
HELP_MARK = "What I can do"
PHOTO = make_png("robustness", 64, 36)


# ---------------------------------------------------------------------------- the steps


@dataclass(frozen=True)
class Reply:
    """Which message a step replies to, resolved when it runs: the `index`-th (modulo) bot or
    user message of the chat, or a message that does not exist (`missing`, text or photo)."""

    kind: str  # "bot" | "user" | "missing-text" | "missing-photo"
    index: int


@dataclass(frozen=True)
class Text:
    user: int
    chat: str  # "private" | "group" | "supergroup"
    text: str
    reply: Reply | None = None
    language: str = "en"
    first_name: str = "User"
    entities: tuple[tuple[str, int, int], ...] = ()  # extra (type, offset, length) in UTF-16


@dataclass(frozen=True)
class Photo:
    user: int
    chat: str
    caption: str | None
    reply: Reply | None = None
    language: str = "en"


@dataclass(frozen=True)
class Press:
    user: int
    chat: str
    index: int  # which bot message of the chat (modulo)
    data: str


Step = Text | Photo | Press


# ---------------------------------------------------------------------------- strategies

# Telegram carries no control characters but line breaks (and never a NUL), nor lone surrogates.
chars = st.one_of(st.characters(exclude_categories=("Cs", "Cc")), st.just("\n"))
free_text = st.text(chars, max_size=120)
word = st.text(st.characters(exclude_categories=("Cs", "Cc", "Zs", "Zl", "Zp")), min_size=1,
               max_size=12)
numbers = st.one_of(st.integers(-100, 100), st.integers(-(10**30), 10**30),
                    st.sampled_from([2**63 - 1, 2**63, -(2**63) - 1, 2**64])).map(str)
argument = st.one_of(
    numbers,
    numbers,
    st.integers(0, 40).map(lambda n: f"#{n}"),
    st.sampled_from(["9:16", "16:9", "portrait", "landscape", "--portrait", "--seed", "--dur",
                     "--res", "--neg", "1080p", "720p", "8", "=", "x=", "=y", "token=", "cookie=",
                     "project=", "proxy=", "ya29.", "ya29.abc-DEF_123", "²", "٣", "١٢", "--5",
                     "-", "#", "0", "FORCE_FAIL", "FORCE_UNSAFE", "@veo_test_bot", "/help"]),
    st.builds(lambda key, value: f"{key}={value}",
              st.sampled_from(["token", "cookie", "project", "proxy", "TOKEN", "junk", ""]),
              st.one_of(st.just(""), word)),
    word,
)
command_name = st.one_of(st.sampled_from(COMMANDS), st.sampled_from(COMMANDS),
                         st.sampled_from(COMMANDS),
                         st.from_regex(r"[a-z0-9_]{1,32}", fullmatch=True),
                         st.sampled_from(["Help", "IMAGE", "", "start_", "😀"]))
suffix = st.sampled_from(["", "", "@veo_test_bot", "@VEO_TEST_BOT", "@other_bot", "@"])
separator = st.sampled_from([" ", " ", "\n", "  ", " \n "])


@st.composite
def command(draw: st.DrawFn) -> str:
    head = "/" + draw(command_name) + draw(suffix)
    args = draw(st.one_of(st.lists(argument, max_size=1), st.lists(argument, max_size=5)))
    return head + (draw(separator) + " ".join(args) if args else "")


@st.composite
def long_text(draw: st.DrawFn) -> str:
    """Past the limits: prompts over 1000 characters, messages over 4096, one huge word."""
    head = draw(st.sampled_from(["", "/image ", "/video ", "/animate ", "/project ", "/cancel ",
                                 "/login ", "/start ", "/token ", "/allow "]))
    chunk = draw(st.text(chars, min_size=1, max_size=6))
    size = draw(st.integers(900, 5000))
    return (head + chunk * (size // len(chunk) + 1))[:size]


texts = st.one_of(command(), command(), free_text, long_text(), st.just(""),
                  st.sampled_from(["/", "//", "/ image", "\u202e/image ‮rtl", "/image \u200f",
                                   "/video 9:16", "/image 9:16", "/cancel", "/login = = ="]))
users = st.sampled_from(USERS)
chats = st.sampled_from(["private", "private", "group", "supergroup"])
languages = st.sampled_from(["en", "en", "vi", "ru", "de-DE", "zh-hans", "xx", ""])
replies = st.one_of(st.none(), st.builds(
    Reply, st.sampled_from(["bot", "bot", "user", "missing-text", "missing-photo"]),
    st.integers(0, 1000)))
ENTITY_TYPES = ("bold", "italic", "underline", "strikethrough", "spoiler", "code", "pre",
                "mention", "hashtag", "cashtag", "bot_command", "url", "email", "phone_number",
                "blockquote")


def _utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


@st.composite
def text_step(draw: st.DrawFn) -> Text:
    text = draw(texts)
    size = _utf16_length(text)
    entities: list[tuple[str, int, int]] = []
    if size:
        for _ in range(draw(st.integers(0, 3))):
            offset = draw(st.integers(0, size - 1))
            entities.append((draw(st.sampled_from(ENTITY_TYPES)), offset,
                             draw(st.integers(1, size - offset))))
    return Text(user=draw(users), chat=draw(chats), text=text, reply=draw(replies),
                language=draw(languages),
                first_name=draw(st.one_of(st.just("User"), st.text(chars, min_size=1,
                                                                    max_size=64))),
                entities=tuple(entities))


captions = st.one_of(st.none(), command(), free_text,
                     st.builds(lambda c, p: f"/{c} {p}", st.sampled_from(["animate", "video"]),
                               free_text))
photo_step = st.builds(Photo, user=users, chat=chats, caption=captions, reply=replies,
                       language=languages)
callback_data = st.one_of(
    st.integers(0, 40).map(lambda n: f"animate:{n}"),
    st.integers(0, 2**80).map(lambda n: f"animate:{n}"),
    st.text(chars, min_size=1, max_size=40).filter(lambda d: len(d.encode()) <= 64),
    st.sampled_from(["animate:", "animate:-1", "animate:١", "animate:1:2", "animate"]),
    st.builds(lambda owner, menu, value: f"set:{owner}:{menu}{value}",
              st.sampled_from([*USERS, 0, 2**70]), st.sampled_from(["a", "m", "d", "r", "l",
                                                                    "home", "reset", "x"]),
              st.sampled_from(["", ":-", ":portrait", ":square", ":veo-3.1-lite", ":6", ":99",
                               ":1080p", ":vi", ":xx", ":٣", "::"])),
    st.builds(lambda verb, action, job: f"{verb}:{action}{job}",
              st.sampled_from(["act", "yes", "no"]),
              st.sampled_from(["again:", "extend:", "1080p:", "4k:", "2k:", "delete:", ""]),
              st.sampled_from(["0", "1", "2", "17", str(2**63), "-1", "١", "1:2", ""])),
)
press_step = st.builds(Press, user=users, chat=chats, index=st.integers(0, 1000),
                       data=callback_data)
steps = st.lists(st.one_of(text_step(), text_step(), text_step(), photo_step, press_step),
                 min_size=1, max_size=5)


# ---------------------------------------------------------------------------- the live bot


class _Errors(logging.Handler):
    """Every record at ERROR or above, from any logger, formatted with its traceback."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


class LiveBot:
    """The simulator, the fake Telegram and the bot on an event loop in a background thread."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="live-bot",
                                       daemon=True)
        self.errors = _Errors()
        self.sim = FlowSimulator(SimConfig(latency=0.05, task_polls=0))  # any token goes
        self.fake = FakeTelegram()
        self.bot: BotHarness | None = None
        self.probes = 0
        self.operator: StoredAccount | None = None  # the operator's account as configured

    def call(self, factory: Callable[[], Coroutine[Any, Any, T]], timeout: float = 60.0) -> T:
        """Run a coroutine on the bot's loop and wait for its result."""
        future = asyncio.run_coroutine_threadsafe(factory(), self.loop)
        return future.result(timeout)

    # lifecycle (on the loop)

    async def start(self) -> None:
        await self.sim.start()
        await self.fake.start()
        settings = make_settings(
            self.folder, self.sim, self.fake, flow_session_url=self.sim.session_url,
            admin_user_ids=frozenset({ADMIN, PROBE}), retry_attempts=2, render_timeout=3.0,
            submit_timeout=3.0, flow_poll_interval=0.02, progress_edit_interval=0.05)
        self.bot = BotHarness(settings, self.fake, self.sim)
        await self.bot.start()
        # Every chat exists and holds bot messages (some of them images with a button).
        for user in USERS:
            await self._say(user, "/help", user)
        for chat in CHAT_TYPES:
            for user in (USER, ADMIN):
                await self._say(user, "/help", chat)
        self.fake.send_text(USER, "/image a seed image")
        self.fake.send_text(USER, "/image a seed image in a group", chat_id=GROUP,
                            chat_type="group")
        await self.bot.wait_photos(USER, timeout=20)
        await self.bot.wait_photos(GROUP, timeout=20)
        self.operator = self.bot.engine.accounts.view(OPERATOR)

    async def stop(self) -> None:
        if self.bot is not None:
            await self.bot.stop()
        await self.fake.stop()
        await self.sim.stop()

    async def _say(self, user: int, text: str, chat: int) -> None:
        before = len(self.fake.bot_messages(chat))
        self.fake.send_text(user, text, chat_id=chat, chat_type=CHAT_TYPES.get(chat, "private"))
        await self.fake.wait_for(lambda: len(self.fake.bot_messages(chat)) > before)

    # one example (on the loop)

    async def play(self, example: list[Step], *, reset: bool = True) -> list[str]:
        """Feed the steps, then check the bot answers /help; return the errors logged meanwhile."""
        assert self.bot is not None and self.bot.app is not None
        mark = len(self.errors.lines)
        for step in example:
            self._apply(step)
        self.probes += 1
        bot = self.bot
        assert bot is not None, "the bot is not running"
        before = sum(HELP_MARK in text for text in bot.texts(PROBE))
        self.fake.send_text(PROBE, "/help")
        await self.fake.wait_for(
            lambda: sum(HELP_MARK in text for text in bot.texts(PROBE)) > before)
        # Every update of the example has been fetched before the probe; wait until every
        # one of them is fully processed (PTB marks each task_done after its handlers and its
        # error handlers ran).
        await asyncio.wait_for(self.bot.app.update_queue.join(), timeout=20)
        if reset:
            await self._reset()
        return self.errors.lines[mark:]

    async def _reset(self) -> None:
        """Examples stay independent (and shrinkable): who is allowed, and which credentials
        the accounts hold, go back to the start. Chats and jobs stay."""
        assert self.bot is not None and self.bot.app is not None
        services = installed_services(self.bot.app.bot_data)
        assert services is not None
        for user, allowed in ((USER, True), (OTHER_USER, True), (STRANGER, False)):
            if services.access.is_allowed(user) != allowed:
                await services.access.decide(user, allowed=allowed, by=ADMIN)
        accounts = services.accounts
        for user in USERS:
            if accounts.has_own(user):
                await accounts.remove(user_account_id(user))
        if accounts.view(OPERATOR) != self.operator:
            await accounts.update(OPERATOR, bearer_token=None, cookie=None, project_id=None,
                                  proxy_token=None)

    def _chat_id(self, user: int, chat: str) -> int:
        return {"private": user, "group": GROUP, "supergroup": SUPERGROUP}[chat]

    def _apply(self, step: Step) -> None:
        chat_id = self._chat_id(step.user, step.chat)
        if isinstance(step, Press):
            targets = self.fake.bot_messages(chat_id)
            if targets:
                target = targets[step.index % len(targets)]
                self.fake.press_button(step.user, target["message_id"], step.data,
                                       chat_id=chat_id)
            return
        reply_to, invented = self._resolve(chat_id, step.reply)
        if isinstance(step, Photo):
            self.fake.send_photo(step.user, PHOTO, caption=step.caption, chat_id=chat_id,
                                 reply_to=reply_to, language_code=step.language)
        else:
            self.fake.send_text(step.user, step.text, chat_id=chat_id, reply_to=reply_to,
                                language_code=step.language, first_name=step.first_name,
                                chat_type=CHAT_TYPES.get(chat_id, "private"))
        queued = self.fake._updates[-1]["message"]  # the update just queued, not yet fetched
        if invented is not None:
            queued["reply_to_message"] = {**invented, "chat": queued["chat"]}
        if isinstance(step, Text) and step.entities:
            extra = [{"type": kind, "offset": offset, "length": length}
                     for kind, offset, length in step.entities]
            queued["entities"] = sorted([*queued.get("entities", []), *extra],
                                        key=lambda entity: entity["offset"])

    def _resolve(self, chat_id: int, reply: Reply | None) -> tuple[int | None,
                                                                    dict[str, Any] | None]:
        """A real message id of the chat, or an invented message the fake does not know."""
        if reply is None:
            return None, None
        messages = self.fake.messages.get(chat_id, [])
        if reply.kind in ("bot", "user"):
            pool = [m for m in messages if m["_from_bot"] == (reply.kind == "bot")]
            return (pool[reply.index % len(pool)]["message_id"] if pool else None), None
        invented: dict[str, Any] = {
            "message_id": len(messages) + 1000 + reply.index, "date": int(time.time()),
            "from": self.fake.bot_user if reply.index % 2 else {"id": USER, "is_bot": False,
                                                                 "first_name": "User"}}
        if reply.kind == "missing-photo":
            invented["photo"] = [{"file_id": f"AgACgone{reply.index}", "width": 64,
                                  "height": 36, "file_unique_id": f"gone{reply.index}"}]
        else:
            invented["text"] = "a message that is gone"
        return None, invented


@contextlib.contextmanager
def _error_capture(handler: logging.Handler) -> Iterator[None]:
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield
    finally:
        root.removeHandler(handler)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveBot]:
    bot = LiveBot(tmp_path_factory.mktemp("robustness"))
    with _error_capture(bot.errors):
        bot.thread.start()
        try:
            bot.call(bot.start)
            yield bot
        finally:
            with contextlib.suppress(Exception):
                bot.call(bot.stop)
            bot.loop.call_soon_threadsafe(bot.loop.stop)
            bot.thread.join(timeout=10)
            bot.loop.close()


def _check(live: LiveBot, example: list[Step]) -> None:
    errors = live.call(lambda: live.play(example))
    assert not errors, "\n\n".join(errors)


# ---------------------------------------------------------------------------- the properties

# The bot's loop thread uses `random` (retry jitter) while hypothesis draws an example.
RANDOM_WARNING = "ignore:Do not use the `random` module inside strategies"


@pytest.mark.filterwarnings(RANDOM_WARNING)
@settings(max_examples=300, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                 HealthCheck.large_base_example])
@given(example=steps)
def test_no_input_breaks_a_handler_and_the_bot_keeps_answering(live: LiveBot,
                                                               example: list[Step]) -> None:
    """Whatever arrives, no handler error and the bot keeps answering."""
    _check(live, example)


# ---------------------------------------------------------------------- bugs this test found

# Minimal inputs, as hypothesis shrank them (or the smallest of their kind); all fixed since.
FOUND_BUGS = [
    pytest.param(Text(USER, "private", "/cancel 9223372036854775808"), "cancel-int",
                 id="cancel-huge-id"),
    pytest.param(Text(USER, "private", "/cancel ²"), "cancel-int", id="cancel-superscript"),
    pytest.param(Text(ADMIN, "private", "/allow --5"), "allow-int", id="allow-dashes"),
    pytest.param(Text(ADMIN, "private", "/deny 9223372036854775808"), "allow-int",
                 id="deny-huge-id"),
    pytest.param(Press(USER, "private", 0, "animate:9223372036854775808"), "callback-overflow",
                 id="animate-button-huge-job"),
    pytest.param(Text(ADMIN, "private", "/project " + "p" * 4080), "project-echo",
                 id="project-echo-too-long"),
    pytest.param(Text(ADMIN, "private", "/cookie ¡"), "non-ascii-secret", id="cookie-non-ascii"),
]


@pytest.mark.parametrize(("step", "bug"), FOUND_BUGS)
def test_found_bug_stays_fixed(live: LiveBot, step: Step, bug: str) -> None:
    _check(live, [step])


def test_masked_token_pasted_back_then_account(live: LiveBot) -> None:
    pasted = Text(ADMIN, "private", "/token ya29.…abcd")
    try:
        assert live.call(lambda: live.play([pasted], reset=False)) == []
        _check(live, [Text(ADMIN, "private", "/account")])
    finally:
        live.call(live._reset)


async def test_users_listing_of_a_big_bot(start_bot: Any) -> None:
    """On a bot of its own (the shared one keeps its short access list)."""
    bot = await start_bot()
    assert bot.app is not None
    services = installed_services(bot.app.bot_data)
    assert services is not None
    capture = _Errors()
    with _error_capture(capture):
        for user in range(1_000_000_000, 1_000_000_500):  # as if admins had run /allow 500 times
            await services.access.decide(user, allowed=True, by=ADMIN)
        bot.telegram.send_text(ADMIN, "/users")
        await bot.telegram.wait_for(lambda: bot.texts(ADMIN))
        await asyncio.wait_for(bot.app.update_queue.join(), timeout=10)
    assert capture.lines == [], capture.lines[0]
