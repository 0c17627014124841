"""The Flow dialect in one place: endpoints, model keys, enums, request bodies and answer parsing.

When Google moves the API (see the end of ../shared/flow-protocol.md) this is the module to change.
Answers are parsed defensively: a missing field is a `BadResponse` that names it.
"""

from __future__ import annotations

import base64
import binascii
import random
import time
import uuid
from typing import Any

from bot.jobs.errors import BadResponse, GenerationFailed, UpstreamError
from bot.jobs.model import Aspect
from bot.jobs.provider import Accepted, AccountStatus, RenderState, RenderStatus
from bot.providers.flow.errors import from_google_error

IMAGE_MODEL = "GEM_PIX_2"
I2V_MODEL = "veo_3_0_r2v_fast_ultra"
T2V_MODEL = "veo_3_1_t2v_fast"
T2V_PORTRAIT_MODEL = "veo_3_1_t2v_fast_portrait"
PAYGATE_TIER = "PAYGATE_TIER_TWO"

PROXY_CREATE_IMAGE = "/create-image-veo3"
PROXY_CREATE_VIDEO = "/create-video-veo3"
PROXY_TASK_STATUS = "/task-status"
GOOGLE_I2V = "/v1/video:batchAsyncGenerateVideoReferenceImages"
GOOGLE_T2V = "/v1/video:batchAsyncGenerateVideoText"
GOOGLE_POLL = "/v1/video:batchCheckAsyncVideoGenerationStatus"
GOOGLE_UPLOAD = "/v1:uploadUserImage"
GOOGLE_CREDITS = "/v1/credits"

_IMAGE_ASPECT = {Aspect.LANDSCAPE: "IMAGE_ASPECT_RATIO_LANDSCAPE",
                 Aspect.PORTRAIT: "IMAGE_ASPECT_RATIO_PORTRAIT"}
_VIDEO_ASPECT = {Aspect.LANDSCAPE: "VIDEO_ASPECT_RATIO_LANDSCAPE",
                 Aspect.PORTRAIT: "VIDEO_ASPECT_RATIO_PORTRAIT"}
_STATUS = {
    "MEDIA_GENERATION_STATUS_PENDING": RenderState.PENDING,
    "MEDIA_GENERATION_STATUS_ACTIVE": RenderState.ACTIVE,
    "MEDIA_GENERATION_STATUS_SUCCESSFUL": RenderState.DONE,
}
UPSTREAM_PROXY = "the Flow proxy"
UPSTREAM_GOOGLE = "Google Flow"


def image_url(project_id: str) -> str:
    return f"/v1/projects/{project_id}/flowMedia:batchGenerateImages"


def _session_id() -> str:
    return f";{int(time.time() * 1000)}"


def _seed() -> int:
    return random.randint(1, 999_999)


def image_body(
    prompt: str, aspect: Aspect, project_id: str, seed: int | None = None
) -> dict[str, Any]:
    context = {"sessionId": _session_id(), "projectId": project_id, "tool": "PINHOLE"}
    return {"clientContext": context, "requests": [{
        "clientContext": context, "seed": _seed() if seed is None else seed,
        "imageModelName": IMAGE_MODEL,
        "imageAspectRatio": _IMAGE_ASPECT[aspect], "prompt": prompt, "imageInputs": [],
    }]}


def video_body(
    prompt: str, aspect: Aspect, project_id: str, reference_media_id: str | None,
    seed: int | None = None,
) -> dict[str, Any]:
    request: dict[str, Any] = {
        "aspectRatio": _VIDEO_ASPECT[aspect],
        "metadata": {"sceneId": str(uuid.uuid4())},
        "seed": _seed() if seed is None else seed,
        "textInput": {"prompt": prompt},
        "videoModelKey": video_model(aspect, reference_media_id),
    }
    if reference_media_id:
        request["referenceImages"] = [
            {"imageUsageType": "IMAGE_USAGE_TYPE_ASSET", "mediaId": reference_media_id}
        ]
    context = {"projectId": project_id, "recaptchaToken": "", "sessionId": _session_id(),
               "tool": "PINHOLE", "userPaygateTier": PAYGATE_TIER}
    return {"clientContext": context, "requests": [request]}


def video_model(aspect: Aspect, reference_media_id: str | None) -> str:
    if reference_media_id:
        return I2V_MODEL
    return T2V_PORTRAIT_MODEL if aspect is Aspect.PORTRAIT else T2V_MODEL


def video_path(reference_media_id: str | None) -> str:
    return GOOGLE_I2V if reference_media_id else GOOGLE_T2V


def upload_body(data: bytes, mime: str) -> dict[str, Any]:
    return {
        "imageInput": {"rawImageBytes": base64.b64encode(data).decode(), "mimeType": mime,
                       "isUserUploaded": True, "aspectRatio": _IMAGE_ASPECT[Aspect.LANDSCAPE]},
        "clientContext": {"sessionId": _session_id(), "tool": "ASSET_MANAGER"},
    }


def parse_task_id(body: Any) -> str:
    task_id = body.get("taskId") if isinstance(body, dict) else None
    if not isinstance(task_id, str) or not task_id:
        raise BadResponse("the Flow proxy's answer has no taskId")
    return task_id


def parse_task_result(body: Any, *, credential: str | None = None) -> dict[str, Any] | None:
    """Google's raw answer out of a task-status body, or None while the task is not done.

    `credential` fingerprints the bearer the proxy passed on, named by a 401 in the result."""
    if not isinstance(body, dict):
        raise BadResponse("the Flow proxy's task-status answer is not a JSON object")
    result = body.get("result")
    if not isinstance(result, dict):
        return None
    if "error" in result:
        raise from_google_error(result["error"], upstream=UPSTREAM_GOOGLE, credential=credential)
    if "media" in result or "operations" in result:
        return result
    return None


def parse_accepted_image(result: dict[str, Any]) -> Accepted:
    media = _field(result, "media", list, "media")
    if not media or not isinstance(media[0], dict):
        raise BadResponse("the image answer has an empty 'media' list")
    first = media[0]
    media_id = _field(first, "name", str, "media[0].name")
    generated = first.get("image", {}).get("generatedImage", {}) if isinstance(
        first.get("image"), dict) else {}
    encoded = generated.get("encodedImage") if isinstance(generated, dict) else None
    url = generated.get("fifeUrl") if isinstance(generated, dict) else None
    image_bytes = _decode_image(encoded) if isinstance(encoded, str) and encoded else None
    if image_bytes is None and not isinstance(url, str):
        raise BadResponse("the image answer has neither encodedImage nor fifeUrl")
    return Accepted(media_id=media_id, image_bytes=image_bytes,
                    image_url=url if isinstance(url, str) else None)


def parse_accepted_video(result: dict[str, Any]) -> Accepted:
    operations = _field(result, "operations", list, "operations")
    if not operations or not all(isinstance(entry, dict) for entry in operations):
        raise BadResponse("the video answer has an empty or malformed 'operations' list")
    credits = result.get("remainingCredits")
    return Accepted(render=operations, credits=credits if isinstance(credits, int) else None)


def parse_poll(body: Any, expected: int) -> list[RenderStatus]:
    entries = _field(body, "operations", list, "operations") if isinstance(body, dict) else None
    if entries is None or len(entries) != expected:
        raise BadResponse(f"the status answer has {len(entries or [])} entries, not {expected}")
    return [parse_entry(entry) for entry in entries]


def parse_entry(entry: Any) -> RenderStatus:
    """One poll entry; a malformed entry fails its own job only."""
    if not isinstance(entry, dict):
        return RenderStatus(RenderState.FAILED, error="malformed status entry")
    status = str(entry.get("status", ""))
    state = _STATUS.get(status)
    if state is RenderState.DONE:
        url = _video_url(entry)
        if url is None:
            return RenderStatus(RenderState.FAILED, error="finished without a video URL")
        return RenderStatus(RenderState.DONE, url=url)
    if state is not None:
        return RenderStatus(state)
    if "ERROR" in status or "FAILED" in status:
        return RenderStatus(RenderState.FAILED, error=_entry_error(entry, status))
    return RenderStatus(RenderState.PENDING)  # an unknown new status: keep waiting, bounded


def parse_credits(body: Any) -> AccountStatus:
    credits = body.get("credits") if isinstance(body, dict) else None
    tier = body.get("userPaygateTier") if isinstance(body, dict) else None
    return AccountStatus(credits=credits if isinstance(credits, int) else None,
                         tier=str(tier) if tier else None)


def operation_names(render: list[dict[str, Any]]) -> list[str]:
    return [str(entry.get("operation", {}).get("name", "?")) for entry in render]


def render_failure(status: RenderStatus) -> UpstreamError:
    return GenerationFailed(status.error or "the generation failed")


def _video_url(entry: dict[str, Any]) -> str | None:
    operation = entry.get("operation")
    metadata = operation.get("metadata") if isinstance(operation, dict) else None
    video = metadata.get("video") if isinstance(metadata, dict) else None
    url = video.get("fifeUrl") if isinstance(video, dict) else None
    return url if isinstance(url, str) and url else None


def _entry_error(entry: dict[str, Any], status: str) -> str:
    operation = entry.get("operation")
    error = operation.get("error") if isinstance(operation, dict) else None
    if isinstance(error, dict) and error.get("message"):
        return str(error["message"])[:300]
    return status


def _decode_image(encoded: str) -> bytes:
    try:
        return base64.b64decode(encoded, validate=False)
    except (binascii.Error, ValueError) as exc:
        raise BadResponse("the image answer's encodedImage is not base64") from exc


def _field(body: dict[str, Any], key: str, kind: type, name: str) -> Any:
    value = body.get(key)
    if not isinstance(value, kind):
        raise BadResponse(f"the answer lacks the field '{name}'")
    return value
