"""A fresh Google bearer token from the labs.google browser session (the NextAuth cookie)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

import httpx

from bot.jobs.errors import AuthExpired
from bot.providers.flow.errors import status_map
from bot.providers.http import request_json

COOKIE_NAME = "__Secure-next-auth.session-token"
#: Google access tokens live about an hour, whatever the session's own expiry says.
TOKEN_LIFETIME = 3600.0
UPSTREAM = "the labs.google session"


@dataclass(frozen=True)
class SessionToken:
    access_token: str
    expires_at: float


async def fetch_session_token(http: httpx.AsyncClient, url: str, cookie: str) -> SessionToken:
    """Exchange the session cookie for a bearer token; AuthExpired if the cookie is dead."""
    body = await request_json(http, "GET", url, upstream=UPSTREAM,
                              status_map=status_map(upstream=UPSTREAM),
                              headers={"Cookie": f"{COOKIE_NAME}={cookie}"})
    token = body.get("access_token") if isinstance(body, dict) else None
    if not isinstance(token, str) or not token:
        raise AuthExpired("the labs.google session cookie is no longer valid")
    return SessionToken(token, _expiry(body.get("expires")))


def _expiry(value: object) -> float:
    ceiling = time.time() + TOKEN_LIFETIME
    if not isinstance(value, str):
        return ceiling
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return ceiling
    return min(parsed, ceiling)
