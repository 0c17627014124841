"""Serving an `aiohttp.web.Application` on loopback for the simulators, and streamed file answers.

Requests are parsed and keep-alive is handled by aiohttp; this module only starts and stops the
server (port 0 picks a free port, `url` reports the real one) and streams large bodies.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from aiohttp import web

#: An aiohttp request handler.
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
#: A simulator route: the request and its body parsed as JSON (None when it is not JSON).
Route = Callable[[web.Request, Any], Awaitable[web.StreamResponse]]
#: (HTTP method, aiohttp path pattern, route).
RouteSpec = tuple[str, str, Route]

# A handler still running at stop (a long poll) gets this long before it is cancelled.
SHUTDOWN_SECONDS = 0.5
BACKLOG = 1024  # a benchmark opens hundreds of connections at once


class LoopbackServer:
    """One application on `host:port`; a fresh application is built at every `start()`."""

    def __init__(self, build: Callable[[], web.Application]) -> None:
        self._build = build
        self._runner: web.AppRunner | None = None
        self._url: str | None = None

    @property
    def url(self) -> str:
        """`http://host:port` with the port actually bound."""
        if self._url is None:
            raise RuntimeError("server not started")
        return self._url

    async def start(self, *, host: str = "127.0.0.1", port: int = 0) -> str:
        runner = web.AppRunner(self._build(), access_log=None,
                               shutdown_timeout=SHUTDOWN_SECONDS)
        await runner.setup()
        try:
            await web.TCPSite(runner, host, port, backlog=BACKLOG).start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        bound_host, bound_port = runner.addresses[0][:2]
        self._url = f"http://{bound_host}:{bound_port}"
        return self._url

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()


async def stream(request: web.Request, chunks: Iterable[bytes], *, length: int,
                 content_type: str) -> web.StreamResponse:
    """A 200 answer of `length` bytes sent chunk by chunk (never held whole in memory)."""
    response = web.StreamResponse()
    response.content_type = content_type
    response.content_length = length
    await response.prepare(request)
    for chunk in chunks:
        await response.write(chunk)
    await response.write_eof()
    return response
