"""A small HTTP/1.1 server on asyncio streams, for the simulator and the test fakes.

It speaks just enough HTTP for httpx clients on loopback: keep-alive, Content-Length and chunked
request bodies, JSON and streamed file responses. No third-party server is needed to run the
simulator or the tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

logger = logging.getLogger(__name__)

_REASONS = {200: "OK", 204: "No Content", 400: "Bad Request", 401: "Unauthorized",
            403: "Forbidden", 404: "Not Found", 413: "Payload Too Large",
            429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway",
            503: "Service Unavailable"}
_MAX_HEADER = 64 * 1024
_PARAM_RE = re.compile(r'(?:^|;)\s*([a-zA-Z*]+)="((?:[^"\\]|\\.)*)"')
_BOUNDARY_RE = re.compile(r'boundary="?([^";]+)"?')


@dataclass
class Request:
    """One parsed request: method, path, query, headers (lower-case names) and the raw body."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body or b"null")

    def form(self) -> tuple[dict[str, str], dict[str, tuple[str, bytes]]]:
        """Fields and files of a urlencoded or multipart/form-data body."""
        content_type = self.headers.get("content-type", "")
        if content_type.startswith("application/json"):
            data = self.json() or {}
            return {k: v if isinstance(v, str) else json.dumps(v) for k, v in data.items()}, {}
        if not content_type.startswith("multipart/form-data"):
            parsed = parse_qs(self.body.decode(), keep_blank_values=True)
            return {k: v[-1] for k, v in parsed.items()}, {}
        return parse_multipart(content_type, self.body)


def parse_multipart(content_type: str, body: bytes
                    ) -> tuple[dict[str, str], dict[str, tuple[str, bytes]]]:
    """Fields and files of a multipart/form-data body, as `Request.form()` returns them."""
    match = _BOUNDARY_RE.search(content_type)
    if match is None:
        raise ValueError("multipart body without a boundary")
    delimiter = b"--" + match.group(1).encode("latin-1")
    fields: dict[str, str] = {}
    files: dict[str, tuple[str, bytes]] = {}
    start = body.find(delimiter)
    while start >= 0:
        head_start = start + len(delimiter)
        if body.startswith(b"--", head_start):
            break  # the closing delimiter
        head_end = body.find(b"\r\n\r\n", head_start)
        if head_end < 0:
            break
        end = body.find(b"\r\n" + delimiter, head_end + 4)
        if end < 0:
            break
        headers = body[head_start:head_end].decode("utf-8", "replace")
        disposition = next((line.split(":", 1)[1] for line in headers.split("\r\n")
                            if line.lower().startswith("content-disposition:")), "")
        params = {key.lower(): value for key, value in _PARAM_RE.findall(disposition)}
        name = params.get("name", "")
        payload = body[head_end + 4:end]
        if "filename" in params:
            files[name] = (params["filename"], payload)
        else:
            fields[name] = payload.decode("utf-8")
        start = end + 2
    return fields, files


@dataclass
class Response:
    """A response: a status, headers and either a body or an async stream of chunks."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    stream: AsyncIterator[bytes] | None = None
    length: int | None = None

    @classmethod
    def json(cls, data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
        body = json.dumps(data).encode()
        all_headers = {"Content-Type": "application/json", **(headers or {})}
        return cls(status=status, body=body, headers=all_headers)


Handler = Callable[[Request], Awaitable[Response]]


class HttpServer:
    """Serves one handler on 127.0.0.1; `port=0` picks a free port."""

    def __init__(self, handler: Handler, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self._handler = handler
        self._host = host
        self._port = port
        self._server: asyncio.Server | None = None
        self._connections: dict[asyncio.Task[None], asyncio.StreamWriter] = {}

    @property
    def url(self) -> str:
        assert self._server is not None, "server not started"
        port = self._server.sockets[0].getsockname()[1]
        return f"http://{self._host}:{port}"

    async def start(self) -> str:
        self._server = await asyncio.start_server(
            self._serve_connection, self._host, self._port, limit=_MAX_HEADER, backlog=1024
        )
        return self.url

    async def stop(self) -> None:
        if self._server is None:
            return
        self._server.close()
        for writer in list(self._connections.values()):
            writer.transport.abort()
        if self._connections:
            # A handler still running (a long poll) is not woken by the abort: cancel it.
            _, pending = await asyncio.wait(list(self._connections), timeout=0.5)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        with contextlib.suppress(Exception):
            await self._server.wait_closed()
        self._server = None

    async def _serve_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections[task] = writer
        try:
            while await self._serve_one(reader, writer):
                pass
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        except asyncio.CancelledError:
            return  # the loop is shutting down; nothing to report
        finally:
            self._connections.pop(task, None)
            writer.close()
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await writer.wait_closed()

    async def _serve_one(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        head = await reader.readuntil(b"\r\n\r\n")
        request_line, *header_lines = head.decode("latin-1").split("\r\n")
        method, target, _version = request_line.split(" ", 2)
        headers: dict[str, str] = {}
        for line in header_lines:
            if ":" in line:
                name, value = line.split(":", 1)
                headers[name.strip().lower()] = value.strip()
        body = await _read_body(reader, headers)
        split = urlsplit(target)
        query = {k: v[-1] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        request = Request(method.upper(), split.path, query, headers, body)
        try:
            response = await self._handler(request)
        except Exception:
            logger.exception("handler failed for %s %s", method, split.path)
            response = Response.json({"error": {"code": 500, "message": "internal"}}, status=500)
        await _write_response(writer, response)
        return headers.get("connection", "").lower() != "close"


async def _read_body(reader: asyncio.StreamReader, headers: dict[str, str]) -> bytes:
    if headers.get("transfer-encoding", "").lower() == "chunked":
        chunks: list[bytes] = []
        while True:
            size_line = await reader.readuntil(b"\r\n")
            size = int(size_line.split(b";")[0].strip(), 16)
            if size == 0:
                await reader.readuntil(b"\r\n")
                return b"".join(chunks)
            chunks.append(await reader.readexactly(size))
            await reader.readexactly(2)
    length = int(headers.get("content-length", "0") or 0)
    return await reader.readexactly(length) if length else b""


async def _write_response(writer: asyncio.StreamWriter, response: Response) -> None:
    reason = _REASONS.get(response.status, "Status")
    headers = dict(response.headers)
    if response.stream is None:
        headers["Content-Length"] = str(len(response.body))
    elif response.length is not None:
        headers["Content-Length"] = str(response.length)
    else:
        headers["Transfer-Encoding"] = "chunked"
    head = f"HTTP/1.1 {response.status} {reason}\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    writer.write(head.encode("latin-1"))
    if response.stream is None:
        writer.write(response.body)
    else:
        chunked = response.length is None
        async for chunk in response.stream:
            writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk) if chunked else chunk)
            await writer.drain()
        if chunked:
            writer.write(b"0\r\n\r\n")
    await writer.drain()
