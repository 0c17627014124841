"""The shared HTTP path (`bot.providers.http`) on `httpx.MockTransport`: no sockets, no sleeps."""

from __future__ import annotations

import gzip
from collections.abc import AsyncIterator, Callable, Iterable
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.jobs.errors import (
    AuthExpired,
    BadResponse,
    RequestRejected,
    ResultTooLarge,
    UpstreamError,
    UpstreamUnavailable,
)
from bot.providers.http import download_capped, request_json, retry_after

UP = "the test upstream"
URL = "https://upstream.test/v1/thing?key=secret-in-the-url"
Handler = Callable[[httpx.Request], httpx.Response]


class Chunks(httpx.AsyncByteStream):
    """A body sent chunk by chunk without a Content-Length; `fail` breaks it after the chunks."""

    def __init__(self, chunks: Iterable[bytes], *, fail: httpx.HTTPError | None = None) -> None:
        self.chunks = list(chunks)
        self.fail = fail
        self.sent = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks:
            self.sent += 1
            yield chunk
        if self.fail is not None:
            raise self.fail


class Recorder:
    """A status map that remembers what it was given and answers one fixed error."""

    def __init__(self) -> None:
        self.seen: list[tuple[int, bytes]] = []

    def __call__(self, response: httpx.Response) -> UpstreamError:
        self.seen.append((response.status_code, response.content))
        return RequestRejected(f"mapped {response.status_code}", status=response.status_code)


def client(handler: Handler) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.MockTransport(handler))


async def get_json(handler: Handler, *, status_map: Recorder | None = None,
                   **kwargs: Any) -> Any:
    async with client(handler) as http:
        return await request_json(http, "POST", URL, upstream=UP,
                                  status_map=status_map or Recorder(), **kwargs)


async def download(handler: Handler, dest: Path, *, max_bytes: int = 10,
                   status_map: Recorder | None = None, **kwargs: Any) -> int:
    async with client(handler) as http:
        return await download_capped(http, URL, dest, max_bytes=max_bytes, upstream=UP,
                                     status_map=status_map or Recorder(), **kwargs)


def raising(exc: Callable[[httpx.Request], httpx.HTTPError]) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc(request)
    return handler


# request_json

async def test_request_json_returns_the_body_and_sends_what_it_was_given() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"ok": [1, 2]})

    body = await get_json(handler, json={"a": 1}, headers={"X-Test": "yes"})
    assert body == {"ok": [1, 2]}
    assert seen[0].method == "POST" and seen[0].headers["x-test"] == "yes"
    assert seen[0].content == b'{"a":1}'


async def test_request_json_on_a_2xx_that_is_not_json_is_a_bad_response() -> None:
    with pytest.raises(BadResponse, match="not JSON") as caught:
        await get_json(lambda _: httpx.Response(200, text="<html>welcome</html>"))
    assert UP in str(caught.value) and "secret-in-the-url" not in str(caught.value)


@pytest.mark.parametrize("status", [400, 401, 404, 429, 500, 503])
async def test_request_json_on_an_error_status_raises_the_status_maps_error(status: int) -> None:
    mapper = Recorder()
    with pytest.raises(RequestRejected, match=f"mapped {status}"):
        await get_json(lambda _: httpx.Response(status, json={"error": "x"}), status_map=mapper)
    assert mapper.seen == [(status, b'{"error":"x"}')]


async def test_a_3xx_is_not_an_error_status() -> None:
    mapper = Recorder()
    with pytest.raises(BadResponse):
        await get_json(lambda _: httpx.Response(302, headers={"Location": "/login"}),
                       status_map=mapper)
    assert mapper.seen == []


@pytest.mark.parametrize(("error", "kind", "maybe_processed"), [
    (httpx.ConnectError, "unreachable", False),
    (httpx.ConnectTimeout, "timed out", False),
    (httpx.PoolTimeout, "timed out", False),
    (httpx.ReadTimeout, "timed out", True),
    (httpx.ReadError, "unreachable", True),
    (httpx.WriteError, "unreachable", True),
    (httpx.RemoteProtocolError, "unreachable", True),
])
async def test_transport_errors_are_named_without_the_url(
        error: type[httpx.TransportError], kind: str, maybe_processed: bool) -> None:
    def fail(request: httpx.Request) -> httpx.HTTPError:
        return error(f"failed talking to {request.url}", request=request)

    with pytest.raises(UpstreamUnavailable) as caught:
        await get_json(raising(fail))
    assert caught.value.maybe_processed is maybe_processed
    assert str(caught.value) == f"{UP} {kind} ({error.__name__})"
    assert isinstance(caught.value.__cause__, error)


async def test_a_header_value_that_is_not_ascii_is_auth_expired_without_echoing_it() -> None:
    token = "ключ-токен-секрет"
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(200, json={})

    with pytest.raises(AuthExpired) as caught:
        await get_json(handler, headers={"Authorization": f"Bearer {token}"})
    assert calls == []
    assert token not in str(caught.value) and token not in repr(caught.value)
    assert UP in str(caught.value)


@pytest.mark.parametrize(("value", "seconds"), [
    ("7", 7.0), ("2.5", 2.5), ("12s", 12.0), ("-3", 0.0), ("", None), (None, None),
    ("Wed, 21 Oct 2015 07:28:00 GMT", None), ("soon", None),
])
def test_retry_after_reads_seconds_or_gives_none(value: str | None,
                                                 seconds: float | None) -> None:
    assert retry_after(value) == seconds


# download_capped

async def test_download_streams_every_chunk_into_the_file(tmp_path: Path) -> None:
    dest = tmp_path / "video.mp4"
    body = Chunks([b"abc", b"def", b"g"])
    size = await download(lambda _: httpx.Response(200, stream=body), dest)
    assert size == 7 and dest.read_bytes() == b"abcdefg"
    assert body.sent == 3


async def test_download_of_exactly_the_cap_is_kept(tmp_path: Path) -> None:
    dest = tmp_path / "video.mp4"
    assert await download(lambda _: httpx.Response(200, content=b"x" * 10), dest) == 10
    assert dest.stat().st_size == 10


async def test_download_sends_the_given_headers(tmp_path: Path) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, content=b"v")

    await download(handler, tmp_path / "v.mp4", headers={"x-goog-api-key": "k-123"})
    assert seen[0].method == "GET" and seen[0].headers["x-goog-api-key"] == "k-123"


async def test_download_decodes_a_compressed_answer(tmp_path: Path) -> None:
    """httpx asks for gzip by default; the file must hold the video, not its gzip."""
    dest = tmp_path / "video.mp4"
    packed = gzip.compress(b"v" * 100)
    size = await download(lambda _: httpx.Response(200, stream=Chunks([packed]), headers={
        "Content-Encoding": "gzip", "Content-Length": str(len(packed))}), dest, max_bytes=100)
    assert size == 100 and dest.read_bytes() == b"v" * 100


async def test_a_declared_size_over_the_cap_stops_before_writing(tmp_path: Path) -> None:
    dest = tmp_path / "video.mp4"
    body = Chunks([b"x" * 11])
    with pytest.raises(ResultTooLarge) as caught:
        await download(lambda _: httpx.Response(200, stream=body,
                                                headers={"Content-Length": "11"}), dest)
    assert (caught.value.url, caught.value.size) == (URL, 11)
    assert body.sent == 0 and not dest.exists()


@pytest.mark.parametrize("headers", [{}, {"Content-Length": "3"}], ids=["none", "lying"])
async def test_counted_bytes_over_the_cap_remove_the_partial_file(
        tmp_path: Path, headers: dict[str, str]) -> None:
    dest = tmp_path / "video.mp4"
    body = Chunks([b"x" * 6, b"x" * 6, b"x" * 6])
    with pytest.raises(ResultTooLarge) as caught:
        await download(lambda _: httpx.Response(200, stream=body, headers=headers), dest)
    assert caught.value.url == URL and caught.value.size is None
    assert body.sent == 2 and not dest.exists()


async def test_an_error_status_is_mapped_from_its_body_and_writes_nothing(
        tmp_path: Path) -> None:
    dest = tmp_path / "video.mp4"
    mapper = Recorder()
    with pytest.raises(RequestRejected, match="mapped 403"):
        await download(lambda _: httpx.Response(403, json={"error": "no"}), dest,
                       status_map=mapper)
    assert mapper.seen == [(403, b'{"error":"no"}')]
    assert not dest.exists()


async def test_a_transport_error_mid_stream_removes_the_file(tmp_path: Path) -> None:
    dest = tmp_path / "video.mp4"
    body = Chunks([b"abc"], fail=httpx.ReadError("connection reset"))
    with pytest.raises(UpstreamUnavailable) as caught:
        await download(lambda _: httpx.Response(200, stream=body), dest)
    assert caught.value.maybe_processed and body.sent == 1
    assert not dest.exists()


async def test_a_download_that_cannot_connect_is_unavailable(tmp_path: Path) -> None:
    dest = tmp_path / "video.mp4"
    with pytest.raises(UpstreamUnavailable, match="unreachable"):
        await download(raising(lambda r: httpx.ConnectError("refused", request=r)), dest)
    assert not dest.exists()


async def test_a_download_header_that_is_not_ascii_is_auth_expired(tmp_path: Path) -> None:
    key = "ключ-секрет"
    with pytest.raises(AuthExpired) as caught:
        await download(lambda _: httpx.Response(200, content=b"v"), tmp_path / "v.mp4",
                       headers={"x-goog-api-key": key})
    assert key not in str(caught.value) and key not in repr(caught.value)
