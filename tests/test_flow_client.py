"""FlowClient on `httpx.MockTransport`: which token goes where, what a refusal carries, and which
calls are sent again (a paid create never after an answer may have been lost)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.jobs.errors import (
    AuthExpired,
    QuotaExhausted,
    RateLimited,
    RequestRejected,
    UpstreamError,
    UpstreamUnavailable,
)
from bot.jobs.model import Aspect, ImageRole, JobKind
from bot.jobs.provider import GenerationRequest
from bot.jobs.retry import RetryPolicy
from bot.providers.flow import protocol
from bot.providers.flow.client import FlowClient, FlowCredentials
from bot.providers.flow.provider import FlowProvider
from bot.redact import fingerprint, register_secret

PROXY = "https://proxy.test/api/fix"
API = "https://google.test"
BEARER = "ya29.unit.bearer-value-0123456789"
PROXY_TOKEN = "proxy-unit-value-9876543210"
PROJECT = "unit-project"
VIDEO_URL = "https://cdn.test/video/abc?Expires=1"
CREATE = protocol.PROXY_CREATE_VIDEO
#: An answer, or a transport failure to raise instead of answering.
Answer = httpx.Response | Callable[[httpx.Request], httpx.HTTPError]


@dataclass
class Upstream:
    """Both hosts at once: queued answers per path (then 200 `{}`), every request recorded."""

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
class Flow:
    client: FlowClient
    upstream: Upstream
    sleeps: Sleeps


@pytest.fixture
async def flow() -> AsyncIterator[Flow]:
    upstream, sleeps = Upstream(), Sleeps()

    async def credentials() -> FlowCredentials:
        return FlowCredentials(BEARER, PROXY_TOKEN, PROJECT)

    for secret in (BEARER, PROXY_TOKEN):  # as `Accounts` does with every token it hands out
        register_secret(secret)

    policy = RetryPolicy(attempts=3, base_delay=0.0, max_delay=0.0, sleep=sleeps)
    async with httpx.AsyncClient(transport=httpx.MockTransport(upstream)) as http:
        yield Flow(FlowClient(http=http, proxy_url=PROXY + "/", api_url=API,
                              credentials=credentials, retry=policy), upstream, sleeps)


def google_error(code: int, status: str, reason: str | None = None,
                 message: str = "nope") -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message, "status": status}
    if reason:
        error["details"] = [{"@type": "type.googleapis.com/google.rpc.ErrorInfo",
                             "reason": reason}]
    return {"error": error}


def lost(exc: type[httpx.TransportError]) -> Callable[[httpx.Request], httpx.HTTPError]:
    return lambda request: exc("the answer was lost", request=request)


def everything(request: httpx.Request) -> str:
    """All a request carries: URL, headers and body, to look for a token in."""
    headers = " ".join(f"{k}: {v}" for k, v in request.headers.items())
    return f"{request.url} {headers} {request.content.decode()}"


async def create(flow: Flow) -> Any:
    return await flow.client.proxy_create(CREATE, protocol.GOOGLE_T2V, {"requests": [1]})


# which token goes where

async def test_proxy_create_carries_the_proxy_token_and_the_bearer_in_its_body(
        flow: Flow) -> None:
    flow.upstream.queue(CREATE, httpx.Response(200, json={"success": True, "taskId": "t1"}))
    assert await create(flow) == {"success": True, "taskId": "t1"}
    [request] = flow.upstream.requests
    assert (request.method, str(request.url)) == ("POST", PROXY + CREATE)
    assert request.headers["authorization"] == f"Bearer {PROXY_TOKEN}"
    assert json.loads(request.content) == {"body_json": {"requests": [1]},
                                           "flow_auth_token": BEARER,
                                           "flow_url": API + protocol.GOOGLE_T2V}
    assert all(BEARER not in value for value in request.headers.values())


async def test_task_status_sends_only_the_proxy_token(flow: Flow) -> None:
    await flow.client.proxy_task_status("task-7")
    [request] = flow.upstream.requests
    assert request.method == "GET" and request.url.params["taskId"] == "task-7"
    assert request.headers["authorization"] == f"Bearer {PROXY_TOKEN}"
    assert BEARER not in everything(request)


async def test_google_calls_send_only_the_bearer(flow: Flow) -> None:
    await flow.client.google("POST", protocol.GOOGLE_POLL, {"operations": []})
    [request] = flow.upstream.requests
    assert str(request.url) == API + protocol.GOOGLE_POLL
    assert request.headers["authorization"] == f"Bearer {BEARER}"
    assert PROXY_TOKEN not in everything(request)


async def test_a_download_sends_no_token(flow: Flow, tmp_path: Path) -> None:
    flow.upstream.queue("/video/abc", httpx.Response(200, content=b"mp4"))
    assert await flow.client.download(VIDEO_URL, tmp_path / "v.mp4", max_bytes=100) == 3
    [request] = flow.upstream.requests
    assert "authorization" not in request.headers
    assert BEARER not in everything(request) and PROXY_TOKEN not in everything(request)


# a refused token

@pytest.mark.parametrize(("call", "path", "token"), [
    ("google", protocol.GOOGLE_POLL, BEARER),
    ("status", protocol.PROXY_TASK_STATUS, PROXY_TOKEN),
    ("create", CREATE, PROXY_TOKEN),
])
async def test_a_401_names_the_refused_token_by_fingerprint_only(
        flow: Flow, call: str, path: str, token: str) -> None:
    echo = google_error(401, "UNAUTHENTICATED", message=f"invalid credentials {token}")
    flow.upstream.queue(path, httpx.Response(401, json=echo))
    with pytest.raises(AuthExpired) as caught:
        if call == "google":
            await flow.client.google("POST", path, {})
        elif call == "status":
            await flow.client.proxy_task_status("t")
        else:
            await create(flow)
    error = caught.value
    assert error.credential == fingerprint(token) and error.status == 401
    for shown in (str(error), repr(error), repr(vars(error))):
        assert token not in shown
    assert flow.upstream.count(path) == 1


# what is sent again

@pytest.mark.parametrize("exc", [httpx.ReadTimeout, httpx.ReadError, httpx.RemoteProtocolError])
async def test_a_create_whose_answer_was_lost_is_sent_once(
        flow: Flow, exc: type[httpx.TransportError]) -> None:
    flow.upstream.queue(CREATE, lost(exc), httpx.Response(200, json={"taskId": "twice"}))
    with pytest.raises(UpstreamUnavailable) as caught:
        await create(flow)
    assert caught.value.maybe_processed
    assert flow.upstream.count(CREATE) == 1 and flow.sleeps.delays == []


@pytest.mark.parametrize("status", [500, 502, 504])
async def test_a_create_whose_answer_may_be_lost_is_sent_once(flow: Flow,
                                                                    status: int) -> None:
    flow.upstream.queue(CREATE, httpx.Response(status, text="<html>gateway</html>"),
                        httpx.Response(200, json={"taskId": "twice"}))
    with pytest.raises(UpstreamUnavailable) as caught:
        await create(flow)
    assert caught.value.maybe_processed and caught.value.status == status
    assert flow.upstream.count(CREATE) == 1


@pytest.mark.parametrize("first", [
    httpx.Response(503, json=google_error(503, "UNAVAILABLE")),
    lost(httpx.ConnectError),
], ids=["503", "connect"])
async def test_a_create_that_was_refused_or_never_left_is_sent_again(
        flow: Flow, first: Answer) -> None:
    """Only a 503 or a connection never made says the create was not taken."""
    flow.upstream.queue(CREATE, first, httpx.Response(200, json={"taskId": "t2"}))
    assert await create(flow) == {"taskId": "t2"}
    assert flow.upstream.count(CREATE) == 2


async def test_an_idempotent_get_is_retried_on_503_and_after_a_lost_answer(flow: Flow) -> None:
    flow.upstream.queue(protocol.PROXY_TASK_STATUS,
                        httpx.Response(503, json=google_error(503, "UNAVAILABLE")),
                        lost(httpx.ReadTimeout),
                        httpx.Response(200, json={"success": True, "result": {}}))
    assert await flow.client.proxy_task_status("t") == {"success": True, "result": {}}
    assert flow.upstream.count(protocol.PROXY_TASK_STATUS) == 3


async def test_a_503_retry_after_is_honoured(flow: Flow) -> None:
    flow.upstream.queue(protocol.PROXY_TASK_STATUS,
                        httpx.Response(503, headers={"Retry-After": "7"}))
    await flow.client.proxy_task_status("t")
    assert flow.upstream.count(protocol.PROXY_TASK_STATUS) == 2
    assert flow.sleeps.delays == [7.0]


async def test_a_throttled_call_waits_at_least_retry_after(flow: Flow) -> None:
    throttled = google_error(429, "RESOURCE_EXHAUSTED", "PUBLIC_ERROR_USER_REQUESTS_THROTTLED")
    flow.upstream.queue(protocol.GOOGLE_POLL,
                        httpx.Response(429, json=throttled, headers={"Retry-After": "7"}))
    await flow.client.google("POST", protocol.GOOGLE_POLL, {})
    assert flow.upstream.count(protocol.GOOGLE_POLL) == 2 and flow.sleeps.delays == [7.0]


@pytest.mark.parametrize("path", [CREATE, protocol.GOOGLE_POLL])
async def test_a_spent_quota_is_not_retried(flow: Flow, path: str) -> None:
    quota = google_error(429, "RESOURCE_EXHAUSTED",
                         "PUBLIC_ERROR_PER_MODEL_DAILY_QUOTA_REACHED")
    flow.upstream.queue(path, httpx.Response(429, json=quota, headers={"Retry-After": "1"}))
    with pytest.raises(QuotaExhausted):
        if path == CREATE:
            await create(flow)
        else:
            await flow.client.google("POST", path, {})
    assert flow.upstream.count(path) == 1 and flow.sleeps.delays == []


async def test_retry_false_makes_one_attempt(flow: Flow) -> None:
    flow.upstream.queue(protocol.GOOGLE_POLL, httpx.Response(429, json={}))
    with pytest.raises(RateLimited):
        await flow.client.google("POST", protocol.GOOGLE_POLL, {}, retry=False)
    assert flow.upstream.count(protocol.GOOGLE_POLL) == 1


async def test_a_download_is_retried_after_a_5xx(flow: Flow, tmp_path: Path) -> None:
    dest = tmp_path / "v.mp4"
    flow.upstream.queue("/video/abc", httpx.Response(502), lost(httpx.ReadError),
                        httpx.Response(200, content=b"video"))
    assert await flow.client.download(VIDEO_URL, dest, max_bytes=100) == 5
    assert dest.read_bytes() == b"video" and flow.upstream.count("/video/abc") == 3


async def test_a_download_gives_up_within_the_policy(flow: Flow, tmp_path: Path) -> None:
    dest = tmp_path / "v.mp4"
    flow.upstream.queue("/video/abc", *[httpx.Response(500)] * 5)
    with pytest.raises(UpstreamError):
        await flow.client.download(VIDEO_URL, dest, max_bytes=100)
    assert flow.upstream.count("/video/abc") == 3 and not dest.exists()


async def test_a_refused_proxy_token_is_not_renewed_a_refused_bearer_is(flow: Flow) -> None:
    renewals: list[str | None] = []

    async def renew(stale: str | None) -> bool:
        renewals.append(stale)
        return True

    provider = FlowProvider(client=flow.client, renew=renew)
    assert not await provider.renew_auth(AuthExpired("no", credential=fingerprint(PROXY_TOKEN)))
    assert await provider.renew_auth(AuthExpired("no", credential=fingerprint(BEARER)))
    assert renewals == [fingerprint(BEARER)]


@pytest.mark.parametrize(("extra", "role"), [
    (("last-frame",), ImageRole.FRAMES), ((), ImageRole.REFERENCES)])
async def test_flow_refuses_a_last_frame_or_references_before_sending(
        flow: Flow, extra: tuple[str, ...], role: ImageRole) -> None:
    provider = FlowProvider(client=flow.client)
    request = GenerationRequest(JobKind.ANIMATE, "dawn to dusk", Aspect.LANDSCAPE, "first",
                                extra_media_ids=extra, image_role=role)
    with pytest.raises(RequestRejected):
        await provider.submit(request)
    assert flow.upstream.requests == []
