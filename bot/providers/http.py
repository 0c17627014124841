"""The one HTTP path every provider client uses: send, translate the transport error, map the
status through the provider's own error map, parse the JSON; and capped streaming downloads.

Each call here is ONE attempt. Retrying is the caller's decision (`bot.jobs.retry`), so a paid
submission is never sent twice behind its back.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx

from bot.jobs.errors import (
    AuthExpired,
    BadResponse,
    ResultTooLarge,
    UpstreamError,
    UpstreamUnavailable,
)

#: A provider's status map: a non-2xx answer (body already read) to the matching error.
StatusMap = Callable[[httpx.Response], UpstreamError]

#: Errors after which the request was sent and its answer lost: the upstream may have acted.
_AMBIGUOUS = (httpx.ReadTimeout, httpx.ReadError, httpx.RemoteProtocolError, httpx.WriteError)
#: Server errors that may come after the server acted on the request (a 500 mid-way, a gateway
#: whose server took it and failed (502) or never answered (504)): a paid create is not sent
#: again after them. Only a 503 says the server did not take the request at all.
ANSWER_LOST = frozenset(range(500, 600)) - {503}


def transport_error(exc: httpx.HTTPError, *, upstream: str) -> UpstreamUnavailable:
    """A timeout or a broken connection, named without its URL (URLs may carry secrets)."""
    kind = "timed out" if isinstance(exc, httpx.TimeoutException) else "unreachable"
    return UpstreamUnavailable(f"{upstream} {kind} ({type(exc).__name__})",
                               maybe_processed=isinstance(exc, _AMBIGUOUS))


def retry_after(value: str | None) -> float | None:
    """A `Retry-After` header (or a `"12s"` style delay) in seconds; None when absent or odd."""
    try:
        return max(0.0, float(value.removesuffix("s"))) if value else None
    except ValueError:
        return None


def status_map_of(from_status: Callable[..., UpstreamError], **options: Any) -> StatusMap:
    """A `StatusMap` over a provider's `from_status(status, body, *, retry_after, **options)`."""
    def to_error(response: httpx.Response) -> UpstreamError:
        return from_status(response.status_code, json_or_none(response),
                           retry_after=retry_after(response.headers.get("retry-after")), **options)
    return to_error


def json_or_none(response: httpx.Response) -> Any:
    """The body as JSON, or None when it is not JSON (error bodies are often HTML)."""
    try:
        return response.json()
    except ValueError:
        return None


async def request_json(
    http: httpx.AsyncClient, method: str, url: str, *, upstream: str, status_map: StatusMap,
    **kwargs: Any,
) -> Any:
    """One request; a 2xx JSON body comes back, anything else as an `UpstreamError`."""
    response = await send(http, method, url, upstream=upstream, status_map=status_map, **kwargs)
    try:
        return response.json()
    except ValueError as exc:
        raise BadResponse(f"{upstream} answered with something that is not JSON") from exc


async def send(
    http: httpx.AsyncClient, method: str, url: str, *, upstream: str, status_map: StatusMap,
    **kwargs: Any,
) -> httpx.Response:
    """One request; the 2xx response comes back, anything else as an `UpstreamError`."""
    with _translated(upstream):
        response = await http.request(method, url, **kwargs)
    if response.status_code >= 400:
        raise status_map(response)
    return response


async def download_capped(
    http: httpx.AsyncClient, url: str, dest: Path, *, max_bytes: int, upstream: str,
    status_map: StatusMap, headers: dict[str, str] | None = None,
) -> int:
    """Stream `url` into `dest` chunk by chunk (never whole in memory); return its size.

    Past `max_bytes` (declared or counted) it raises `ResultTooLarge` carrying the url; on any
    failure `dest` is removed.
    """
    size = 0
    try:
        with _translated(upstream):
            async with http.stream("GET", url, headers=headers) as response:
                if response.status_code >= 400:
                    await response.aread()
                    raise status_map(response)
                declared = int(response.headers.get("content-length") or 0)
                if declared > max_bytes:
                    raise ResultTooLarge("the result is too large to upload", url=url,
                                         size=declared)
                with dest.open("wb") as file:
                    # Decoded (a gzip answer is saved as the video, not its gzip); without a
                    # chunk size nothing is re-chunked or copied.
                    async for chunk in response.aiter_bytes():
                        size += len(chunk)
                        if size > max_bytes:
                            raise ResultTooLarge("the result is too large to upload", url=url)
                        file.write(chunk)
    except BaseException:
        _remove(dest)
        raise
    return size


@contextlib.contextmanager
def _translated(upstream: str) -> Iterator[None]:
    """httpx's failures (and a header it cannot encode) as our errors, named without the URL."""
    try:
        yield
    except httpx.HTTPError as exc:
        raise transport_error(exc, upstream=upstream) from exc
    except UnicodeEncodeError as exc:  # a header carries ASCII only: a mistyped credential
        raise AuthExpired(f"the credential for {upstream} holds characters a header cannot "
                          "carry") from exc


def _remove(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink(missing_ok=True)
