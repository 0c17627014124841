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
VIDEOS = "/videos"
ASSETS = "/assets"
JOBS = "/jobs/"
#: The task id of an image whose answer named no job: the picture is kept in memory only.
IMAGE_PREFIX = "image:"
#: an account's `health` when its Google session works
HEALTHY = "OK"

#: Job statuses (GET /jobs/{jobid}): `created` → `started` → `completed` | `failed`.
_ACTIVE = {"created": RenderState.PENDING, "started": RenderState.ACTIVE}
#: Image ratios of POST /images; Veo and Omni spell the video aspects as words.
IMAGE_ASPECT = {aspect: aspect.ratio for aspect in Aspect}
VIDEO_ASPECT = {**IMAGE_ASPECT, Aspect.LANDSCAPE: "landscape", Aspect.PORTRAIT: "portrait"}
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
                            "aspectRatio": VIDEO_ASPECT[request.aspect], "count": 1,
                            "async": True}
    if request.options.duration is not None:
        body["duration"] = request.options.duration
    if request.options.seed is not None:
        body["seed"] = request.options.seed
    body.update(_pictures(request, model))
    if email:
        body["email"] = email
    return body


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
    return Job(_finished_video(response))


def _finished_video(response: Any) -> RenderStatus:
    """`response.media[i].videoUrl` (signed, valid a few hours) and `remainingCredits`."""
    if not isinstance(response, dict):
        raise BadResponse("the completed job lacks its 'response'")
    credits = response.get("remainingCredits")
    credits = credits if isinstance(credits, int) else None
    media = response.get("media")
    for entry in media if isinstance(media, list) else []:
        url = entry.get("videoUrl") if isinstance(entry, dict) else None
        if isinstance(url, str) and url:
            return RenderStatus(RenderState.DONE, url=url, credits=credits)
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
