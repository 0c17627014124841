"""The Gemini API's shapes: the Interactions API bodies we send ourselves, the answers we read,
and the SDK's Veo request for Agent Platform (upstream-2026.md, section 2).

Omni (Interactions API): create `{"model", "input", "response_format": {"type": "video",
"aspect_ratio", "resolution", "duration": "8s", "delivery"}, "generation_config": {"video_config":
{"task"}}, "background": true}`; `input` is the prompt string, or content blocks `[{"type": "text",
"text"}, {"type": "image", "data": <base64>, "mime_type"}, …]` when pictures go along (the list of
content objects the REST reference documents, and one of the shapes of the SDK's own
`InteractionsInput`). The poll answer carries `status` and `steps[]`; the video is a
`{"type": "video"}` block of a `model_output` step, as inline `data` or a `uri`.

Extend and upscale (Agent Platform's "Extend videos" and "Upscale videos" pages): the same create
with `video_config.task` "extend" or "upscale" and `previous_interaction_id` = the interaction
that made the video (its video is the source); an upscale names its target in
`response_format.resolution` (720p, 1080p or 4k: without it Google answers an error, and without
the task it reads an edit). An extension's `duration` is the new part's length (3 to 10 s); the
aspect ratio is the source's, so neither follow-up sends one. The result's handle (`media_id`)
is therefore `gemini-interaction:<interaction id>`, good on either platform and for inline and
uri results alike.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from google.genai import types

from bot.jobs.errors import BadResponse, GenerationFailed, RequestRejected, SafetyBlocked
from bot.jobs.model import Aspect, JobKind, Options
from bot.jobs.provider import GenerationRequest, RenderState
from bot.providers.catalog import ModelInfo
from bot.providers.gemini.errors import is_safety_message
from bot.providers.gemini.media import StoredImage

ASPECT_RATIO = {Aspect.LANDSCAPE: "16:9", Aspect.PORTRAIT: "9:16"}
DEFAULT_DURATION = 8  #: seconds, when the user names none
DEFAULT_RESOLUTION = "720p"  #: Omni's own default, said out loud (the price is per 720p second)
#: Interaction states that mean "still working".
ACTIVE_STATES = frozenset({"in_progress", "queued"})
#: Why an interaction ended without a video, in words a user can read.
ENDED = {
    "failed": "the video generation failed at Google",
    "cancelled": "the video generation was cancelled at Google",
    "incomplete": "the video generation stopped before the video was finished (incomplete)",
    "budget_exceeded": "the video generation ran over its budget at Google (budget_exceeded)",
}
_SAFETY_FINISH = frozenset({"SAFETY", "PROHIBITED_CONTENT", "BLOCKLIST", "SPII", "RECITATION",
                            "IMAGE_SAFETY", "IMAGE_PROHIBITED_CONTENT", "IMAGE_RECITATION"})


class VideoTask(StrEnum):
    """`generation_config.video_config.task` of an Omni interaction."""

    TEXT_TO_VIDEO = "text_to_video"  #: no picture
    IMAGE_TO_VIDEO = "image_to_video"  #: one picture, or two for first + last frame
    REFERENCE_TO_VIDEO = "reference_to_video"  #: several pictures the video draws on
    EXTEND = "extend"  #: a new clip continuing a video (the previous interaction's)
    UPSCALE = "upscale"  #: the same video at a higher resolution


#: `media_id` of an Omni video: the interaction that made it, for a later extend or upscale.
VIDEO_HANDLE = "gemini-interaction:"
#: What `response_format.resolution` an upscale may ask for.
UPSCALE_TARGETS = ("720p", "1080p", "4k")
EXTENSION_SECONDS = range(3, 11)  #: "a 3-to-10-second extension", whatever the model


class Delivery(StrEnum):
    URI = "uri"  #: a `…/files/{id}:download?alt=media` link, fetched with the key
    INLINE = "inline"  #: base64 in the answer (Agent Platform: a uri needs a gcs_uri)


@dataclass(frozen=True)
class Picture:
    data: bytes
    mime: str


@dataclass(frozen=True)
class Outcome:
    """One look at a render: a state and, when done, a uri or inline bytes or a reason."""

    state: RenderState
    uri: str | None = None
    video: bytes | None = None
    error: str | None = None


# requests


def refuse_unsupported(request: GenerationRequest, *, video_options: frozenset[str],
                       image_options: frozenset[str]) -> None:
    """A clear refusal for options this model cannot honour, rather than a silent drop."""
    image = request.kind is JobKind.IMAGE
    extra = request.options.named() - (image_options if image else video_options)
    if extra:
        what = "images" if image else "videos"
        raise RequestRejected(f"the Gemini provider cannot honour {', '.join(sorted(extra))} "
                              f"for {what} with this model or key")


def refuse_values(options: Options, model: str, info: ModelInfo | None) -> None:
    """A duration or resolution the model does not take is refused before anything is paid."""
    if info is None:
        return
    if options.duration is not None and info.durations and \
            options.duration not in info.durations:
        low, high = min(info.durations), max(info.durations)
        span = (f"{low} to {high}" if list(info.durations) == list(range(low, high + 1))
                else ", ".join(map(str, info.durations)))
        raise RequestRejected(f"{model} makes videos of {span} seconds, "
                              f"not {options.duration}")
    if options.resolution is not None and info.resolutions and \
            options.resolution.lower() not in info.resolutions:
        raise RequestRejected(f"{model} makes videos in {', '.join(info.resolutions)}, "
                              f"not {options.resolution}")


def video_task(pictures: Sequence[StoredImage], task: VideoTask | None = None) -> VideoTask:
    """The task for these pictures (none: text, one or two: frames, more: references), or the
    asked one when the pictures fit it."""
    count = len(pictures)
    if task is None:
        task = (VideoTask.TEXT_TO_VIDEO if count == 0 else
                VideoTask.IMAGE_TO_VIDEO if count <= 2 else VideoTask.REFERENCE_TO_VIDEO)
    fits = {VideoTask.TEXT_TO_VIDEO: count == 0, VideoTask.IMAGE_TO_VIDEO: 1 <= count <= 2,
            VideoTask.REFERENCE_TO_VIDEO: count >= 1}.get(task, False)
    if not fits:
        raise RequestRejected(f"{task.value} cannot take {count} picture(s)")
    return task


def interaction_body(*, model: str, prompt: str, aspect: Aspect, options: Options,
                     pictures: Sequence[StoredImage] = (), task: VideoTask | None = None,
                     delivery: Delivery = Delivery.URI) -> dict[str, Any]:
    """The body of `POST …/interactions` for one Omni video."""
    chosen = video_task(pictures, task)
    duration = options.duration or DEFAULT_DURATION
    response_format = {"type": "video", "aspect_ratio": ASPECT_RATIO[aspect],
                       "resolution": (options.resolution or DEFAULT_RESOLUTION).lower(),
                       "duration": f"{duration}s", "delivery": delivery.value}
    return {"model": model, "input": interaction_input(prompt, pictures),
            "response_format": response_format,
            "generation_config": {"video_config": {"task": chosen.value}},
            "background": True}


def video_handle(interaction: str) -> str:
    """The `media_id` of the video an interaction made."""
    return VIDEO_HANDLE + interaction


def interaction_of(handle: str | None) -> str | None:
    """The interaction behind an Omni video's `media_id`; None for any other handle."""
    if not handle or not handle.startswith(VIDEO_HANDLE):
        return None
    return handle.removeprefix(VIDEO_HANDLE) or None


def follow_up_body(*, model: str, task: VideoTask, interaction: str, prompt: str,
                   options: Options, delivery: Delivery = Delivery.URI) -> dict[str, Any]:
    """The body of `POST …/interactions` that extends or upscales the video `interaction` made:
    an extension of `options.duration` seconds, or an upscale to `options.resolution`."""
    response_format: dict[str, Any] = {"type": "video", "delivery": delivery.value}
    if task is VideoTask.EXTEND:
        response_format["duration"] = f"{options.duration or DEFAULT_DURATION}s"
        if options.resolution:
            response_format["resolution"] = options.resolution.lower()
        text = prompt.strip() or "Continue the video."
    elif task is VideoTask.UPSCALE:
        target = (options.resolution or "").lower()
        if target not in UPSCALE_TARGETS:
            raise RequestRejected(f"an upscale needs a target resolution "
                                  f"({', '.join(UPSCALE_TARGETS)}), not {options.resolution}")
        response_format["resolution"] = target
        text = f"Upscale the video to {target}."
    else:
        raise RequestRejected(f"{task.value} does not start from an earlier video")
    return {"model": model, "input": text, "previous_interaction_id": interaction,
            "response_format": response_format,
            "generation_config": {"video_config": {"task": task.value}}, "background": True}


def interaction_input(prompt: str, pictures: Sequence[StoredImage]) -> str | list[dict[str, Any]]:
    """The prompt alone, or the prompt's text block followed by the pictures in order (for
    image_to_video with two: the first frame, then the last)."""
    if not pictures:
        return prompt
    blocks: list[dict[str, Any]] = [{"type": "text", "text": prompt}]
    blocks += [{"type": "image", "data": base64.b64encode(p.data).decode(), "mime_type": p.mime}
               for p in pictures]
    return blocks


def veo_request(prompt: str, aspect: Aspect, options: Options,
                pictures: Sequence[StoredImage] = (), task: VideoTask | None = None
                ) -> tuple[types.GenerateVideosSource, types.GenerateVideosConfig]:
    """The SDK's Veo request (Agent Platform `:predictLongRunning`): `image` and `lastFrame` for
    image_to_video, `referenceImages[{image, referenceType: asset}]` for reference_to_video;
    audio always on (Omni always has it; Veo 3.x on Agent Platform asks for `generateAudio`)."""
    chosen = video_task(pictures, task)
    images = [types.Image(image_bytes=p.data, mime_type=p.mime) for p in pictures]
    first = images[0] if images and chosen is VideoTask.IMAGE_TO_VIDEO else None
    last = images[1] if len(images) == 2 and chosen is VideoTask.IMAGE_TO_VIDEO else None
    references = ([types.VideoGenerationReferenceImage(
        image=image, reference_type=types.VideoGenerationReferenceType.ASSET)
        for image in images] if chosen is VideoTask.REFERENCE_TO_VIDEO else None)
    source = types.GenerateVideosSource(prompt=prompt, image=first)
    config = types.GenerateVideosConfig(
        number_of_videos=1, aspect_ratio=ASPECT_RATIO[aspect], last_frame=last,
        reference_images=references, negative_prompt=options.negative_prompt,
        resolution=options.resolution, duration_seconds=options.duration, seed=options.seed,
        generate_audio=True)
    return source, config


# answers


def interaction_id(body: Any) -> str:
    """The id of a created interaction (kept as the job's task id)."""
    found = body.get("id") if isinstance(body, dict) else None
    if not isinstance(found, str) or not found:
        raise BadResponse("the video submission answer lacks the interaction 'id'")
    return found


def interaction_outcome(body: Any) -> Outcome:
    """What a polled interaction says."""
    status = body.get("status") if isinstance(body, dict) else None
    if not isinstance(status, str) or not status:
        raise BadResponse("the interaction answer lacks its 'status'")
    if status in ACTIVE_STATES:
        return Outcome(RenderState.ACTIVE)
    outputs = _model_outputs(body)
    if status == "completed":
        video = _video_block(outputs)
        if video is None:
            return Outcome(RenderState.FAILED, error=_refusal(outputs))
        return _video_outcome(video)
    reason = ENDED.get(status, f"the interaction ended in a state the bot does not know "
                               f"({status[:40]})")
    message = _error_message(body, outputs)
    if message and is_safety_message(message):
        return Outcome(RenderState.FAILED, error=_filtered_text("video", message))
    return Outcome(RenderState.FAILED, error=f"{reason}: {message}" if message else reason)


def _model_outputs(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The `model_output` steps after the last `user_input` step (as the SDK reads them)."""
    steps = body.get("steps")
    outputs: list[dict[str, Any]] = []
    for step in reversed(steps if isinstance(steps, list) else []):
        if not isinstance(step, dict):
            continue
        if step.get("type") == "user_input":
            break
        if step.get("type") == "model_output":
            outputs.insert(0, step)
    return outputs


def _blocks(outputs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    for step in outputs:
        content = step.get("content")
        blocks += [b for b in (content if isinstance(content, list) else [])
                   if isinstance(b, dict)]
    return blocks


def _video_block(outputs: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The last video block with inline data or a uri."""
    videos = [block for block in _blocks(outputs) if block.get("type") == "video"
              and (block.get("data") or block.get("uri"))]
    return videos[-1] if videos else None


def _video_outcome(video: dict[str, Any]) -> Outcome:
    """Inline data wins (a poll may answer inline even when a uri was asked for)."""
    data = video.get("data")
    if isinstance(data, str) and data:
        try:
            return Outcome(RenderState.DONE, video=base64.b64decode(data, validate=True))
        except (binascii.Error, ValueError) as exc:
            raise BadResponse("the video in the answer is not valid base64") from exc
    return _from_uri(str(video.get("uri")))


def _refusal(outputs: list[dict[str, Any]]) -> str:
    """A `completed` interaction with no video is a refusal; the model's words say why."""
    said = " ".join(str(block.get("text", "")).strip() for block in _blocks(outputs)
                    if block.get("type") == "text").strip()
    return _filtered_text("video", f"the answer has no video: “{said[:200]}”" if said
                          else "the answer has no video")


def _error_message(body: dict[str, Any], outputs: list[dict[str, Any]]) -> str:
    """Google's own words: the interaction's `errors[]`, else a model_output step's `error`."""
    messages: list[str] = []
    errors = body.get("errors")
    for error in errors if isinstance(errors, list) else []:
        if isinstance(error, dict) and error.get("message"):
            messages.append(str(error["message"]))
    for step in outputs:
        error = step.get("error")
        if isinstance(error, dict) and error.get("message"):
            messages.append(str(error["message"]))
    return "; ".join(messages)[:300]


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


def outcome(operation: types.GenerateVideosOperation) -> Outcome:
    """What a polled Veo operation says (Agent Platform; the SDK has read its shape)."""
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
