"""Checks of the proxy payloads and Google request bodies against flow-protocol.md.

Each check raises `Invalid` with a message naming the offending field, so a bot bug shows as a
clear 400 instead of a silently accepted request.
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets
from collections.abc import Container
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

IMAGE_MODEL = "GEM_PIX_2"
IMAGE_ASPECTS = frozenset({
    "IMAGE_ASPECT_RATIO_LANDSCAPE", "IMAGE_ASPECT_RATIO_LANDSCAPE_FOUR_THREE",
    "IMAGE_ASPECT_RATIO_SQUARE", "IMAGE_ASPECT_RATIO_PORTRAIT_THREE_FOUR",
    "IMAGE_ASPECT_RATIO_PORTRAIT"})
VIDEO_ASPECTS = frozenset({
    "VIDEO_ASPECT_RATIO_LANDSCAPE", "VIDEO_ASPECT_RATIO_PORTRAIT", "VIDEO_ASPECT_RATIO_SQUARE"})
REFERENCE, TEXT = "batchAsyncGenerateVideoReferenceImages", "batchAsyncGenerateVideoText"
START, START_END = "batchAsyncGenerateVideoStartImage", "batchAsyncGenerateVideoStartAndEndImage"
VIDEO_MODELS: dict[str, frozenset[str]] = {
    REFERENCE: frozenset({"veo_3_0_r2v_fast_ultra", "veo_3_0_r2v_fast"}),
    TEXT: frozenset({"veo_3_1_t2v_fast", "veo_3_1_t2v_fast_portrait", "veo_3_1_t2v_fast_ultra",
                     "veo_3_1_t2v_fast_portrait_ultra"}),
    START: frozenset({"veo_3_1_i2v_s_fast", "veo_3_1_i2v_s_fast_portrait",
                      "veo_3_1_i2v_s_fast_ultra", "veo_3_1_i2v_s_fast_portrait_ultra"}),
    START_END: frozenset({"veo_3_1_i2v_s_fast_fl", "veo_3_1_i2v_s_fast_portrait_fl",
                          "veo_3_1_i2v_s_fast_ultra_fl", "veo_3_1_i2v_s_fast_portrait_ultra_fl"}),
}
_IMAGE_URL = re.compile(r"/v1/projects/(?P<project>[^/]+)/flowMedia:batchGenerateImages$")
_VIDEO_URL = re.compile(r"/v1/video:(?P<method>batchAsyncGenerateVideo\w+)$")
UPLOAD_MIMES = frozenset({"image/jpeg", "image/png", "image/webp"})


class Invalid(ValueError):
    """The request does not have the documented shape; the message names the field."""


@dataclass(frozen=True)
class ProxyCall:
    body: dict[str, Any]
    token: str
    url: str


@dataclass(frozen=True)
class ImageSpec:
    prompt: str
    seed: int
    aspect: str


@dataclass(frozen=True)
class VideoSpec:
    prompt: str
    seed: int
    model: str
    aspect: str
    scene_id: str
    source: str | None  # the reference / start image's mediaId, None for T2V


@dataclass(frozen=True)
class Upload:
    data: bytes
    mime: str


def object_at(value: Any, where: str) -> dict[str, Any]:
    """`value` as a JSON object, or Google's 400 naming where it is."""
    if not isinstance(value, dict):
        raise Invalid(f"{where} must be an object")
    return value


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise Invalid(f"{where} must be a non-empty string")
    return value


def _seed(value: Any, where: str) -> int:
    if value is None:
        return secrets.randbelow(1_000_000)
    if isinstance(value, bool) or not isinstance(value, int):
        raise Invalid(f"{where} must be an integer")
    return value


def _requests(body: dict[str, Any]) -> list[dict[str, Any]]:
    requests = body.get("requests")
    if not isinstance(requests, list) or not requests:
        raise Invalid("body_json.requests must be a non-empty list")
    return [object_at(item, f"body_json.requests[{i}]") for i, item in enumerate(requests)]


def _project(body: dict[str, Any]) -> str:
    context = object_at(body.get("clientContext"), "body_json.clientContext")
    return _text(context.get("projectId"), "body_json.clientContext.projectId")


def proxy_call(payload: Any) -> ProxyCall:
    """The three fields of a proxy create payload."""
    payload = object_at(payload, "payload")
    body = object_at(payload.get("body_json"), "body_json")
    token = _text(payload.get("flow_auth_token"), "flow_auth_token")
    url = _text(payload.get("flow_url"), "flow_url")
    if urlsplit(url).scheme not in ("http", "https"):
        raise Invalid("flow_url must be an http(s) URL")
    return ProxyCall(body, token, url)


def image_specs(call: ProxyCall) -> list[ImageSpec]:
    """The image requests of a batchGenerateImages call."""
    match = _IMAGE_URL.search(urlsplit(call.url).path)
    if match is None:
        raise Invalid("flow_url must end with /v1/projects/{project}/flowMedia:batchGenerateImages")
    project = _project(call.body)
    if match["project"] != project:
        raise Invalid(f"project {match['project']!r} in flow_url != clientContext.projectId")
    return [_image_spec(item, f"body_json.requests[{i}]", project)
            for i, item in enumerate(_requests(call.body))]


def _image_spec(item: dict[str, Any], where: str, project: str) -> ImageSpec:
    context = item.get("clientContext")
    context_project = (object_at(context, f"{where}.clientContext").get("projectId")
                       if context is not None else project)
    if context_project != project:
        raise Invalid(f"{where}.clientContext.projectId differs from the top-level one")
    if item.get("imageModelName") != IMAGE_MODEL:
        raise Invalid(f"{where}.imageModelName must be {IMAGE_MODEL!r}")
    aspect = item.get("imageAspectRatio")
    if aspect not in IMAGE_ASPECTS:
        raise Invalid(f"{where}.imageAspectRatio {aspect!r} is not one of {sorted(IMAGE_ASPECTS)}")
    if not isinstance(item.get("imageInputs", []), list):
        raise Invalid(f"{where}.imageInputs must be a list")
    return ImageSpec(_text(item.get("prompt"), f"{where}.prompt"),
                     _seed(item.get("seed"), f"{where}.seed"), str(aspect))


def video_specs(call: ProxyCall, known_media: Container[str]) -> list[VideoSpec]:
    """The video requests of a batchAsyncGenerateVideo* call; image mediaIds must be known."""
    match = _VIDEO_URL.search(urlsplit(call.url).path)
    if match is None or match["method"] not in VIDEO_MODELS:
        raise Invalid(f"flow_url must end with /v1/video:<one of {sorted(VIDEO_MODELS)}>")
    _project(call.body)
    method = match["method"]
    return [_video_spec(item, f"body_json.requests[{i}]", method, known_media)
            for i, item in enumerate(_requests(call.body))]


def _video_spec(item: dict[str, Any], where: str, method: str,
                known: Container[str]) -> VideoSpec:
    model = item.get("videoModelKey")
    if model not in VIDEO_MODELS[method]:
        raise Invalid(f"{where}.videoModelKey {model!r} is not one of "
                      f"{sorted(VIDEO_MODELS[method])} (for {method})")
    aspect = item.get("aspectRatio")
    if aspect not in VIDEO_ASPECTS:
        raise Invalid(f"{where}.aspectRatio {aspect!r} is not one of {sorted(VIDEO_ASPECTS)}")
    text = object_at(item.get("textInput"), f"{where}.textInput")
    metadata = object_at(item.get("metadata"), f"{where}.metadata")
    return VideoSpec(prompt=_text(text.get("prompt"), f"{where}.textInput.prompt"),
                     seed=_seed(item.get("seed"), f"{where}.seed"), model=str(model),
                     aspect=str(aspect),
                     scene_id=_text(metadata.get("sceneId"), f"{where}.metadata.sceneId"),
                     source=_source(item, where, method, known))


def _source(item: dict[str, Any], where: str, method: str, known: Container[str]) -> str | None:
    if method == TEXT:
        for field in ("referenceImages", "startImage", "endImage"):
            if field in item:
                raise Invalid(f"{where}.{field} is not allowed in {TEXT}")
        return None
    if method == REFERENCE:
        images = item.get("referenceImages")
        if not isinstance(images, list) or not images:
            raise Invalid(f"{where}.referenceImages must be a non-empty list")
        ids = [_media_id(image, f"{where}.referenceImages[{i}]", known)
               for i, image in enumerate(images)]
        return ids[0]
    if method == START_END:
        _media_id(item.get("endImage"), f"{where}.endImage", known)
    return _media_id(item.get("startImage"), f"{where}.startImage", known)


def _media_id(value: Any, where: str, known: Container[str]) -> str:
    media_id = _text(object_at(value, where).get("mediaId"), f"{where}.mediaId")
    if media_id not in known:
        raise Invalid(f"{where}.mediaId {media_id!r} is not a known image")
    return media_id


def upload(body: Any) -> Upload:
    """The image of an uploadUserImage body."""
    image = object_at(object_at(body, "body").get("imageInput"), "imageInput")
    raw = _text(image.get("rawImageBytes"), "imageInput.rawImageBytes")
    mime = image.get("mimeType")
    if mime not in UPLOAD_MIMES:
        raise Invalid(f"imageInput.mimeType {mime!r} is not one of {sorted(UPLOAD_MIMES)}")
    aspect = image.get("aspectRatio")
    if aspect is not None and aspect not in IMAGE_ASPECTS:
        raise Invalid(f"imageInput.aspectRatio {aspect!r} is not one of {sorted(IMAGE_ASPECTS)}")
    try:
        data = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise Invalid("imageInput.rawImageBytes is not valid base64") from exc
    return Upload(data, str(mime))


def poll_entries(body: Any) -> list[dict[str, Any]]:
    """The whole operation entries of a status poll (a bare name is rejected, as by Google)."""
    entries = object_at(body, "body").get("operations")
    if not isinstance(entries, list) or not entries:
        raise Invalid("operations must be a non-empty list")
    for i, entry in enumerate(entries):
        where = f"operations[{i}]"
        entry = object_at(entry, where)
        _text(object_at(entry.get("operation"), f"{where}.operation").get("name"),
              f"{where}.operation.name")
        _text(entry.get("sceneId"), f"{where}.sceneId")
        _text(entry.get("status"), f"{where}.status")
    return list(entries)


def only_known(value: dict[str, Any], allowed: frozenset[str], where: str) -> None:
    """Google's 400 for a field the API does not have (proto3 JSON refuses unknown names)."""
    for key in value:
        if key not in allowed:
            raise Invalid(f'Invalid JSON payload received. Unknown name "{key}" at '
                          f"'{where or 'body'}': Cannot find field.")
