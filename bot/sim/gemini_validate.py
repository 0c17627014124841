"""Checks of the Gemini API request bodies google-genai sends (Developer API and Vertex AI).

Each check raises `Invalid` naming the field, the way Google answers "Invalid JSON payload
received. Unknown name ...", so a bot or SDK change shows as a clear 400.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

from bot.sim.validate import Invalid

IMAGE_RATIOS = frozenset({"1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9"})
IMAGEN_RATIOS = frozenset({"1:1", "3:4", "4:3", "9:16", "16:9"})
VIDEO_RATIOS = frozenset({"16:9", "9:16"})
IMAGE_MIMES = frozenset({"image/png", "image/jpeg", "image/webp"})
_CONTENT_KEYS = frozenset({"contents", "generationConfig", "safetySettings", "systemInstruction",
                           "tools", "toolConfig", "cachedContent", "labels"})
_GENERATION_KEYS = frozenset({"responseModalities", "imageConfig", "candidateCount",
                              "temperature", "topP", "topK", "seed", "maxOutputTokens"})
_INSTANCE_KEYS = frozenset({"prompt", "image", "lastFrame", "referenceImages", "video"})
_VIDEO_PARAMETERS = frozenset({"sampleCount", "aspectRatio", "durationSeconds", "resolution",
                               "negativePrompt", "personGeneration", "enhancePrompt",
                               "generateAudio", "seed", "storageUri", "fps",
                               "compressionQuality", "resizeMode"})
_IMAGEN_PARAMETERS = frozenset({"sampleCount", "aspectRatio", "negativePrompt", "seed",
                                "personGeneration", "safetySetting", "includeRaiReason",
                                "outputOptions", "addWatermark", "enhancePrompt", "language",
                                "sampleImageSize", "imageSize", "guidanceScale"})


@dataclass(frozen=True)
class ImageRequest:
    prompt: str
    aspect: str


@dataclass(frozen=True)
class VideoRequest:
    prompt: str
    aspect: str
    image: bytes | None
    count: int


def content_request(body: Any) -> ImageRequest:
    """A `generateContent` body: the prompt's text and the asked aspect ratio."""
    body = _dict(body, "body")
    _known(body, _CONTENT_KEYS, "")
    contents = body.get("contents")
    if not isinstance(contents, list) or not contents:
        raise Invalid("contents must be a non-empty list")
    texts = [str(part["text"]) for content in contents for part in _parts(content)
             if isinstance(part.get("text"), str)]
    prompt = " ".join(texts).strip()
    if not prompt:
        raise Invalid("contents[].parts[].text: a text prompt is required")
    config = _dict(body.get("generationConfig") or {}, "generationConfig")
    _known(config, _GENERATION_KEYS, "generationConfig")
    modalities = config.get("responseModalities") or ["TEXT", "IMAGE"]
    if not isinstance(modalities, list) or not set(modalities) <= {"TEXT", "IMAGE"}:
        raise Invalid("generationConfig.responseModalities must be a subset of TEXT, IMAGE")
    image_config = _dict(config.get("imageConfig") or {}, "generationConfig.imageConfig")
    aspect = image_config.get("aspectRatio", "1:1")
    _one_of(aspect, IMAGE_RATIOS, "generationConfig.imageConfig.aspectRatio")
    return ImageRequest(prompt, aspect)


def imagen_request(body: Any) -> ImageRequest:
    """An Imagen `:predict` body."""
    instance, parameters = _instance_and_parameters(body, _IMAGEN_PARAMETERS)
    _known(instance, frozenset({"prompt"}), "instances[0]")
    aspect = parameters.get("aspectRatio", "1:1")
    _one_of(aspect, IMAGEN_RATIOS, "parameters.aspectRatio")
    _count(parameters)
    return ImageRequest(_prompt(instance), aspect)


def video_request(body: Any) -> VideoRequest:
    """A Veo `:predictLongRunning` body: prompt, aspect ratio, optional first frame."""
    instance, parameters = _instance_and_parameters(body, _VIDEO_PARAMETERS)
    _known(instance, _INSTANCE_KEYS, "instances[0]")
    aspect = parameters.get("aspectRatio", "16:9")
    _one_of(aspect, VIDEO_RATIOS, "parameters.aspectRatio")
    for name, allowed in (("resolution", {"720p", "1080p"}), ("durationSeconds", {4, 6, 8})):
        if name in parameters:
            _one_of(parameters[name], allowed, f"parameters.{name}")
    image = _image(instance["image"], "instances[0].image") if "image" in instance else None
    prompt = instance.get("prompt", "")
    if not isinstance(prompt, str) or (not prompt.strip() and image is None):
        raise Invalid("instances[0].prompt: a prompt (or an image) is required")
    return VideoRequest(prompt, aspect, image, _count(parameters))


def _instance_and_parameters(
    body: Any, allowed: frozenset[str]
) -> tuple[dict[str, Any], dict[str, Any]]:
    body = _dict(body, "body")
    _known(body, frozenset({"instances", "parameters"}), "")
    instances = body.get("instances")
    if not isinstance(instances, list) or len(instances) != 1:
        raise Invalid("instances must be a list of exactly one instance")
    parameters = _dict(body.get("parameters") or {}, "parameters")
    _known(parameters, allowed, "parameters")
    return _dict(instances[0], "instances[0]"), parameters


def _image(value: Any, where: str) -> bytes:
    image = _dict(value, where)
    _known(image, frozenset({"bytesBase64Encoded", "mimeType", "gcsUri"}), where)
    _one_of(image.get("mimeType"), IMAGE_MIMES, f"{where}.mimeType")
    encoded = image.get("bytesBase64Encoded")
    if not isinstance(encoded, str) or not encoded:
        raise Invalid(f"{where}.bytesBase64Encoded is required")
    try:
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise Invalid(f"{where}.bytesBase64Encoded is not valid base64") from exc


def _prompt(instance: dict[str, Any]) -> str:
    prompt = instance.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise Invalid("instances[0].prompt must be a non-empty string")
    return prompt


def _count(parameters: dict[str, Any]) -> int:
    count = parameters.get("sampleCount", 1)
    if not isinstance(count, int) or not 1 <= count <= 4:
        raise Invalid("parameters.sampleCount must be an integer from 1 to 4")
    return count


def _parts(content: Any) -> list[dict[str, Any]]:
    parts = _dict(content, "contents[]").get("parts")
    if not isinstance(parts, list):
        raise Invalid("contents[].parts must be a list")
    return [_dict(part, "contents[].parts[]") for part in parts]


def _dict(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise Invalid(f"{where} must be an object")
    return value


def _known(value: dict[str, Any], allowed: frozenset[str], where: str) -> None:
    for key in value:
        if key not in allowed:
            raise Invalid(f'Invalid JSON payload received. Unknown name "{key}" at '
                          f"'{where or 'body'}': Cannot find field.")


def _one_of(value: Any, allowed: set[Any] | frozenset[Any], where: str) -> None:
    if value not in allowed:
        raise Invalid(f"{where}: {value!r} is not one of {sorted(map(str, allowed))}")
