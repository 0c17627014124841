"""The labs.google session endpoint: cookies that mint bearer tokens, tokens that really expire.

`SessionAuthority` decides which Google bearer tokens are valid right now: the configured static
token (until `expire()`d) and every token minted from a live cookie (until its TTL runs out).
"""

from __future__ import annotations

import secrets
import time
from datetime import UTC, datetime

COOKIE_NAME = "__Secure-next-auth.session-token"
SESSION_PATH = "/fx/api/auth/session"


class SessionAuthority:
    def __init__(self, *, token_ttl: float = 3600.0) -> None:
        self.token_ttl = token_ttl
        self.cookies: set[str] = set()
        self._minted: dict[str, float] = {}  # token -> monotonic expiry
        self._expired: set[str] = set()
        self.renewals = 0

    def add_cookie(self, cookie: str) -> None:
        self.cookies.add(cookie)

    def revoke_cookie(self, cookie: str) -> None:
        self.cookies.discard(cookie)

    def expire(self, token: str | None = None) -> None:
        """Make one token (or every token known so far) invalid from now on."""
        targets = [token] if token else [*self._minted, *self._expired]
        for value in targets:
            self._minted.pop(value, None)
            self._expired.add(value)

    def expire_static(self, token: str) -> None:
        self._expired.add(token)

    def is_valid(self, token: str, static: str | None) -> bool:
        if token in self._expired:
            return False
        expiry = self._minted.get(token)
        if expiry is not None:
            return time.monotonic() < expiry
        return static is None or token == static

    def session(self, cookie_header: str | None) -> dict[str, object]:
        """NextAuth's answer: a fresh token for a live cookie, `{}` otherwise."""
        cookie = _cookie_value(cookie_header)
        if cookie is None or cookie not in self.cookies:
            return {}
        token = "ya29.sim-" + secrets.token_urlsafe(24)
        self._minted[token] = time.monotonic() + self.token_ttl
        self.renewals += 1
        expires = datetime.fromtimestamp(time.time() + self.token_ttl, UTC)
        return {"user": {"name": "Sim User", "email": "sim@example.com"},
                "expires": expires.isoformat().replace("+00:00", "Z"), "access_token": token}


def _cookie_value(header: str | None) -> str | None:
    for part in (header or "").split(";"):
        name, _, value = part.strip().partition("=")
        if name == COOKIE_NAME and value:
            return value
    return None
