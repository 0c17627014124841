"""The Gemini API's shapes: request bodies we send ourselves and the answers we read.

Bodies for the Developer API endpoints the SDK 3.x refuses (`:predictLongRunning`, Imagen
`:predict`) are built here in the same shape the SDK sends to Vertex AI (and SDK 2.x sent to the
Developer API): `{"instances": [{"prompt", "image"}], "parameters": {"sampleCount",
"aspectRatio"}}`.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

from google.genai import types

from bot.jobs.errors import BadResponse, GenerationFailed, RequestRejected, SafetyBlocked
from bot.jobs.model import Aspect, JobKind, Options
from bot.jobs.provider import GenerationRequest, RenderState
from bot.providers.gemini.errors import is_safety_message
from bot.providers.gemini.media import StoredImage

ASPECT_RATIO = {Aspect.LANDSCAPE: "16:9", Aspect.PORTRAIT: "9:16"}
#: Veo options by API: the Developer API takes no seed (SDK 2.x refused it there before sending).
VIDEO_OPTIONS = frozenset({"negative_prompt", "resolution", "duration"})
VERTEX_VIDEO_OPTIONS = VIDEO_OPTIONS | {"seed"}
#: A Gemini image model takes a seed (generationConfig.seed); Imagen here takes no options.
IMAGE_OPTIONS = frozenset({"seed"})
_VIDEO_PARAMETERS = {"negative_prompt": "negativePrompt", "resolution": "resolution",
                     "duration": "durationSeconds", "seed": "seed"}
_SAFETY_FINISH = frozenset({"SAFETY", "PROHIBITED_CONTENT", "BLOCKLIST", "SPII", "RECITATION",
                            "IMAGE_SAFETY", "IMAGE_PROHIBITED_CONTENT", "IMAGE_RECITATION"})


@dataclass(frozen=True)
class Picture:
    data: bytes
    mime: str


@dataclass(frozen=True)
class Outcome:
    """One look at a video operation: a state and, when done, a uri or inline bytes or a reason."""

    state: RenderState
    uri: str | None = None
    video: bytes | None = None
    error: str | None = None


def is_imagen(model: str) -> bool:
    return "imagen" in model.lower()


def model_path(model: str) -> str:
    """`models/<id>` as the Developer API names a model in its URLs."""
    return model if model.startswith("models/") else f"models/{model}"


def refuse_unsupported(request: GenerationRequest, *, video_options: frozenset[str],
                       imagen: bool) -> None:
    """A clear refusal for options this model cannot honour, rather than a silent drop."""
    image = request.kind is JobKind.IMAGE
    honoured = (frozenset() if imagen else IMAGE_OPTIONS) if image else video_options
    extra = request.options.named() - honoured
    if extra:
        what = "images" if image else "videos"
        raise RequestRejected(f"the Gemini provider cannot honour {', '.join(sorted(extra))} "
                              f"for {what} with this model or key")


def predict_body(prompt: str, aspect: Aspect, image: StoredImage | None = None,
                 options: Options | None = None) -> dict[str, Any]:
    """The body of `:predictLongRunning` (Veo) and of Imagen's `:predict`."""
    instance: dict[str, Any] = {"prompt": prompt}
    if image is not None:
        instance["image"] = {"bytesBase64Encoded": base64.b64encode(image.data).decode(),
                             "mimeType": image.mime}
    parameters: dict[str, Any] = {"sampleCount": 1, "aspectRatio": ASPECT_RATIO[aspect]}
    for name, value in (options.as_dict() if options else {}).items():
        if value is not None:
            parameters[_VIDEO_PARAMETERS[name]] = value
    return {"instances": [instance], "parameters": parameters}


def video_config(aspect: Aspect, options: Options) -> types.GenerateVideosConfig:
    """The SDK's config for the same request (Vertex AI)."""
    return types.GenerateVideosConfig(
        number_of_videos=1, aspect_ratio=ASPECT_RATIO[aspect],
        negative_prompt=options.negative_prompt, resolution=options.resolution,
        duration_seconds=options.duration, seed=options.seed)


def operation_name(body: Any) -> str:
    name = body.get("name") if isinstance(body, dict) else None
    if not isinstance(name, str) or not name:
        raise BadResponse("the video submission answer lacks the operation 'name'")
    return name


def picture_from_content(response: types.GenerateContentResponse) -> Picture:
    """The first inline image of a `generateContent` answer, or the reason there is none."""
    feedback = response.prompt_feedback
    if feedback is not None and feedback.block_reason is not None:
        raise SafetyBlocked(f"Google's filters blocked the prompt ({_name(feedback.block_reason)})")
    texts: list[str] = []
    reasons: list[str] = []
    for candidate in response.candidates or []:
        reasons.append(_name(candidate.finish_reason))
        for part in (candidate.content.parts if candidate.content else None) or []:
            inline = part.inline_data
            if inline is not None and inline.data and (inline.mime_type or "").startswith("image/"):
                return Picture(inline.data, inline.mime_type or "image/png")
            if part.text:
                texts.append(part.text.strip())
    blocked = [reason for reason in reasons if reason in _SAFETY_FINISH]
    if blocked:
        raise SafetyBlocked(f"Google's safety filters blocked the image ({blocked[0]})")
    said = f": “{' '.join(texts)[:150]}”" if texts else ""
    reason = next((r for r in reasons if r != "None"), "no reason given")
    raise GenerationFailed(f"the model answered without an image ({reason}){said}")


def picture_from_imagen(response: types.GenerateImagesResponse) -> Picture:
    """The first image of an Imagen answer through the SDK (Vertex AI)."""
    filtered = None
    for generated in response.generated_images or []:
        image = generated.image
        if image is not None and image.image_bytes:
            return Picture(image.image_bytes, image.mime_type or "image/png")
        filtered = filtered or generated.rai_filtered_reason
    raise SafetyBlocked(_filtered_text("image", filtered))


def picture_from_predictions(body: Any) -> Picture:
    """The first image of an Imagen `:predict` answer we fetched ourselves (Developer API)."""
    predictions = body.get("predictions") if isinstance(body, dict) else None
    filtered = None
    for prediction in predictions if isinstance(predictions, list) else []:
        if not isinstance(prediction, dict):
            continue
        encoded = prediction.get("bytesBase64Encoded")
        if isinstance(encoded, str) and encoded:
            return Picture(_b64(encoded), str(prediction.get("mimeType") or "image/png"))
        filtered = filtered or prediction.get("raiFilteredReason")
    raise SafetyBlocked(_filtered_text("image", filtered))


def outcome(operation: types.GenerateVideosOperation) -> Outcome:
    """What a polled video operation says (the SDK has already read Developer or Vertex shape)."""
    if not operation.done:
        return Outcome(RenderState.ACTIVE)
    if operation.error:
        message = str(operation.error.get("message") or operation.error.get("code") or "")
        if is_safety_message(message):
            return Outcome(RenderState.FAILED, error=_filtered_text("video", message))
        return Outcome(RenderState.FAILED, error=message or "the video operation failed")
    result = operation.result or operation.response
    for generated in (result.generated_videos if result else None) or []:
        video = generated.video
        if video is not None and video.video_bytes:
            return Outcome(RenderState.DONE, video=video.video_bytes)
        if video is not None and video.uri:
            return _from_uri(video.uri)
    filtered = result is not None and (result.rai_media_filtered_count
                                       or result.rai_media_filtered_reasons)
    if result is not None and filtered:
        reasons = "; ".join(result.rai_media_filtered_reasons or [])
        return Outcome(RenderState.FAILED, error=_filtered_text("video", reasons))
    return Outcome(RenderState.FAILED, error="the operation finished without a video")


def _from_uri(uri: str) -> Outcome:
    if uri.startswith(("https://", "http://")) and "/files/" in uri:
        return Outcome(RenderState.DONE, uri=uri)
    return Outcome(RenderState.FAILED, error=f"the video was stored where I cannot fetch it "
                                             f"({uri.split('/', 3)[0]}//…)")


def _filtered_text(what: str, reason: object) -> str:
    detail = f": {reason}" if reason else ""
    return f"Google's safety filters blocked the {what}{detail}"


def _name(value: object) -> str:
    return str(getattr(value, "value", value))


def _b64(encoded: str) -> bytes:
    try:
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise BadResponse("the image in the answer is not valid base64") from exc
