"""UseapiClient and useapi's status codes on `httpx.MockTransport`: which headers go where, what
each refusal becomes, and which calls are sent again (a paid create never after an answer may
have been lost)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.jobs.errors import (
    AccessDenied,
    AccountDisconnected,
    AuthExpired,
    CaptchaExhausted,
    ErrorCode,
    QuotaExhausted,
    RateLimited,
    RequestRejected,
    ResultLost,
    SafetyBlocked,
    UpstreamError,
    UpstreamUnavailable,
)
from bot.jobs.retry import RetryPolicy
from bot.providers.useapi import protocol
from bot.providers.useapi.client import USER_AGENT, UseapiClient
from bot.redact import fingerprint, redact

API = "https://api.useapi.test/v1/google-flow"
TOKEN = "user:4242-unit-useapi-token-0123456789"
JOBID = "j1731859234567v-u12345-email:jo@example.com-bot:google-flow"
VIDEO_URL = "https://storage.test/video.mp4?Expires=1&Signature=abc"
#: An answer, or a transport failure to raise instead of answering.
Answer = httpx.Response | Callable[[httpx.Request], httpx.HTTPError]


@dataclass
class Upstream:
    """Queued answers per path ending (then 200 `{}`); every request recorded."""

    answers: dict[str, list[Answer]] = field(default_factory=dict)
    requests: list[httpx.Request] = field(default_factory=list)

    def queue(self, path: str, *answers: Answer) -> None:
        self.answers.setdefault(path, []).extend(answers)

    def count(self, path: str) -> int:
        return sum(1 for request in self.requests if request.url.path.endswith(path))

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        queued = next((q for path, q in self.answers.items()
                       if request.url.path.endswith(path) and q), None)
        answer = queued.pop(0) if queued else httpx.Response(200, json={})
        if isinstance(answer, httpx.Response):
            return answer
        raise answer(request)


@dataclass
class Sleeps:
    delays: list[float] = field(default_factory=list)

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


@dataclass
class Rig:
    client: UseapiClient
    upstream: Upstream
    sleeps: Sleeps


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    upstream, sleeps = Upstream(), Sleeps()
    policy = RetryPolicy(attempts=3, base_delay=0.0, max_delay=0.0, max_seconds=600,
                         sleep=sleeps)
    async with httpx.AsyncClient(transport=httpx.MockTransport(upstream)) as http:
        yield Rig(UseapiClient(http=http, base_url=API + "/", token=TOKEN, retry=policy),
                  upstream, sleeps)


def lost(exc: type[httpx.TransportError]) -> Callable[[httpx.Request], httpx.HTTPError]:
    return lambda request: exc("the answer was lost", request=request)


def created() -> httpx.Response:
    return httpx.Response(201, json={"jobid": JOBID, "status": "created"})


async def create(rig: Rig) -> Any:
    return await rig.client.create(protocol.VIDEOS, {"prompt": "a dog", "async": True})


# headers and where the token goes


async def test_every_api_call_carries_the_token_and_a_named_user_agent(rig: Rig) -> None:
    rig.upstream.queue("/videos", created())
    assert await create(rig) == {"jobid": JOBID, "status": "created"}
    request = rig.upstream.requests[0]
    assert str(request.url) == API + "/videos"
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.headers["user-agent"] == USER_AGENT and "veo-bot" in USER_AGENT
    assert TOKEN not in redact(f"sent {TOKEN}")  # registered as a secret


async def test_a_result_link_is_fetched_without_the_token(rig: Rig, tmp_path: Path) -> None:
    rig.upstream.queue("/video.mp4", httpx.Response(200, content=b"\x00\x00\x00\x18ftypmp42"))
    size = await rig.client.download(VIDEO_URL, tmp_path / "v.mp4", max_bytes=1000)
    request = rig.upstream.requests[0]
    assert size == 12 and "authorization" not in request.headers
    assert TOKEN not in str(request.url) and request.headers["user-agent"] == USER_AGENT


async def test_an_expired_link_is_a_lost_result_not_a_token_problem(rig: Rig,
                                                                   tmp_path: Path) -> None:
    rig.upstream.queue("/video.mp4", httpx.Response(403, text="<Error><Code>ExpiredToken"))
    with pytest.raises(ResultLost):
        await rig.client.download(VIDEO_URL, tmp_path / "v.mp4", max_bytes=1000)
    assert rig.upstream.count("/video.mp4") == 1 and not (tmp_path / "v.mp4").exists()


async def test_the_jobid_is_url_encoded_in_the_path(rig: Rig) -> None:
    await rig.client.get(protocol.job_path(JOBID), retry=False, missing="job")
    raw = rig.upstream.requests[0].url.raw_path.decode()
    assert raw == ("/v1/google-flow/jobs/j1731859234567v-u12345-email%3Ajo%40example.com"
                   "-bot%3Agoogle-flow")


async def test_the_email_of_an_upload_is_url_encoded(rig: Rig) -> None:
    rig.upstream.queue("/assets/a+b@example.com", httpx.Response(
        200, json={"mediaGenerationId": {"mediaGenerationId": "m1"}}))
    path = protocol.asset_path("a+b@example.com")
    answer = await rig.client.upload(path, b"\x89PNG....", mime="image/png")
    request = rig.upstream.requests[0]
    assert request.url.raw_path.decode().endswith("/assets/a%2Bb%40example.com")
    assert request.headers["content-type"] == "image/png" and request.content == b"\x89PNG...."
    assert protocol.parse_upload(answer) == "m1"


async def test_no_token_asks_for_one_before_any_request() -> None:
    upstream = Upstream()
    async with httpx.AsyncClient(transport=httpx.MockTransport(upstream)) as http:
        client = UseapiClient(http=http, base_url=API, token=None, retry=RetryPolicy())
        with pytest.raises(AuthExpired, match="USEAPI_TOKEN"):
            await client.get(protocol.ACCOUNTS)
    assert upstream.requests == []


# what is sent again


@pytest.mark.parametrize("failure", [
    lost(httpx.ReadTimeout), lost(httpx.RemoteProtocolError), lost(httpx.ReadError),
    httpx.Response(500, json={"error": "Internal server error"}),
    httpx.Response(502, text="<html>bad gateway</html>"),
    httpx.Response(504, json={"error": "Gateway timeout"}),
], ids=["read-timeout", "dropped", "read-error", "500", "502", "504"])
async def test_a_create_is_never_sent_again_after_an_unclear_failure(
        rig: Rig, failure: Answer) -> None:
    rig.upstream.queue("/videos", failure, created())
    with pytest.raises(UpstreamUnavailable) as caught:
        await create(rig)
    assert caught.value.maybe_processed and rig.upstream.count("/videos") == 1


@pytest.mark.parametrize("failure", [
    lost(httpx.ConnectError), lost(httpx.ConnectTimeout),
    httpx.Response(503, json={"error": "Service unavailable"}),
], ids=["connect", "connect-timeout", "503"])
async def test_a_create_that_surely_did_not_arrive_is_sent_again(rig: Rig,
                                                                  failure: Answer) -> None:
    rig.upstream.queue("/videos", failure, created())
    assert (await create(rig))["jobid"] == JOBID
    assert rig.upstream.count("/videos") == 2


@pytest.mark.parametrize(("body", "headers", "wait"), [
    ({"error": "Too many requests", "retryAfter": 7}, {}, 7.0),
    ({"error": "Too many requests"}, {"Retry-After": "5"}, 5.0),
    ({"error": "Too many requests", "retryAfter": 9}, {"Retry-After": "2"}, 9.0),
], ids=["body", "header", "body-wins"])
async def test_a_429_is_honoured_then_sent_again(rig: Rig, body: dict[str, Any],
                                                  headers: dict[str, str], wait: float) -> None:
    rig.upstream.queue("/videos", httpx.Response(429, json=body, headers=headers), created())
    assert (await create(rig))["jobid"] == JOBID
    assert rig.upstream.count("/videos") == 2 and rig.sleeps.delays == [wait]


async def test_a_408_on_a_create_adopts_the_running_job(rig: Rig) -> None:
    rig.upstream.queue("/videos", httpx.Response(408, json={
        "error": "Timed out", "code": 408, "jobid": JOBID, "status": "started"}))
    assert (await create(rig))["jobid"] == JOBID
    assert rig.upstream.count("/videos") == 1


async def test_a_408_without_a_job_is_not_resent(rig: Rig) -> None:
    rig.upstream.queue("/videos", httpx.Response(408, json={"error": "Timed out"}), created())
    with pytest.raises(UpstreamUnavailable) as caught:
        await create(rig)
    assert caught.value.maybe_processed and rig.upstream.count("/videos") == 1


async def test_a_401_is_not_retried_and_names_the_token_by_fingerprint(rig: Rig) -> None:
    rig.upstream.queue("/videos", httpx.Response(401, json={"error": "Unauthorized"}))
    with pytest.raises(AuthExpired) as caught:
        await create(rig)
    assert caught.value.credential == fingerprint(TOKEN) and TOKEN not in str(caught.value)
    assert "USEAPI_TOKEN" in str(caught.value) and rig.upstream.count("/videos") == 1


# each status code's meaning


@pytest.mark.parametrize(("status", "body", "kind", "code"), [
    (400, {"error": "aspectRatio 16:9 is not supported"}, RequestRejected, ErrorCode.REJECTED),
    (400, {"error": "Google refused the prompt: content moderation",
           "errorDetails": "PUBLIC_ERROR_UNSAFE_GENERATION"}, SafetyBlocked, ErrorCode.UNSAFE),
    (400, {"error": "Request rejected", "response": {"error": {
        "code": 400, "message": "blocked", "details": [
            {"reason": "PUBLIC_ERROR_PROMINENT_PEOPLE_FILTER_FAILED"}]}}},
     SafetyBlocked, ErrorCode.UNSAFE),
    (402, {"error": "No active subscription"}, QuotaExhausted, ErrorCode.QUOTA),
    (403, {"error": "Captcha verification failed after several attempts"}, CaptchaExhausted,
     ErrorCode.CAPTCHA_EXHAUSTED),
    (403, {"error": "veo-3.1-quality: MODEL_ACCESS_DENIED"}, AccessDenied,
     ErrorCode.ACCESS_DENIED),
    (404, {"error": "Google Flow account x@example.com is not configured"},
     AccountDisconnected, ErrorCode.ACCOUNT_DISCONNECTED),
    (429, {"error": "quota", "errorDetails": "PUBLIC_ERROR_PER_MODEL_DAILY_QUOTA_REACHED"},
     QuotaExhausted, ErrorCode.QUOTA),
    (596, {"error": "Session expired: reconnect the account"}, AccountDisconnected,
     ErrorCode.ACCOUNT_DISCONNECTED),
], ids=["400-param", "400-refusal", "400-google-reason", "402", "403-captcha", "403-model",
        "404", "429-quota", "596"])
async def test_each_status_becomes_one_permanent_error(
        rig: Rig, status: int, body: dict[str, Any], kind: type[UpstreamError],
        code: ErrorCode) -> None:
    rig.upstream.queue("/videos", httpx.Response(status, json=body), created())
    with pytest.raises(kind) as caught:
        await create(rig)
    assert caught.value.code == code and caught.value.status == status
    assert rig.upstream.count("/videos") == 1  # a permanent error is not sent again
    assert str(caught.value)  # a sentence, with useapi's words


async def test_a_throttle_that_lasts_is_a_rate_limit_in_the_end(rig: Rig) -> None:
    rig.upstream.queue("/videos", *[httpx.Response(429, json={"error": "busy", "retryAfter": 1})
                                    for _ in range(3)])
    with pytest.raises(RateLimited) as caught:
        await create(rig)
    assert caught.value.retry_after == 1 and rig.upstream.count("/videos") == 3


async def test_a_503_that_lasts_is_unavailable_in_the_end(rig: Rig) -> None:
    rig.upstream.queue("/images", *[httpx.Response(503, json={"error": "down"})] * 3)
    with pytest.raises(UpstreamUnavailable) as caught:
        await rig.client.create(protocol.IMAGES, {"prompt": "x"})
    assert not caught.value.maybe_processed and rig.upstream.count("/images") == 3


async def test_a_poll_is_one_attempt(rig: Rig) -> None:
    rig.upstream.queue(":google-flow", httpx.Response(503, json={"error": "down"}))
    with pytest.raises(UpstreamUnavailable):
        await rig.client.get(protocol.job_path(JOBID), retry=False, missing="job")
    assert len(rig.upstream.requests) == 1


async def test_an_unknown_job_is_a_lost_result(rig: Rig) -> None:
    rig.upstream.queue(":google-flow", httpx.Response(404, json={"error": "Job not found"}))
    with pytest.raises(ResultLost):
        await rig.client.get(protocol.job_path(JOBID), retry=False, missing="job")


def test_the_new_errors_are_permanent_with_sentences_in_both_languages() -> None:
    from bot import texts
    from bot.jobs.errors import PermanentError, is_retryable

    for error in (AccountDisconnected("its Google session broke (useapi.net answered 596)"),
                  CaptchaExhausted("the captcha failed")):
        assert isinstance(error, PermanentError) and not is_retryable(error)
        for lang in ("en", "vi"):
            sentence = texts.error_sentence(lang, error.code, error.detail)
            assert sentence != texts.error_sentence(lang, "no_such_code", error.detail)
    assert "reconnect it on useapi.net" in texts.error_sentence(
        "en", ErrorCode.ACCOUNT_DISCONNECTED, "its Google session broke")
