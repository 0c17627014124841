"""The simulated Gemini API's media: rendered MP4s and the Files API entries that serve them.

A video shows its first input image (scaled), else a gradient derived from its prompt; each
distinct picture is encoded once. Its size grows with the asked resolution (360p, 720p, 1080p,
4k: a long side of 160, 320, 480, 640 pixels), so an upscaled video is visibly larger. Files live
`SimConfig.gemini_file_seconds` (48 hours, as Google's do); past that they are gone (404).
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass

from bot.sim.config import SimConfig
from bot.sim.media import Mp4Cache, decode_image, gradient_rgb, make_mp4, pad_mp4, padded_size

FILE_SECONDS = 48 * 3600
_LONG_SIDE = 320
#: The simulator's long side per Omni resolution: small, but growing with the resolution.
LONG_SIDES = {"360p": 160, "720p": 320, "1080p": 480, "4k": 640}


@dataclass(frozen=True)
class Picture:
    """What a video shows: `image` (an encoded picture) when given, else a gradient of `seed`."""

    image: bytes | None
    seed: str
    width: int
    height: int

    @classmethod
    def of(cls, image: bytes | None, text: str, aspect: str,
           long_side: int = _LONG_SIDE) -> Picture:
        width, height = ratio_size(aspect, long_side)
        seed = text if image is None else hashlib.sha256(image).hexdigest()
        return cls(image, seed, width, height)

    def resized(self, aspect: str, long_side: int) -> Picture:
        """The same scene at another size (an extend or an upscale of it)."""
        width, height = ratio_size(aspect, long_side)
        return Picture(self.image, self.seed, width, height)


@dataclass(frozen=True)
class StoredFile:
    """A Files API entry: `files/{file_id}`, created at `created` (epoch seconds)."""

    file_id: str
    picture: Picture
    created: float


def resolution_side(resolution: str) -> int:
    """The long side the simulator renders for an Omni resolution."""
    return LONG_SIDES.get(resolution, _LONG_SIDE)


def side_resolution(long_side: int) -> str | None:
    """The Omni resolution the simulator renders at this long side, if any."""
    return next((name for name, side in LONG_SIDES.items() if side == long_side), None)


def ratio_size(aspect: str, long_side: int = _LONG_SIDE) -> tuple[int, int]:
    """A small, even picture size for an aspect ratio like "16:9"."""
    width, _, height = aspect.partition(":")
    w, h = int(width), int(height)
    if w >= h:
        return long_side, long_side * h // w & ~1
    return long_side * w // h & ~1, long_side


class GeminiMedia:
    """Renders videos (padded to `config.video_bytes`) and keeps the files that serve them."""

    def __init__(self, config: SimConfig) -> None:
        self.config = config
        self._videos = Mp4Cache()
        self._files: dict[str, StoredFile] = {}

    async def natural(self, picture: Picture) -> bytes:
        """The MP4 as encoded, before any padding."""

        def render() -> bytes:
            width, height = picture.width, picture.height
            rgb = decode_image(picture.image, width, height) if picture.image else None
            return make_mp4(rgb or gradient_rgb(picture.seed, width, height), width, height)

        key = ("gemini", picture.image is not None, picture.seed, picture.width, picture.height)
        return await self._videos.get(key, render)

    async def size(self, picture: Picture) -> int:
        """The length in bytes of the video as served."""
        return padded_size(len(await self.natural(picture)), self.config.video_bytes)

    async def video(self, picture: Picture) -> bytes:
        """The video as served: padded to at least `config.video_bytes` bytes."""
        return pad_mp4(await self.natural(picture), self.config.video_bytes)

    def add_file(self, picture: Picture) -> StoredFile:
        stored = StoredFile(secrets.token_hex(6), picture, time.time())
        self._files[stored.file_id] = stored
        return stored

    def file(self, file_id: str) -> StoredFile | None:
        """A kept file; None when unknown or past its retention."""
        stored = self._files.get(file_id)
        if stored is None or self.expired(stored.created):
            return None
        return stored

    def expired(self, created: float) -> bool:
        """Whether a file made at `created` (epoch seconds) is past its retention."""
        return time.time() - created >= self.config.gemini_file_seconds
