"""`fetch_session_token` (labs.google cookie → bearer) on `httpx.MockTransport`."""

from __future__ import annotations

import json
import types
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from bot.jobs.errors import AuthExpired, BadResponse, UpstreamError, UpstreamUnavailable
from bot.providers.flow import session
from bot.providers.flow.session import COOKIE_NAME, TOKEN_LIFETIME, fetch_session_token

URL = "https://labs.test/fx/api/auth/session"
COOKIE = "eyJhbGciOiJkaXIi.unit-cookie-value-0123456789"
FRESH = "ya29.unit.fresh-bearer-0123456789"
NOW = 1_800_000_000.0  # 2027-01-15T08:00:00Z
Handler = Callable[[httpx.Request], httpx.Response]


@pytest.fixture(autouse=True)
def clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(session, "time", types.SimpleNamespace(time=lambda: NOW))


async def fetch(handler: Handler, cookie: str = COOKIE) -> session.SessionToken:
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        return await fetch_session_token(http, URL, cookie)


def answer(body: Any, status: int = 200) -> Handler:
    """`body` as JSON, `None` too (Auth.js answers `null` when there is no session)."""
    return lambda _: httpx.Response(status, content=json.dumps(body).encode(),
                                    headers={"Content-Type": "application/json"})


async def test_the_cookie_buys_a_bearer_until_the_session_expiry() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"user": {"name": "u"}, "access_token": FRESH,
                                         "expires": "2027-01-15T08:10:00.000Z"})

    token = await fetch(handler)
    assert token == session.SessionToken(FRESH, NOW + 600)
    [request] = seen
    assert (request.method, str(request.url)) == ("GET", URL)
    assert request.headers["cookie"] == f"{COOKIE_NAME}={COOKIE}"
    assert "authorization" not in request.headers


@pytest.mark.parametrize("expires", [
    "2027-02-01T00:00:00Z",  # the session outlives the token
    None, 17, "tomorrow",
])
async def test_the_token_lives_an_hour_at_most(expires: Any) -> None:
    token = await fetch(answer({"access_token": FRESH, "expires": expires}))
    assert token.expires_at == NOW + TOKEN_LIFETIME


@pytest.mark.parametrize("body", [
    {}, {"user": {"name": "u"}}, {"access_token": ""}, {"access_token": 12}, [FRESH], None,
], ids=repr)
async def test_a_dead_cookie_is_auth_expired_without_echoing_it(body: Any) -> None:
    with pytest.raises(AuthExpired) as caught:
        await fetch(answer(body))
    assert COOKIE not in str(caught.value) and COOKIE not in repr(caught.value)


@pytest.mark.parametrize(("status", "expected"), [
    (401, AuthExpired), (500, UpstreamUnavailable), (503, UpstreamUnavailable),
])
async def test_an_error_status_is_mapped(status: int, expected: type[UpstreamError]) -> None:
    with pytest.raises(expected) as caught:
        await fetch(answer({"message": "session error"}, status))
    assert caught.value.status == status and "labs.google session" in str(caught.value)


async def test_a_login_page_instead_of_json_is_a_bad_response() -> None:
    with pytest.raises(BadResponse):
        await fetch(lambda _: httpx.Response(200, text="<html>Sign in</html>"))


async def test_a_cookie_a_header_cannot_carry_is_auth_expired() -> None:
    cookie = "куки-значение-секрет"
    with pytest.raises(AuthExpired) as caught:
        await fetch(answer({"access_token": FRESH}), cookie=cookie)
    assert cookie not in str(caught.value) and cookie not in repr(caught.value)
