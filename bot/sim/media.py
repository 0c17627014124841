"""Fake but real media for the simulator: gradient PNGs (pure Python) and playable MP4s (PyAV)."""

from __future__ import annotations

import asyncio
import hashlib
import io
import struct
import tempfile
import zlib
from collections.abc import Callable, Hashable, Iterator
from functools import lru_cache
from pathlib import Path

import av
from av.video.stream import VideoStream

CHUNK = 64 * 1024
_FREE_MAX = 0xFFFFFFFF


def _colours(seed_text: str) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
    digest = hashlib.sha256(seed_text.encode()).digest()
    left = (digest[0], digest[1], digest[2])
    right = (digest[3], digest[4], digest[5])
    return left, right


@lru_cache(maxsize=64)
def gradient_rgb(seed_text: str, width: int, height: int) -> bytes:
    """Raw RGB24 pixels: a left-to-right gradient between two colours from the text's hash,
    darkening towards the bottom."""
    (r0, g0, b0), (r1, g1, b1) = _colours(seed_text)
    span = max(width - 1, 1)
    row = bytearray()
    for x in range(width):
        row += bytes((r0 + (r1 - r0) * x // span, g0 + (g1 - g0) * x // span,
                      b0 + (b1 - b0) * x // span))
    base = bytes(row)
    rows = []
    for y in range(height):
        level = 256 - 128 * y // max(height, 1)
        table = bytes(v * level >> 8 for v in range(256))
        rows.append(base.translate(table))
    return b"".join(rows)


def encode_png(rgb: bytes, width: int, height: int) -> bytes:
    """An RGB24 buffer as a PNG file."""
    stride = width * 3
    raw = b"".join(b"\x00" + rgb[y * stride:(y + 1) * stride] for y in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header)
            + _png_chunk(b"IDAT", zlib.compress(raw, 6)) + _png_chunk(b"IEND", b""))


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


@lru_cache(maxsize=256)
def make_png(seed_text: str, width: int = 320, height: int = 180) -> bytes:
    """A PNG colour gradient derived from a hash of the text (same text, same picture)."""
    return encode_png(gradient_rgb(seed_text, width, height), width, height)


def image_size(data: bytes) -> tuple[int, int] | None:
    """Width and height of a PNG/JPEG/WebP, or None when PyAV cannot decode it."""
    frame = _first_frame(data)
    return None if frame is None else (int(frame.width), int(frame.height))


def decode_image(data: bytes, width: int, height: int) -> bytes | None:
    """An image file scaled to width x height as raw RGB24, or None when it does not decode."""
    frame = _first_frame(data)
    if frame is None:
        return None
    plane = frame.reformat(width=width, height=height, format="rgb24").planes[0]
    stride, line = width * 3, int(plane.line_size)
    buffer = bytes(plane)
    if line == stride:
        return buffer[: stride * height]
    return b"".join(buffer[y * line:y * line + stride] for y in range(height))


def _first_frame(data: bytes) -> av.VideoFrame | None:
    try:
        with av.open(io.BytesIO(data), mode="r") as container:
            for frame in container.decode(video=0):
                return frame
    except (av.FFmpegError, ValueError, IndexError, StopIteration):
        return None
    return None


def _rgba(rgb: bytes, pixels: int) -> bytearray:
    out = bytearray(b"\xff" * (pixels * 4))
    for channel in range(3):
        out[channel::4] = rgb[channel::3]
    return out


def _frames(rgb: bytes, width: int, height: int, count: int) -> Iterator[bytes]:
    """The image with a light vertical bar sweeping from left to right."""
    base = _rgba(rgb, width * height)
    bar = max(width // 16, 2)
    for index in range(count):
        frame = bytearray(base)
        left = (width - bar) * index // max(count - 1, 1)
        stripe = b"\xf0\xf0\xf0\xff" * bar
        for y in range(height):
            start = (y * width + left) * 4
            frame[start:start + bar * 4] = stripe
        yield bytes(frame)


def _codec() -> str:
    return "libx264" if "libx264" in av.codecs_available else "mpeg4"


def make_mp4(rgb: bytes, width: int, height: int, *, seconds: float = 1.0, fps: int = 8) -> bytes:
    """A real, playable H.264 (or MPEG-4 part 2) MP4 showing the image with a moving bar."""
    if len(rgb) != width * height * 3:
        raise ValueError(f"expected {width}x{height} RGB24 pixels, got {len(rgb)} bytes")
    codec, even_w, even_h = _codec(), width & ~1, height & ~1
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "video.mp4"
        with av.open(str(path), mode="w", format="mp4",
                     options={"movflags": "faststart"}) as container:
            stream = container.add_stream(codec, rate=fps)
            if not isinstance(stream, VideoStream):  # pragma: no cover - codecs above are video
                raise TypeError(f"{codec} is not a video codec")
            stream.width, stream.height, stream.pix_fmt = even_w, even_h, "yuv420p"
            if codec == "libx264":
                stream.options = {"preset": "ultrafast"}
            for index, pixels in enumerate(_frames(rgb, width, height, max(int(seconds * fps), 1))):
                frame = av.VideoFrame.from_bytes(pixels, width, height, format="rgba")
                frame = frame.reformat(width=even_w, height=even_h, format="yuv420p")
                frame.pts = index
                container.mux(stream.encode(frame))
            container.mux(stream.encode(None))
        return path.read_bytes()


def padded_size(length: int, size: int) -> int:
    """The length of an MP4 of `length` bytes after padding to at least `size` bytes."""
    need = size - length
    return length if need <= 0 else length + max(need, 8)


def _free_header(box: int) -> bytes:
    if box <= _FREE_MAX:
        return struct.pack(">I4s", box, b"free")
    return struct.pack(">I4sQ", 1, b"free", box)


def padded_chunks(data: bytes, size: int, chunk: int = CHUNK) -> Iterator[bytes]:
    """The MP4 in chunks, followed by a zero-filled 'free' box so it has at least `size` bytes."""
    for start in range(0, len(data), chunk):
        yield data[start:start + chunk]
    box = padded_size(len(data), size) - len(data)
    if box == 0:
        return
    header = _free_header(box)
    yield header
    zeros, left = bytes(min(chunk, box)), box - len(header)
    while left > 0:
        yield zeros[:left] if left < len(zeros) else zeros
        left -= len(zeros)


def pad_mp4(data: bytes, size: int) -> bytes:
    """The MP4 with a 'free' box appended so it is at least `size` bytes; still playable."""
    return b"".join(padded_chunks(data, size))


class Mp4Cache:
    """Encodes each distinct video once, in a worker thread; concurrent askers share the work."""

    def __init__(self) -> None:
        self._videos: dict[Hashable, asyncio.Future[bytes]] = {}

    def __len__(self) -> int:
        return len(self._videos)

    async def get(self, key: Hashable, make: Callable[[], bytes]) -> bytes:
        future = self._videos.get(key)
        if future is None:
            future = asyncio.ensure_future(asyncio.to_thread(make))
            self._videos[key] = future
        try:
            return await asyncio.shield(future)
        except Exception:
            self._videos.pop(key, None)
            raise
