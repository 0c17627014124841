"""The useapi.net dialect in one place: paths, request bodies and answer parsing
(upstream-2026.md section 3, useapi.net's "Google Flow API v1" pages and the examples of
github.com/useapi/google-flow-api).

Answers are parsed defensively: a missing field is a `BadResponse` that names it.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from bot.jobs.errors import BadResponse, RequestRejected
from bot.jobs.model import Aspect, ImageRole, JobKind
from bot.jobs.provider import Accepted, AccountStatus, GenerationRequest, RenderState, RenderStatus
from bot.providers.catalog import ModelInfo
from bot.providers.useapi.errors import job_failure

ACCOUNTS = "/accounts"
IMAGES = "/images"
IMAGE_UPSCALE = "/images/upscale"
VIDEOS = "/videos"
EXTEND = "/videos/extend"
VIDEO_UPSCALE = "/videos/upscale"
ASSETS = "/assets"
JOBS = "/jobs/"
#: The task id of an image whose answer named no job: the picture is kept in memory only.
IMAGE_PREFIX = "image:"
#: an account's `health` when its Google session works
HEALTHY = "OK"

#: Job statuses (GET /jobs/{jobid}): `created` → `started` → `completed` | `failed`.
_ACTIVE = {"created": RenderState.PENDING, "started": RenderState.ACTIVE}
#: Image ratios of POST /images ("16:9", "4:3", "1:1", "3:4", "9:16").
IMAGE_ASPECT = {aspect: aspect.ratio for aspect in Aspect}
#: POST /videos: Veo takes "landscape" (default), "portrait", "1:1", "4:3", "3:4"; omni-flash
#: landscape and portrait only.
VIDEO_ASPECT = {Aspect.LANDSCAPE: "landscape", Aspect.PORTRAIT: "portrait",
                Aspect.SQUARE: "1:1", Aspect.CLASSIC: "4:3", Aspect.CLASSIC_PORTRAIT: "3:4"}
OMNI_ASPECTS = frozenset({Aspect.LANDSCAPE, Aspect.PORTRAIT})
#: Our resolutions → useapi's spelling: POST /videos/upscale "1080p" (default, free) | "4K";
#: POST /images/upscale "2k" (default) | "4k".
VIDEO_RESOLUTIONS = {"1080p": "1080p", "4k": "4K"}
IMAGE_RESOLUTIONS = {"2k": "2k", "4k": "4k"}
#: An extension is "an additional 8-second segment" whatever the model.
EXTEND_SECONDS = 8
#: How many `referenceImage_N` a model takes (Veo: 1-3; Omni Flash: 1-7, per the examples).
VEO_REFERENCES = 3
OMNI_REFERENCES = 7


@dataclass(frozen=True)
class Job:
    """What one poll of a job says: its state, and for a finished one what it made."""

    status: RenderStatus
    image: Accepted | None = None


def job_path(jobid: str) -> str:
    """`/jobs/{jobid}` with the id URL-encoded (it holds `:`, `@` and maybe `*`)."""
    return JOBS + quote(jobid, safe="")


def asset_path(email: str | None) -> str:
    """`POST /assets/{email}` names the account; plain `/assets` lets useapi pick one."""
    return f"{ASSETS}/{quote(email, safe='')}" if email else ASSETS


def account_path(email: str) -> str:
    return f"{ACCOUNTS}/{quote(email, safe='')}"


def image_body(request: GenerationRequest, *, model: str, email: str | None) -> dict[str, Any]:
    """POST /images: one picture of the model, in the job's aspect."""
    body: dict[str, Any] = {"prompt": request.prompt, "model": model,
                            "aspectRatio": IMAGE_ASPECT[request.aspect], "count": 1}
    if request.options.seed is not None:
        body["seed"] = request.options.seed
    if email:
        body["email"] = email
    return body


def video_body(request: GenerationRequest, *, model: str, email: str | None,
               info: ModelInfo | None) -> dict[str, Any]:
    """POST /videos, asynchronous: the job's pictures as frames or references."""
    refuse_values(request, model, info)
    body: dict[str, Any] = {"prompt": request.prompt, "model": model,
                            "aspectRatio": video_aspect(request.aspect, model), "count": 1,
                            "async": True}
    if request.options.duration is not None:
        body["duration"] = request.options.duration
    if request.options.seed is not None:
        body["seed"] = request.options.seed
    body.update(_pictures(request, model))
    if email:
        body["email"] = email
    return body


def extend_body(request: GenerationRequest, *, model: str) -> dict[str, Any]:
    """POST /videos/extend, asynchronous: an 8-second continuation of the source video (its
    aspect is the source's) with `model`; the source names its account, so no `email`."""
    duration = request.options.duration
    if duration is not None and duration != EXTEND_SECONDS:
        raise RequestRejected(f"an extension is {EXTEND_SECONDS} seconds long, not {duration}")
    body: dict[str, Any] = {"mediaGenerationId": source_of(request), "prompt": request.prompt,
                            "model": model, "count": 1, "async": True}
    if request.options.seed is not None:
        body["seed"] = request.options.seed
    return body


def video_upscale_body(request: GenerationRequest) -> dict[str, Any]:
    """POST /videos/upscale, asynchronous: the source video at 1080p (free) or 4K."""
    resolution = _resolution(request, VIDEO_RESOLUTIONS, default="1080p")
    return {"mediaGenerationId": source_of(request), "resolution": resolution, "async": True}


def image_upscale_body(request: GenerationRequest) -> dict[str, Any]:
    """POST /images/upscale (synchronous): the source image at 2k or 4k."""
    resolution = _resolution(request, IMAGE_RESOLUTIONS, default="2k")
    return {"mediaGenerationId": source_of(request), "resolution": resolution}


def source_of(request: GenerationRequest) -> str:
    """The earlier result's `mediaGenerationId` an extend or upscale starts from."""
    if not request.reference_media_id:
        raise RequestRejected(f"a {request.kind} needs the earlier result it starts from")
    return request.reference_media_id


def video_aspect(aspect: Aspect, model: str) -> str:
    """Veo takes all five aspects; omni-flash landscape and portrait only."""
    if model.startswith("omni") and aspect not in OMNI_ASPECTS:
        raise RequestRejected(f"{model} makes landscape and portrait videos only, not "
                              f"{aspect.ratio}")
    return VIDEO_ASPECT[aspect]


def _resolution(request: GenerationRequest, spelling: dict[str, str], *, default: str) -> str:
    wanted = (request.options.resolution or default).lower()
    if wanted not in spelling:
        raise RequestRejected(f"useapi.net upscales to {' or '.join(spelling)}, not {wanted}")
    return spelling[wanted]


def refuse_values(request: GenerationRequest, model: str, info: ModelInfo | None) -> None:
    """A duration the catalog says the model does not make is refused before anything is paid
    (Quality makes 8 s only); 4 and 6 s on a plan without them are useapi's to refuse."""
    duration = request.options.duration
    if duration is None or info is None or not info.durations or duration in info.durations:
        return
    span = ", ".join(str(seconds) for seconds in info.durations)
    raise RequestRejected(f"{model} makes videos of {span} seconds, not {duration}")


def _pictures(request: GenerationRequest, model: str) -> dict[str, str]:
    pictures = request.media_ids
    if request.kind is JobKind.ANIMATE and not pictures:
        raise RequestRejected("this video needs a picture; please send the picture itself")
    if not pictures:
        return {}
    if request.image_role is ImageRole.REFERENCES:
        most = OMNI_REFERENCES if model.startswith("omni") else VEO_REFERENCES
        if len(pictures) > most:
            raise RequestRejected(f"{model} takes at most {most} reference pictures, not "
                                  f"{len(pictures)}")
        return {f"referenceImage_{n}": media for n, media in enumerate(pictures, start=1)}
    if len(pictures) > 2:
        raise RequestRejected(f"a video has one first and one last frame, not {len(pictures)}; "
                              "send more pictures as references")
    if len(pictures) == 2 and model.startswith("omni"):
        raise RequestRejected(f"{model} takes a first frame only, not a last frame")
    frames = {"startImage": pictures[0]}
    if len(pictures) == 2:
        frames["endImage"] = pictures[1]
    return frames


def parse_jobid(body: Any) -> str:
    """The 201 answer of an async create: `{"jobid", "status": "created", …}` (the examples
    accept `jobId` too)."""
    jobid = (body.get("jobid") or body.get("jobId")) if isinstance(body, dict) else None
    if not isinstance(jobid, str) or not jobid:
        raise BadResponse("the useapi.net answer has no 'jobid'")
    return jobid


def parse_image(body: Any) -> Accepted:
    """`media[0].image.generatedImage` of POST /images (or of a finished image job):
    `encodedImage` (base64) or a signed `fifeUrl`, and its `mediaGenerationId`."""
    media = body.get("media") if isinstance(body, dict) else None
    first = media[0] if isinstance(media, list) and media else None
    image = first.get("image") if isinstance(first, dict) else None
    generated = image.get("generatedImage") if isinstance(image, dict) else None
    if not isinstance(generated, dict):
        raise BadResponse("the image answer lacks 'media[0].image.generatedImage'")
    media_id = generated.get("mediaGenerationId")
    if not isinstance(media_id, str) or not media_id:
        raise BadResponse("the image answer lacks 'mediaGenerationId'")
    encoded, url = generated.get("encodedImage"), generated.get("fifeUrl")
    data = _decode(encoded) if isinstance(encoded, str) and encoded else None
    if data is None and not (isinstance(url, str) and url):
        raise BadResponse("the image answer has neither 'encodedImage' nor 'fifeUrl'")
    return Accepted(media_id=media_id, image_bytes=data,
                    image_url=url if isinstance(url, str) and url else None)


def parse_job(body: Any, kind: JobKind) -> Job:
    """One `GET /jobs/{jobid}` record."""
    status = body.get("status") if isinstance(body, dict) else None
    if not isinstance(status, str) or not status:
        raise BadResponse("the job record lacks its 'status'")
    assert isinstance(body, dict)
    if status in _ACTIVE:
        return Job(RenderStatus(_ACTIVE[status]))
    if status == "failed":
        failure = job_failure(body)
        return Job(RenderStatus(RenderState.FAILED, error=str(failure), failure=failure))
    if status != "completed":
        # a state the docs do not name: keep waiting (the render timeout bounds it)
        return Job(RenderStatus(RenderState.PENDING))
    response = body.get("response")
    if kind is JobKind.IMAGE:
        return Job(RenderStatus(RenderState.DONE), image=parse_image(response))
    if kind is JobKind.IMAGE_UPSCALE:
        request = body.get("request")
        source = request.get("mediaGenerationId") if isinstance(request, dict) else None
        image = parse_upscaled_image(response, media_id=str(source) if source else None)
        return Job(RenderStatus(RenderState.DONE), image=image)
    return Job(_finished_video(response))


def parse_upscaled_image(body: Any, *, media_id: str | None) -> Accepted:
    """POST /images/upscale answers `{encodedImage}` (base64) and no id of its own: the picture
    keeps its source's `mediaGenerationId`."""
    encoded = body.get("encodedImage") if isinstance(body, dict) else None
    if not isinstance(encoded, str) or not encoded:
        raise BadResponse("the image upscale answer lacks 'encodedImage'")
    return Accepted(media_id=media_id, image_bytes=_decode(encoded))


def _finished_video(response: Any) -> RenderStatus:
    """`response.media[i].videoUrl` (signed, valid a few hours), its `mediaGenerationId` (what
    a later extend or upscale names) and `remainingCredits`."""
    if not isinstance(response, dict):
        raise BadResponse("the completed job lacks its 'response'")
    credits = response.get("remainingCredits")
    credits = credits if isinstance(credits, int) else None
    media = response.get("media")
    for entry in media if isinstance(media, list) else []:
        url = entry.get("videoUrl") if isinstance(entry, dict) else None
        if isinstance(url, str) and url:
            assert isinstance(entry, dict)
            media_id = entry.get("mediaGenerationId")
            return RenderStatus(RenderState.DONE, url=url, credits=credits,
                                media_id=media_id if isinstance(media_id, str) and media_id
                                else None)
    return RenderStatus(RenderState.FAILED, error="the job completed without a video",
                        credits=credits)


def parse_upload(body: Any) -> str:
    """POST /assets answers the id nested as `mediaGenerationId.mediaGenerationId`."""
    holder = body.get("mediaGenerationId") if isinstance(body, dict) else None
    media_id = holder.get("mediaGenerationId") if isinstance(holder, dict) else holder
    if not isinstance(media_id, str) or not media_id:
        raise BadResponse("the upload answer lacks 'mediaGenerationId'")
    return media_id


def healthy_accounts(body: Any) -> list[str]:
    """GET /accounts: a map of email → summary; the accounts whose `health` is "OK"."""
    if not isinstance(body, dict):
        raise BadResponse("the accounts answer is not a map of accounts")
    return sorted(email for email, account in body.items()
                  if isinstance(account, dict) and account.get("health") == HEALTHY)


def parse_account(body: Any) -> AccountStatus:
    """GET /accounts/{email}: `health` ("OK" or what broke the Google session) and
    `credits {credits, userPaygateTier}`."""
    health = body.get("health") if isinstance(body, dict) else None
    health = str(health) if isinstance(health, str) and health else None
    healthy = None if health is None else health == HEALTHY
    credits = body.get("credits") if isinstance(body, dict) else None
    if not isinstance(credits, dict):
        return AccountStatus(health=health, healthy=healthy)
    amount, tier = credits.get("credits"), credits.get("userPaygateTier")
    return AccountStatus(credits=amount if isinstance(amount, int) else None,
                         tier=str(tier) if tier else None, health=health, healthy=healthy)


def _decode(encoded: str) -> bytes:
    try:
        return base64.b64decode(encoded, validate=False)
    except (binascii.Error, ValueError) as exc:
        raise BadResponse("the image answer's 'encodedImage' is not base64") from exc
