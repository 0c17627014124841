"""Our own Interactions API calls on `httpx.MockTransport`: where they go, with which key, and what
Google's documented error bodies become."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from bot.jobs.errors import (
    AccessDenied,
    AuthExpired,
    QuotaExhausted,
    RateLimited,
    RequestRejected,
    SafetyBlocked,
    UpstreamError,
    UpstreamUnavailable,
)
from bot.providers.gemini.errors import status_map
from bot.providers.gemini.interactions import (
    DEVELOPER_ROOT,
    Interactions,
    agent_platform_base,
    developer_base,
    key_auth,
)
from bot.redact import fingerprint

KEY = "AIzaUnit-rest-key-0123456789abcdef"
BASE = "https://gemini.test/"
ERROR_INFO = "type.googleapis.com/google.rpc.ErrorInfo"
QUOTA_FAILURE = "type.googleapis.com/google.rpc.QuotaFailure"
RETRY_INFO = "type.googleapis.com/google.rpc.RetryInfo"
Handler = Callable[[httpx.Request], httpx.Response]


def google_error(code: int, status: str, message: str, *details: dict[str, Any]
                 ) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "status": status,
                      "details": list(details)}}


def quota(period: str, metric: str, delay: str = "17s") -> dict[str, Any]:
    """Google's 429 for a spent quota, as the Gemini API documents it."""
    return google_error(
        429, "RESOURCE_EXHAUSTED", "You exceeded your current quota, please check your plan.",
        {"@type": QUOTA_FAILURE, "violations": [
            {"quotaMetric": f"generativelanguage.googleapis.com/{metric}",
             "quotaId": f"GenerateRequests{period}PerProjectPerModel"}]},
        {"@type": RETRY_INFO, "retryDelay": delay})


KEY_INVALID = google_error(400, "INVALID_ARGUMENT",
                           "API key not valid. Please pass a valid API key.",
                           {"@type": ERROR_INFO, "reason": "API_KEY_INVALID",
                            "domain": "googleapis.com"})
PER_DAY = quota("PerDay", "generate_requests_per_model_per_day")
PER_MINUTE = quota("PerMinute", "generate_requests_per_model")


BODY = {"model": "gemini-omni-1.1-flash", "input": "a cat", "background": True}


def client(http: httpx.AsyncClient, base_url: str | None = BASE) -> Interactions:
    return Interactions(http=http, base=developer_base(base_url), auth=key_auth(KEY),
                        status_map=status_map(credential=fingerprint(KEY)), timeout=12.5)


async def call(handler: Handler, *, base_url: str | None = BASE) -> Any:
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        return await client(http, base_url).create(BODY)


async def refused(answer: httpx.Response) -> UpstreamError:
    with pytest.raises(UpstreamError) as caught:
        await call(lambda _: answer)
    return caught.value


async def test_a_create_posts_the_body_with_the_key_header() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"id": "v1_abc", "status": "in_progress"})

    assert await call(handler) == {"id": "v1_abc", "status": "in_progress"}
    [request] = seen
    assert (request.method, str(request.url)) == ("POST", "https://gemini.test/v1beta/interactions")
    assert request.headers["x-goog-api-key"] == KEY and "authorization" not in request.headers
    assert json.loads(request.content) == BODY
    assert request.extensions["timeout"]["read"] == 12.5


@pytest.mark.parametrize(("base_url", "url"), [
    (None, f"{DEVELOPER_ROOT}/v1beta/interactions"),
    ("https://gemini.test/", "https://gemini.test/v1beta/interactions"),
])
async def test_the_url_is_built_from_the_root(base_url: str | None, url: str) -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(200, json={})

    await call(handler, base_url=base_url)
    assert seen == [url]


async def test_a_get_names_the_interaction_in_the_path() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"id": "v1 a/b", "status": "queued"})

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        await client(http).get("v1 a/b")
    [request] = seen
    assert request.method == "GET" and request.content == b""
    assert request.url.raw_path == b"/v1beta/interactions/v1%20a%2Fb"
    assert request.headers["x-goog-api-key"] == KEY


@pytest.mark.parametrize(("project", "location", "base"), [
    (None, None, "https://aiplatform.googleapis.com/v1beta1"),
    ("proj", None, "https://aiplatform.googleapis.com/v1beta1"),
    ("proj", "us-central1",
     "https://aiplatform.googleapis.com/v1beta1/projects/proj/locations/us-central1"),
])
def test_agent_platform_base_follows_the_sdk(project: str | None, location: str | None,
                                             base: str) -> None:
    assert agent_platform_base("https://aiplatform.googleapis.com/", "v1beta1", project,
                               location) == base


async def test_an_invalid_key_is_auth_expired_naming_the_key_by_fingerprint() -> None:
    error = await refused(httpx.Response(400, json=KEY_INVALID))
    assert isinstance(error, AuthExpired)
    assert error.credential == fingerprint(KEY) and error.reason == "API_KEY_INVALID"
    assert "GEMINI_API_KEY" in str(error)
    for shown in (str(error), repr(error), repr(vars(error))):
        assert KEY not in shown


async def test_a_401_is_auth_expired() -> None:
    error = await refused(httpx.Response(401, json=google_error(401, "UNAUTHENTICATED", "no")))
    assert isinstance(error, AuthExpired) and error.credential == fingerprint(KEY)


async def test_a_spent_daily_quota_is_quota_exhausted() -> None:
    error = await refused(httpx.Response(429, json=PER_DAY))
    assert isinstance(error, QuotaExhausted) and "quota is used up" in str(error)


async def test_a_tier_without_the_model_is_quota_exhausted() -> None:
    body = google_error(429, "RESOURCE_EXHAUSTED", "Quota exceeded for metric: x, limit: 0")
    assert isinstance(await refused(httpx.Response(429, json=body)), QuotaExhausted)


async def test_a_per_minute_limit_is_rate_limited_with_the_retry_delay() -> None:
    error = await refused(httpx.Response(429, json=PER_MINUTE))
    assert isinstance(error, RateLimited) and error.retry_after == 17.0


async def test_a_retry_after_header_wins_over_the_retry_delay() -> None:
    error = await refused(httpx.Response(429, json=PER_MINUTE, headers={"Retry-After": "4"}))
    assert isinstance(error, RateLimited) and error.retry_after == 4.0


@pytest.mark.parametrize(("status", "body", "expected"), [
    (400, google_error(400, "INVALID_ARGUMENT",
                       "The prompt could not be submitted: it violates the usage guidelines."),
     SafetyBlocked),
    (400, google_error(400, "INVALID_ARGUMENT", "durationSeconds is out of bounds"),
     RequestRejected),
    (403, google_error(403, "PERMISSION_DENIED", "The caller does not have permission"),
     AccessDenied),
    (404, google_error(404, "NOT_FOUND", "models/omni-unit is not found"), RequestRejected),
    (400, google_error(400, "INVALID_ARGUMENT", "Interaction v1_x not found."), RequestRejected),
    (500, google_error(500, "INTERNAL", "An internal error has occurred."),
     UpstreamUnavailable),
    (503, google_error(503, "UNAVAILABLE", "The model is overloaded."), UpstreamUnavailable),
])
async def test_google_answers_map_to_the_tree(status: int, body: dict[str, Any],
                                              expected: type[UpstreamError]) -> None:
    error = await refused(httpx.Response(status, json=body))
    assert type(error) is expected and error.status == status


@pytest.mark.parametrize(("answer", "maybe_processed"), [
    (httpx.Response(503, json=google_error(503, "UNAVAILABLE", "overloaded")), False),
    (httpx.Response(504, json=google_error(504, "DEADLINE_EXCEEDED", "deadline")), True),
    (httpx.Response(500, json=google_error(500, "INTERNAL", "internal")), True),
])
async def test_a_submission_lost_at_the_gateway_may_have_been_processed(
        answer: httpx.Response, maybe_processed: bool) -> None:
    error = await refused(answer)
    assert isinstance(error, UpstreamUnavailable)
    assert error.maybe_processed is maybe_processed


async def test_one_call_is_one_attempt() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if len(seen) == 1:
            raise httpx.ReadTimeout("slow", request=request)
        return httpx.Response(200, json={})

    with pytest.raises(UpstreamUnavailable) as caught:
        await call(handler)
    assert caught.value.maybe_processed and len(seen) == 1
