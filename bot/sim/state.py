"""The simulator's memory: stored images, proxy tasks and video operations, and their progress."""

from __future__ import annotations

import hashlib
import math
import secrets
import time
import uuid
from dataclasses import dataclass
from typing import Any

from bot.sim.config import SimConfig
from bot.sim.google import (
    ACTIVE,
    FAILED,
    MEDIA_TYPE,
    PENDING,
    SUCCESSFUL,
    operation_error,
)
from bot.sim.validate import ImageSpec, VideoSpec

VIDEO_COST = 20
LINK_SECONDS = 3600
FAIL_MESSAGE = "Video generation failed: internal error (simulated)"
IMAGE_SIZES = {"IMAGE_ASPECT_RATIO_LANDSCAPE": (320, 180),
               "IMAGE_ASPECT_RATIO_LANDSCAPE_FOUR_THREE": (240, 180),
               "IMAGE_ASPECT_RATIO_SQUARE": (180, 180),
               "IMAGE_ASPECT_RATIO_PORTRAIT_THREE_FOUR": (180, 240),
               "IMAGE_ASPECT_RATIO_PORTRAIT": (180, 320)}
VIDEO_SIZES = {"VIDEO_ASPECT_RATIO_LANDSCAPE": (320, 180),
               "VIDEO_ASPECT_RATIO_PORTRAIT": (180, 320),
               "VIDEO_ASPECT_RATIO_SQUARE": (240, 240)}


def media_id(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(30)


def expires() -> int:
    return int(time.time()) + LINK_SECONDS


def prompt_bucket(prompt: str, buckets: int = 12) -> int:
    """A small colour bucket of the prompt, so that T2V videos share encodes."""
    return hashlib.sha256(prompt.encode()).digest()[0] % buckets


@dataclass(frozen=True)
class StoredImage:
    data: bytes
    mime: str
    width: int
    height: int


@dataclass
class Task:
    kind: str  # "image" or "video"
    created: float
    result: dict[str, Any]
    polls: int = 0


@dataclass
class Operation:
    name: str
    spec: VideoSpec
    created: float
    media_id: str
    final: str | None = None  # latched once SUCCESSFUL or FAILED
    fetched: float | None = None  # time.monotonic() when its MP4 was first served

    def status(self, latency: float, now: float) -> str:
        """PENDING for the first 20% of the latency, ACTIVE until it has elapsed, then final."""
        if self.final is not None:
            return self.final
        progress = (now - self.created) / latency if latency > 0 else math.inf
        if progress < 0.2:
            return PENDING
        if progress < 1 or "FORCE_STUCK" in self.spec.prompt:
            return ACTIVE
        self.final = FAILED if "FORCE_FAIL" in self.spec.prompt else SUCCESSFUL
        return self.final

    @property
    def size(self) -> tuple[int, int]:
        return VIDEO_SIZES.get(self.spec.aspect, (320, 180))


class SimState:
    """Everything the simulator remembers; no HTTP here."""

    def __init__(self) -> None:
        self.images: dict[str, StoredImage] = {}
        self.tasks: dict[str, Task] = {}
        self.operations: dict[str, Operation] = {}
        self.by_media: dict[str, Operation] = {}

    def add_image(self, image: StoredImage, prefix: str) -> str:
        key = media_id(prefix)
        self.images[key] = image
        return key

    def add_task(self, kind: str, result: dict[str, Any], now: float) -> str:
        task_id = str(uuid.uuid4())
        self.tasks[task_id] = Task(kind, now, result)
        return task_id

    def task_result(self, task_id: str, config: SimConfig, now: float) -> dict[str, Any] | None:
        """None for an unknown task, {} while not done, else the stored Google response."""
        task = self.tasks.get(task_id)
        if task is None:
            return None
        task.polls += 1
        if task.polls <= config.task_polls:
            return {}
        if task.kind == "image" and now - task.created < config.image_latency:
            return {}
        return task.result

    def image_result(self, specs: list[ImageSpec], media: list[tuple[str, str]],
                     base_url: str) -> dict[str, Any]:
        """batchGenerateImages' answer; `media` holds (mediaId, base64 PNG) per request."""
        return {"media": [_image_entry(spec, key, encoded, base_url)
                          for spec, (key, encoded) in zip(specs, media, strict=True)]}

    def add_operations(self, specs: list[VideoSpec], now: float) -> list[dict[str, Any]]:
        """Starts one operation per request; returns the PENDING entries of Google's answer."""
        entries = []
        for spec in specs:
            op = Operation(uuid.uuid4().hex, spec, now, media_id("CAUS"))
            self.operations[op.name] = op
            self.by_media[op.media_id] = op
            entries.append({"operation": {"name": op.name}, "sceneId": spec.scene_id,
                            "status": PENDING})
        return entries

    def poll_entry(self, entry: dict[str, Any], latency: float, now: float,
                   base_url: str) -> dict[str, Any]:
        name = entry["operation"]["name"]
        op = self.operations.get(name)
        if op is None:
            return operation_error(name, entry.get("sceneId"), 404, "operation not found")
        status = op.status(latency, now)
        if status == FAILED:
            return operation_error(name, op.spec.scene_id, 13, FAIL_MESSAGE)
        if status != SUCCESSFUL:
            return {"operation": {"name": name}, "sceneId": op.spec.scene_id, "status": status}
        return _success_entry(op, base_url)


def _image_entry(spec: ImageSpec, key: str, encoded: str, base_url: str) -> dict[str, Any]:
    generated = {"encodedImage": encoded, "seed": spec.seed,
                 "mediaGenerationId": key, "prompt": spec.prompt, "modelNameType": "GEM_PIX_2",
                 "fifeUrl": f"{base_url}/media/image/{key}.png?Expires={expires()}",
                 "aspectRatio": spec.aspect}
    return {"name": key, "workflowId": str(uuid.uuid4()), "image": {"generatedImage": generated}}


def _success_entry(op: Operation, base_url: str) -> dict[str, Any]:
    link = f"Expires={expires()}"
    video = {"seed": op.spec.seed,
             "mediaGenerationId": op.media_id, "prompt": op.spec.prompt,
             "fifeUrl": f"{base_url}/media/video/{op.name}.mp4?{link}",
             "servingBaseUri": f"{base_url}/media/image/{op.media_id}.png?{link}",
             "model": op.spec.model, "aspectRatio": op.spec.aspect}
    metadata = {"@type": MEDIA_TYPE, "name": op.media_id, "video": video}
    return {"operation": {"name": op.name, "metadata": metadata}, "sceneId": op.spec.scene_id,
            "mediaGenerationId": op.media_id, "status": SUCCESSFUL}
