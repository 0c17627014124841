"""Pictures and inline videos of the Gemini provider, kept on disk so handles survive a restart.

The Gemini API has no media ids: a picture travels inline with each request. So the provider names
a picture by its content, `gemini-image:<sha256>.<ext>`, and keeps the bytes under `media_dir`;
the engine stores that handle (TEXT) as `media_id` / `reference_media_id` exactly like a Flow
mediaId. A finished video that comes inline (Veo on Agent Platform; Omni whenever its poll answers
with `data`) is parked here as `gemini-video:<hex>.mp4` until `download` copies it to the job's
file.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from bot.jobs.errors import RequestRejected, ResultTooLarge

IMAGE_PREFIX = "gemini-image:"
VIDEO_PREFIX = "gemini-video:"
_IMAGE_NAME = re.compile(r"[0-9a-f]{64}\.(png|jpg|webp)")
_VIDEO_NAME = re.compile(r"[0-9a-f]{32}\.mp4")
_MIME = {"png": "image/png", "jpg": "image/jpeg", "webp": "image/webp"}
_CHUNK = 256 * 1024


@dataclass(frozen=True)
class StoredImage:
    data: bytes
    mime: str


def sniff(data: bytes) -> str | None:
    """The file extension of a PNG, JPEG or WebP picture (by its magic bytes), else None."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return None


class MediaStore:
    """Content-addressed files under one directory; writes are atomic (temp file + rename)."""

    def __init__(self, root: Path) -> None:
        self._images = root / "images"
        self._videos = root / "videos"

    @staticmethod
    def is_image(handle: str | None) -> bool:
        return bool(handle) and _image_name(handle or "") is not None

    async def put_image(self, data: bytes) -> str:
        """Keep a picture; return its handle. The engine says "image/jpeg" for every photo, so the
        type comes from the bytes, not from the caller."""
        ext = sniff(data)
        if ext is None:
            raise RequestRejected("the picture is not a PNG, JPEG or WebP image")
        name = f"{hashlib.sha256(data).hexdigest()}.{ext}"
        await asyncio.to_thread(_write_atomic, self._images / name, data)
        return IMAGE_PREFIX + name

    async def image(self, handle: str) -> StoredImage | None:
        """The picture behind a handle, or None when it is not on disk (any more)."""
        name = _image_name(handle)
        if name is None:
            return None
        path = self._images / name
        try:
            data = await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError:
            return None
        return StoredImage(data, _MIME[name.rsplit(".", 1)[1]])

    async def put_video(self, key: str, data: bytes) -> str:
        """Park an inline video under a name derived from `key` (its operation name)."""
        name = f"{hashlib.sha256(key.encode()).hexdigest()[:32]}.mp4"
        await asyncio.to_thread(_write_atomic, self._videos / name, data)
        return VIDEO_PREFIX + name

    def video_path(self, url: str) -> Path | None:
        """The parked file of a `gemini-video:` url; None for any other url."""
        name = url.removeprefix(VIDEO_PREFIX)
        if not url.startswith(VIDEO_PREFIX) or not _VIDEO_NAME.fullmatch(name):
            return None
        return self._videos / name


def copy_capped(source: Path, dest: Path, *, max_bytes: int, url: str) -> int:
    """Copy a parked video to `dest` in chunks; the source is removed once the copy is whole
    (or when it is too large: nobody can fetch a local file by its link, so it is not kept)."""
    size = source.stat().st_size
    if size > max_bytes:
        source.unlink(missing_ok=True)
        raise ResultTooLarge("the video is too large to upload", url=url, size=size)
    with source.open("rb") as reader, dest.open("wb") as writer:
        while chunk := reader.read(_CHUNK):
            writer.write(chunk)
    source.unlink(missing_ok=True)
    return size


def _image_name(handle: str) -> str | None:
    name = handle.removeprefix(IMAGE_PREFIX)
    if not handle.startswith(IMAGE_PREFIX) or not _IMAGE_NAME.fullmatch(name):
        return None  # also refuses any path trickery: only hex, a dot and a known extension
    return name


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    temp.write_bytes(data)
    os.replace(temp, path)
