"""Checks of the Gemini API request bodies: image `generateContent` and Agent Platform Veo.

Written from upstream-2026.md section 2 and Google's REST references (`GenerateContentRequest`,
`ImageConfig`; Veo's `instances[]` and `parameters`). Each check raises `Invalid` naming the field,
the way Google answers "Invalid JSON payload received. Unknown name ...", so a bot change shows as
a clear 400. The Interactions API has its own checks (`interactions_validate`).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

from bot.sim.validate import Invalid, object_at, only_known

IMAGE_RATIOS = frozenset({"1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9"})
#: gemini-3.1-flash-image also draws these (Agent Platform's AspectRatio enum).
WIDE_RATIOS = frozenset({"1:4", "4:1", "1:8", "8:1"})
IMAGE_SIZES = ("1K", "2K", "4K")  # upper-case K, as Google demands
VIDEO_RATIOS = ("16:9", "9:16")
IMAGE_MIMES = frozenset({"image/png", "image/jpeg", "image/webp"})
_CONTENT_KEYS = frozenset({"contents", "generationConfig", "safetySettings", "systemInstruction",
                           "tools", "toolConfig", "cachedContent", "labels"})
_PART_KEYS = frozenset({"text", "inlineData", "fileData", "thought", "thoughtSignature"})
_GENERATION_KEYS = frozenset({"responseModalities", "imageConfig", "candidateCount",
                              "temperature", "topP", "topK", "seed", "maxOutputTokens",
                              "thinkingConfig"})
_IMAGE_CONFIG_KEYS = frozenset({"aspectRatio", "imageSize", "personGeneration",
                                "imageOutputOptions"})
_INSTANCE_KEYS = frozenset({"prompt", "image", "lastFrame", "referenceImages", "video"})
_VIDEO_PARAMETERS = frozenset({"sampleCount", "aspectRatio", "durationSeconds", "resolution",
                               "negativePrompt", "personGeneration", "enhancePrompt",
                               "generateAudio", "seed", "storageUri", "compressionQuality",
                               "resizeMode"})
MAX_REFERENCES = 3


@dataclass(frozen=True)
class ImageRequest:
    """A generateContent call for a picture."""

    prompt: str
    aspect: str
    size: str  # "1K", "2K" or "4K"
    modalities: tuple[str, ...]
    image: bytes | None  # the first inline input picture (an edit), if any


@dataclass(frozen=True)
class VideoRequest:
    """An Agent Platform Veo `:predictLongRunning` call."""

    prompt: str
    aspect: str
    image: bytes | None  # first frame
    last_frame: bytes | None
    references: tuple[bytes, ...]  # asset reference images
    count: int
    seconds: int
    resolution: str
    negative_prompt: str | None
    seed: int | None
    generate_audio: bool | None
    storage_uri: str | None


def content_request(body: Any, *, wide_ratios: bool = False) -> ImageRequest:
    """A `generateContent` body asking an image model for a picture."""
    body = object_at(body, "body")
    only_known(body, _CONTENT_KEYS, "")
    contents = body.get("contents")
    if not isinstance(contents, list) or not contents:
        raise Invalid("contents must be a non-empty list")
    parts = [part for content in contents for part in _parts(content)]
    prompt = " ".join(str(part["text"]) for part in parts if isinstance(part.get("text"), str))
    images = [_inline_data(part["inlineData"]) for part in parts if "inlineData" in part]
    if not prompt.strip():
        raise Invalid("contents[].parts[].text: a text prompt is required")
    config = object_at(body.get("generationConfig") or {}, "generationConfig")
    only_known(config, _GENERATION_KEYS, "generationConfig")
    modalities = config.get("responseModalities") or ["TEXT", "IMAGE"]
    if (not isinstance(modalities, list) or not set(modalities) <= {"TEXT", "IMAGE"}
            or "IMAGE" not in modalities):
        raise Invalid("generationConfig.responseModalities must hold IMAGE (and may hold TEXT)")
    image_config = object_at(config.get("imageConfig") or {}, "generationConfig.imageConfig")
    only_known(image_config, _IMAGE_CONFIG_KEYS, "generationConfig.imageConfig")
    aspect = image_config.get("aspectRatio", "1:1")
    _one_of(aspect, IMAGE_RATIOS | WIDE_RATIOS if wide_ratios else IMAGE_RATIOS,
            "generationConfig.imageConfig.aspectRatio")
    size = image_config.get("imageSize", "1K")
    _one_of(size, IMAGE_SIZES, "generationConfig.imageConfig.imageSize")
    return ImageRequest(prompt.strip(), aspect, size, tuple(modalities),
                        images[0] if images else None)


def video_request(body: Any) -> VideoRequest:
    """A Veo `:predictLongRunning` body: prompt, frames, references and parameters."""
    body = object_at(body, "body")
    only_known(body, frozenset({"instances", "parameters"}), "")
    instances = body.get("instances")
    if not isinstance(instances, list) or len(instances) != 1:
        raise Invalid("instances must be a list of exactly one instance")
    instance = object_at(instances[0], "instances[0]")
    only_known(instance, _INSTANCE_KEYS, "instances[0]")
    parameters = object_at(body.get("parameters") or {}, "parameters")
    only_known(parameters, _VIDEO_PARAMETERS, "parameters")
    image = _image(instance["image"], "instances[0].image") if "image" in instance else None
    last = (_image(instance["lastFrame"], "instances[0].lastFrame")
            if "lastFrame" in instance else None)
    if "lastFrame" in instance and "image" not in instance:
        raise Invalid("instances[0].lastFrame needs instances[0].image (the first frame)")
    references = _references(instance.get("referenceImages"))
    if references and "image" in instance:
        raise Invalid("instances[0].referenceImages cannot be combined with instances[0].image")
    prompt = instance.get("prompt", "")
    if not isinstance(prompt, str) or (not prompt.strip() and image is None):
        raise Invalid("instances[0].prompt: a prompt (or an image) is required")
    aspect = parameters.get("aspectRatio", "16:9")
    _one_of(aspect, VIDEO_RATIOS, "parameters.aspectRatio")
    seconds = parameters.get("durationSeconds", 8)
    _one_of(seconds, (4, 6, 8), "parameters.durationSeconds")
    resolution = parameters.get("resolution", "720p")
    _one_of(resolution, ("720p", "1080p"), "parameters.resolution")
    return VideoRequest(prompt, aspect, image, last, references, _count(parameters), seconds,
                        resolution,
                        _typed(parameters, "negativePrompt", str),
                        _typed(parameters, "seed", int),
                        _typed(parameters, "generateAudio", bool),
                        _storage(parameters.get("storageUri")))


def _references(value: Any) -> tuple[bytes, ...]:
    if value is None:
        return ()
    where = "instances[0].referenceImages"
    if not isinstance(value, list) or not 1 <= len(value) <= MAX_REFERENCES:
        raise Invalid(f"{where} must be a list of 1 to {MAX_REFERENCES} reference images")
    images = []
    for index, item in enumerate(value):
        reference = object_at(item, f"{where}[{index}]")
        only_known(reference, frozenset({"image", "referenceType"}), f"{where}[{index}]")
        # The REST docs write "asset"; Google's own SDK sends the enum name "ASSET" (the API
        # reads proto3 JSON, where an enum takes its name): the service takes both.
        _one_of(reference.get("referenceType"), ("asset", "ASSET"),
                f"{where}[{index}].referenceType")
        images.append(_image(reference.get("image"), f"{where}[{index}].image"))
    return tuple(images)


def _image(value: Any, where: str) -> bytes:
    image = object_at(value, where)
    only_known(image, frozenset({"bytesBase64Encoded", "mimeType", "gcsUri"}), where)
    _one_of(image.get("mimeType"), IMAGE_MIMES, f"{where}.mimeType")
    encoded = image.get("bytesBase64Encoded")
    if "gcsUri" in image and encoded is None:
        return b""  # a Cloud Storage picture: the simulator cannot read it
    if not isinstance(encoded, str) or not encoded:
        raise Invalid(f"{where}.bytesBase64Encoded is required")
    return _base64(encoded, f"{where}.bytesBase64Encoded")


def _inline_data(value: Any) -> bytes:
    where = "contents[].parts[].inlineData"
    data = object_at(value, where)
    only_known(data, frozenset({"mimeType", "data"}), where)
    _one_of(data.get("mimeType"), IMAGE_MIMES | {"image/heic", "image/heif"}, f"{where}.mimeType")
    if not isinstance(data.get("data"), str):
        raise Invalid(f"{where}.data must be a base64 string")
    return _base64(data["data"], f"{where}.data")


def _base64(encoded: str, where: str) -> bytes:
    try:
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise Invalid(f"{where} is not valid base64") from exc


def _storage(value: Any) -> str | None:
    if value is not None and (not isinstance(value, str) or not value.startswith("gs://")):
        raise Invalid("parameters.storageUri must be a gs:// URI")
    return value


def _typed(parameters: dict[str, Any], name: str, kind: type) -> Any:
    value = parameters.get(name)
    if value is not None and (not isinstance(value, kind)
                              or (kind is int and isinstance(value, bool))):
        raise Invalid(f"parameters.{name} must be a {kind.__name__}")
    return value


def _count(parameters: dict[str, Any]) -> int:
    count = parameters.get("sampleCount", 1)
    if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= 4:
        raise Invalid("parameters.sampleCount must be an integer from 1 to 4")
    return count


def _parts(content: Any) -> list[dict[str, Any]]:
    parts = object_at(content, "contents[]").get("parts")
    if not isinstance(parts, list):
        raise Invalid("contents[].parts must be a list")
    checked = [object_at(part, "contents[].parts[]") for part in parts]
    for part in checked:
        only_known(part, _PART_KEYS, "contents[].parts[]")
    return checked




def _one_of(value: Any, allowed: tuple[Any, ...] | frozenset[Any], where: str) -> None:
    try:
        known = not isinstance(value, bool) and value in allowed
    except TypeError:  # a list or an object
        known = False
    if not known:
        raise Invalid(f"{where}: {value!r} is not one of {sorted(map(str, allowed))}")
