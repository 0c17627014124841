"""Checks of an Interactions API create body asking Gemini Omni for a video.

Written from upstream-2026.md section 2 and the Interactions API types (google-genai's
`CreateModelInteraction`, `VideoResponseFormat`, `VideoConfig`, content blocks and steps). Each
check raises `Invalid` (Google's 400 INVALID_ARGUMENT) naming the field, so a client change shows
as a clear error instead of a silently ignored option.

Extend and upscale (Agent Platform's "Extend videos" and "Upscale videos" pages): the video comes
as one `{"type": "video"}` input block (`uri` or inline `data`) or as `previous_interaction_id`
(the video of that turn); an extension is 3 to 10 seconds; an upscale must name
`video_config.task: "upscale"` (without it Google reads an edit) and the target
`response_format.resolution` (720p, 1080p or 4k).
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from typing import Any

from bot.sim.gemini_models import OmniModel
from bot.sim.validate import Invalid, object_at, only_known

TASKS = ("text_to_video", "image_to_video", "reference_to_video", "edit", "extend", "upscale")
VIDEO_RATIOS = ("16:9", "9:16")
RESOLUTIONS = ("360p", "720p", "1080p", "4k")
DELIVERIES = ("inline", "uri")
IMAGE_MIMES = ("image/png", "image/jpeg", "image/webp", "image/heic", "image/heif")
VIDEO_MIMES = ("video/mp4", "video/mpeg", "video/mpg", "video/mov", "video/avi", "video/x-flv",
               "video/webm", "video/wmv", "video/3gpp", "video/quicktime")
MAX_IMAGES = 10  # Omni's "maximum images per prompt"
#: Tasks that work on an existing video: one in the input, or the previous interaction's.
VIDEO_TASKS = ("edit", "extend", "upscale")
#: Tasks that take exactly one video (the clip to continue, or to upscale).
ONE_VIDEO_TASKS = ("extend", "upscale")
UPSCALE_TARGETS = ("720p", "1080p", "4k")
MAX_EXTENSION_SECONDS = 10.0  # "a 3-to-10-second extension"

_CREATE_KEYS = frozenset({
    "model", "input", "background", "environment", "generation_config", "labels",
    "previous_interaction_id", "response_format", "response_mime_type", "response_modalities",
    "safety_settings", "service_tier", "store", "stream", "system_instruction", "tools",
    "webhook_config"})
_GENERATION_KEYS = frozenset({
    "image_config", "max_output_tokens", "seed", "speech_config", "stop_sequences",
    "temperature", "top_p", "thinking_level", "thinking_summaries", "tool_choice",
    "transcription_config", "video_config"})
_FORMAT_KEYS = frozenset({"type", "aspect_ratio", "resolution", "duration", "delivery",
                          "gcs_uri"})
_BLOCK_KEYS = {
    "text": frozenset({"type", "text", "annotations"}),
    "image": frozenset({"type", "data", "uri", "mime_type", "resolution"}),
    "video": frozenset({"type", "data", "uri", "mime_type", "resolution", "processing"}),
    "audio": frozenset({"type", "data", "uri", "mime_type"}),
    "document": frozenset({"type", "data", "uri", "mime_type"}),
}
_STEP_TYPES = ("user_input", "model_output")
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)s$")


@dataclass(frozen=True)
class InputImage:
    """One image block of the input: inline bytes, or a Files API / Cloud Storage uri."""

    data: bytes | None
    mime_type: str | None
    uri: str | None


@dataclass(frozen=True)
class InputVideo:
    """One video block of the input: inline bytes, or a uri (a Files API file, Cloud Storage)."""

    data: bytes | None
    mime_type: str | None
    uri: str | None


@dataclass(frozen=True)
class OmniRequest:
    """What a create asked of Omni, once checked."""

    model: str
    prompt: str
    images: tuple[InputImage, ...]
    videos: tuple[InputVideo, ...]  # the clip to edit, extend or upscale
    task: str | None  # None: the model picks the mode from the inputs
    aspect_ratio: str
    resolution: str
    resolution_asked: bool  # False: the 720p default
    duration: str | None  # as asked, e.g. "8s"
    delivery: str | None  # None: Google's choice (inline when it fits)
    gcs_uri: str | None
    background: bool
    stream: bool
    previous_interaction_id: str | None


def check_keys(body: Any) -> dict[str, Any]:
    """The body as an object with only the fields Google knows (checked before the model)."""
    checked = object_at(body, "body")
    only_known(checked, _CREATE_KEYS, "")
    return checked


def omni_request(body: dict[str, Any], model: OmniModel, *, vertex: bool) -> OmniRequest:
    """A create body for an Omni `model` (the model itself was looked up by the caller)."""
    prompt, images, videos = _input(body.get("input"))
    if len(images) > MAX_IMAGES:
        raise Invalid(f"input: at most {MAX_IMAGES} images per request, got {len(images)}")
    task = _task(body.get("generation_config"), model)
    previous = body.get("previous_interaction_id")
    if previous is not None and (not isinstance(previous, str) or not previous):
        raise Invalid("previous_interaction_id must be a non-empty string")
    _check_task(task, len(images), len(videos), previous)
    if not prompt and not images and not videos and task not in VIDEO_TASKS:
        raise Invalid("input: a text prompt (or an image or video) is required")
    fmt = _response_format(body.get("response_format"))
    duration = fmt.get("duration")
    if duration is not None:
        _check_duration(duration, model, _top_seconds(model, task, len(images)))
    delivery = fmt.get("delivery")
    if delivery is not None:
        _one_of(delivery, DELIVERIES, "response_format.delivery")
    gcs_uri = fmt.get("gcs_uri")
    if gcs_uri is not None:
        if not vertex:
            raise Invalid("response_format.gcs_uri is not supported in Gemini API")
        if not isinstance(gcs_uri, str) or not gcs_uri.startswith("gs://"):
            raise Invalid("response_format.gcs_uri must be a gs:// URI")
    elif vertex and delivery == "uri":
        raise Invalid("response_format.gcs_uri is required when delivery is uri")
    aspect = fmt.get("aspect_ratio", "16:9")
    _one_of(aspect, VIDEO_RATIOS, "response_format.aspect_ratio")
    resolution = fmt.get("resolution", "720p")
    _one_of(resolution, RESOLUTIONS, "response_format.resolution")
    if task == "upscale":
        _check_upscale_target(fmt.get("resolution"))
    return OmniRequest(model.name, prompt, tuple(images), tuple(videos), task, aspect,
                       resolution, "resolution" in fmt, duration, delivery, gcs_uri,
                       _flag(body, "background"), _flag(body, "stream"), previous)


def _check_upscale_target(resolution: str | None) -> None:
    """An upscale names its target; omitting it is an error, as Google documents."""
    where = "response_format.resolution"
    if resolution is None:
        raise Invalid(f"{where} is required for upscale: the target resolution "
                      f"({', '.join(UPSCALE_TARGETS)})")
    if resolution not in UPSCALE_TARGETS:
        raise Invalid(f"{where}: {resolution!r} is not an upscale target "
                      f"({', '.join(UPSCALE_TARGETS)})")


def _top_seconds(model: OmniModel, task: str | None, images: int) -> float:
    """The longest video (or extension) a create may ask for."""
    if task == "extend":
        return MAX_EXTENSION_SECONDS
    if task == "image_to_video" and images == 2:
        return model.max_seconds_with_frames
    return model.max_seconds


def _input(value: Any) -> tuple[str, list[InputImage], list[InputVideo]]:
    """The prompt text, the images and the videos of every user_input turn."""
    if isinstance(value, str):
        return value.strip(), [], []
    if isinstance(value, dict):
        blocks = [(value, "input")]
    elif isinstance(value, list) and value:
        blocks = _blocks(value)
    elif value is None:
        raise Invalid("input is required")
    else:
        raise Invalid("input must be a string, a content block, or a list of content blocks "
                      "or steps")
    texts: list[str] = []
    images: list[InputImage] = []
    videos: list[InputVideo] = []
    for block, where in blocks:
        kind = _block(block, where)
        if kind == "text":
            texts.append(block["text"])
        elif kind == "image":
            images.append(_image(block, where))
        elif kind == "video":
            videos.append(_video(block, where))
    return " ".join(texts).strip(), images, videos


def _blocks(items: list[Any]) -> list[tuple[dict[str, Any], str]]:
    """Content blocks of a list that is all content blocks, or all steps (user turns only)."""
    kinds = [object_at(item, f"input[{i}]").get("type") for i, item in enumerate(items)]
    if not any(kind in _STEP_TYPES for kind in kinds):
        return [(item, f"input[{i}]") for i, item in enumerate(items)]
    blocks: list[tuple[dict[str, Any], str]] = []
    for i, (item, kind) in enumerate(zip(items, kinds, strict=True)):
        where = f"input[{i}]"
        if kind not in _STEP_TYPES:
            raise Invalid(f"{where}.type: {kind!r} cannot be mixed with steps here; use a "
                          "user_input step")
        only_known(item, frozenset({"type", "content", "error"}), where)
        content = item.get("content")
        if not isinstance(content, list):
            raise Invalid(f"{where}.content must be a list of content blocks")
        if kind == "user_input":
            blocks += [(object_at(block, f"{where}.content[{j}]"), f"{where}.content[{j}]")
                       for j, block in enumerate(content)]
    if not blocks:
        raise Invalid("input: a user_input step with content is required")
    return blocks


def _block(block: dict[str, Any], where: str) -> str:
    kind = block.get("type")
    if not isinstance(kind, str) or kind not in _BLOCK_KEYS:
        raise Invalid(f"{where}.type: {kind!r} is not a content type "
                      f"({', '.join(sorted(_BLOCK_KEYS))})")
    only_known(block, _BLOCK_KEYS[kind], where)
    if kind == "text" and not isinstance(block.get("text"), str):
        raise Invalid(f"{where}.text must be a string")
    return kind


def _video(block: dict[str, Any], where: str) -> InputVideo:
    return InputVideo(*_media(block, where, VIDEO_MIMES))


def _image(block: dict[str, Any], where: str) -> InputImage:
    return InputImage(*_media(block, where, IMAGE_MIMES))


def _media(block: dict[str, Any], where: str,
           mimes: tuple[str, ...]) -> tuple[bytes | None, str | None, str | None]:
    """(data, mime_type, uri) of an image or video block; inline data names its type."""
    data, uri = _media_source(block, where)
    mime = block.get("mime_type")
    if data is not None and mime is None:
        raise Invalid(f"{where}.mime_type is required with inline data")
    if mime is not None:
        _one_of(mime, mimes, f"{where}.mime_type")
    return data, mime, uri


def _media_source(block: dict[str, Any], where: str) -> tuple[bytes | None, str | None]:
    data, uri = block.get("data"), block.get("uri")
    if (data is None) == (uri is None):
        raise Invalid(f"{where}: exactly one of data or uri is required")
    if uri is not None:
        if not isinstance(uri, str) or not uri:
            raise Invalid(f"{where}.uri must be a non-empty string")
        return None, uri
    if not isinstance(data, str) or not data:
        raise Invalid(f"{where}.data must be a base64 string")
    try:
        return base64.b64decode(data, validate=True), None
    except (binascii.Error, ValueError) as exc:
        raise Invalid(f"{where}.data is not valid base64") from exc


def _task(value: Any, model: OmniModel) -> str | None:
    if value is None:
        return None
    config = object_at(value, "generation_config")
    only_known(config, _GENERATION_KEYS, "generation_config")
    if "seed" in config:  # Omni has no seed (upstream-2026.md)
        raise Invalid(f"generation_config.seed is not supported by {model.name}")
    video = config.get("video_config")
    if video is None:
        return None
    video = object_at(video, "generation_config.video_config")
    only_known(video, frozenset({"task"}), "generation_config.video_config")
    task = video.get("task")
    if task is not None:
        _one_of(task, TASKS, "generation_config.video_config.task")
        if task not in model.tasks:
            raise Invalid(f"generation_config.video_config.task: {task} is not supported by "
                          f"{model.name}")
    return task


def _check_task(task: str | None, images: int, videos: int, previous: str | None) -> None:
    where = "generation_config.video_config.task"
    if task == "image_to_video" and images not in (1, 2):
        raise Invalid(f"{where}: image_to_video takes one input image (the first frame) or "
                      f"two (first and last frame), got {images}")
    if task == "reference_to_video" and images == 0:
        raise Invalid(f"{where}: reference_to_video needs at least one reference image")
    if task in VIDEO_TASKS and videos == 0 and previous is None:
        raise Invalid(f"{where}: {task} needs a video: a video block in input, or "
                      "previous_interaction_id")
    if task in ONE_VIDEO_TASKS and videos > 1:
        raise Invalid(f"{where}: {task} takes one video, got {videos}")


def _response_format(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if isinstance(value, list):  # a list of formats is allowed; Omni answers one video
        videos = [item for item in value if isinstance(item, dict) and item.get("type") == "video"]
        if len(videos) != 1:
            raise Invalid("response_format: exactly one format of type video is required")
        value = videos[0]
    fmt = object_at(value, "response_format")
    if fmt.get("type") != "video":
        raise Invalid(f"response_format.type: {fmt.get('type')!r} is not supported by Gemini "
                      "Omni, use \"video\"")
    only_known(fmt, _FORMAT_KEYS, "response_format")
    return fmt


def seconds_of(duration: str) -> float:
    """The seconds of a checked duration such as "8s"."""
    return float(duration[:-1])


def _check_duration(value: Any, model: OmniModel, top: float) -> None:
    where = "response_format.duration"
    match = _DURATION.match(value) if isinstance(value, str) else None
    if match is None:
        raise Invalid(f'{where}: {value!r} is not a duration; use a string such as "8s"')
    seconds = float(match.group(1))
    if not model.min_seconds <= seconds <= top:
        raise Invalid(f"{where}: {value} is out of range for {model.name} "
                      f"({model.min_seconds:g}s to {top:g}s)")


def _flag(body: dict[str, Any], name: str) -> bool:
    value = body.get(name, False)
    if not isinstance(value, bool):
        raise Invalid(f"{name} must be a boolean")
    return value




def _one_of(value: Any, allowed: tuple[str, ...], where: str) -> None:
    if not isinstance(value, str) or value not in allowed:
        raise Invalid(f"{where}: {value!r} is not one of {', '.join(allowed)}")
