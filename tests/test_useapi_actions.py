"""UseapiProvider's extend and upscale calls, a job's own model and the five aspects, on
`httpx.MockTransport`: the bodies sent, what is refused before sending, the handle a finished
render reports, and what an unknown or expired source becomes."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from bot.jobs.errors import RequestRejected, SourceExpired, UpstreamUnavailable
from bot.jobs.model import Action, Aspect, JobKind, Options
from bot.jobs.provider import GenerationRequest, RenderState
from bot.jobs.retry import RetryPolicy
from bot.providers.useapi.client import UseapiClient
from bot.providers.useapi.errors import from_status
from bot.providers.useapi.provider import UseapiProvider
from tests.test_useapi_provider import API, EMAIL, JOBID, TOKEN, Upstream, body, job

SOURCE = "user:12345-email:flow@example.com-video:source"
IMAGE = "user:12345-email:flow@example.com-image:source"
CREATED = httpx.Response(201, json={"jobid": JOBID, "status": "created"})
GONE = {"error": f"mediaGenerationId {SOURCE} was not found: unknown to the account or no "
                 "longer kept", "code": 400}


@pytest.fixture
async def upstream() -> Upstream:
    return Upstream()


@pytest.fixture
async def provider(upstream: Upstream) -> AsyncIterator[UseapiProvider]:
    async with httpx.AsyncClient(transport=httpx.MockTransport(upstream)) as http:
        policy = RetryPolicy(attempts=3, base_delay=0.0, max_delay=0.0, sleep=_no_sleep)
        client = UseapiClient(http=http, base_url=API, token=TOKEN, retry=policy)
        yield UseapiProvider(client=client, email=EMAIL, image_model="nano-banana-pro",
                             video_model="veo-3.1-fast")


async def _no_sleep(seconds: float) -> None:
    return None


def request(kind: JobKind, *, prompt: str = "", source: str | None = SOURCE,
            aspect: Aspect = Aspect.LANDSCAPE, model: str | None = None,
            **options: Any) -> GenerationRequest:
    return GenerationRequest(kind, prompt, aspect, source, Options(**options), model=model)


# extend


async def test_an_extend_names_its_source_prompt_and_model(provider: UseapiProvider,
                                                           upstream: Upstream) -> None:
    upstream.on("POST", "/videos/extend", CREATED)
    task = await provider.submit(request(JobKind.EXTEND, prompt="the wave breaks", seed=5,
                                         model="veo-3.1-quality"))
    assert task == JOBID
    assert body(upstream.sent("POST", "/videos/extend")[0]) == {
        "mediaGenerationId": SOURCE, "prompt": "the wave breaks", "model": "veo-3.1-quality",
        "count": 1, "async": True, "seed": 5}
    accepted = await provider.accepted(task, JobKind.EXTEND)
    assert accepted is not None and accepted.render == [{"jobid": JOBID}]
    assert len(upstream.requests) == 1


async def test_an_extend_without_a_model_uses_the_configured_one(provider: UseapiProvider,
                                                                 upstream: Upstream) -> None:
    upstream.on("POST", "/videos/extend", CREATED)
    await provider.submit(request(JobKind.EXTEND, prompt="on", duration=8))
    sent = body(upstream.sent("POST", "/videos/extend")[0])
    assert sent["model"] == "veo-3.1-fast" and "duration" not in sent and "email" not in sent


@pytest.mark.parametrize(("asked", "words"), [
    (request(JobKind.EXTEND, prompt="on", model="omni-flash"), "cannot extend results of omni"),
    (request(JobKind.EXTEND, prompt="on", duration=6), "an extension is 8 seconds long"),
    (request(JobKind.EXTEND, prompt="on", source=None), "needs the earlier result"),
    (request(JobKind.EXTEND, prompt="on", resolution="1080p"), "cannot honour resolution"),
    (request(JobKind.UPSCALE, resolution="720p"), "upscales to 1080p or 4k, not 720p"),
    (request(JobKind.UPSCALE, resolution="4k", seed=3), "cannot honour seed"),
    (request(JobKind.IMAGE_UPSCALE, source=IMAGE, resolution="8k"), "not 8k"),
], ids=["omni-extend", "extend-6s", "no-source", "extend-resolution", "720p", "upscale-seed",
        "image-8k"])
async def test_what_cannot_be_done_is_refused_before_sending(
        provider: UseapiProvider, upstream: Upstream, asked: GenerationRequest,
        words: str) -> None:
    with pytest.raises(RequestRejected, match=words):
        await provider.submit(asked)
    assert upstream.requests == []


# video upscale


@pytest.mark.parametrize(("resolution", "sent"), [("4k", "4K"), ("1080p", "1080p"),
                                                  (None, "1080p")])
async def test_an_upscale_asks_useapis_spelling_of_the_resolution(
        provider: UseapiProvider, upstream: Upstream, resolution: str | None,
        sent: str) -> None:
    upstream.on("POST", "/videos/upscale", CREATED)
    task = await provider.submit(request(JobKind.UPSCALE, resolution=resolution))
    assert task == JOBID
    assert body(upstream.sent("POST", "/videos/upscale")[0]) == {
        "mediaGenerationId": SOURCE, "resolution": sent, "async": True}


async def test_an_upscale_whose_answer_was_lost_is_not_sent_again(provider: UseapiProvider,
                                                                  upstream: Upstream) -> None:
    upstream.on("POST", "/videos/upscale", httpx.Response(502, json={"error": "bad gateway"}))
    with pytest.raises(UpstreamUnavailable) as caught:
        await provider.submit(request(JobKind.UPSCALE, resolution="4k"))
    assert caught.value.maybe_processed  # 50 credits may have gone: the runner asks no more
    assert len(upstream.sent("POST", "/videos/upscale")) == 1


async def test_a_busy_answer_is_sent_again_nothing_was_made(provider: UseapiProvider,
                                                            upstream: Upstream) -> None:
    upstream.on("POST", "/videos/extend", httpx.Response(429, json={"error": "busy",
                                                                    "retryAfter": 0}), CREATED)
    assert await provider.submit(request(JobKind.EXTEND, prompt="on")) == JOBID
    assert len(upstream.sent("POST", "/videos/extend")) == 2


# image upscale


async def test_an_image_upscale_is_kept_as_a_picture_with_its_sources_id(
        provider: UseapiProvider, upstream: Upstream) -> None:
    picture = b"\x89PNG larger"
    upstream.on("POST", "/images/upscale", httpx.Response(200, json={
        "encodedImage": base64.b64encode(picture).decode(), "captcha": {"service": "x"}}))
    task = await provider.submit(request(JobKind.IMAGE_UPSCALE, source=IMAGE,
                                         resolution="4k"))
    assert body(upstream.sent("POST", "/images/upscale")[0]) == {
        "mediaGenerationId": IMAGE, "resolution": "4k"}
    accepted = await provider.accepted(task, JobKind.IMAGE_UPSCALE)
    assert accepted is not None and accepted.image_bytes == picture
    assert accepted.media_id == IMAGE and accepted.render is None
    assert len(upstream.requests) == 1


async def test_an_image_upscale_whose_wait_ran_out_is_read_from_its_job(
        provider: UseapiProvider, upstream: Upstream) -> None:
    image_job = "j3i-u1-email:flow@example.com-bot:google-flow"
    upstream.on("POST", "/images/upscale", httpx.Response(408, json={"error": "Timed out",
                                                                      "jobid": image_job}))
    upstream.on("GET", f"/jobs/{image_job}", httpx.Response(200, json={
        "jobid": image_job, "status": "completed",
        "request": {"mediaGenerationId": IMAGE, "resolution": "2k"},
        "response": {"encodedImage": base64.b64encode(b"\x89PNG 2k").decode()}}))
    task = await provider.submit(request(JobKind.IMAGE_UPSCALE, source=IMAGE))
    assert task == image_job and len(upstream.sent("POST", "/images/upscale")) == 1
    accepted = await provider.accepted(task, JobKind.IMAGE_UPSCALE)
    assert accepted is not None and accepted.image_bytes == b"\x89PNG 2k"
    assert accepted.media_id == IMAGE


# what a finished render reports


async def test_a_finished_render_reports_its_handle_for_a_later_extend(
        provider: UseapiProvider, upstream: Upstream) -> None:
    upstream.on("GET", f"/jobs/{JOBID}", job("completed", response={
        "media": [{"videoUrl": "https://v.test/x.mp4", "mediaGenerationId": "video:next"}],
        "remainingCredits": 930}))
    status = (await provider.check([{"jobid": JOBID}]))[0]
    assert (status.state, status.url, status.media_id, status.credits) == (
        RenderState.DONE, "https://v.test/x.mp4", "video:next", 930)


# an unknown or expired source


@pytest.mark.parametrize(("kind", "path"), [(JobKind.EXTEND, "/videos/extend"),
                                            (JobKind.UPSCALE, "/videos/upscale"),
                                            (JobKind.IMAGE_UPSCALE, "/images/upscale")])
async def test_an_unknown_or_expired_source_is_source_expired(
        provider: UseapiProvider, upstream: Upstream, kind: JobKind, path: str) -> None:
    upstream.on("POST", path, httpx.Response(400, json=GONE))
    with pytest.raises(SourceExpired) as caught:
        await provider.submit(request(kind, prompt="on"))
    assert caught.value.code == "source_expired" and caught.value.refused_submission
    assert len(upstream.sent("POST", path)) == 1


async def test_a_job_that_failed_on_its_source_is_source_expired(provider: UseapiProvider,
                                                                 upstream: Upstream) -> None:
    upstream.on("GET", f"/jobs/{JOBID}", job("failed", **GONE))
    status = (await provider.check([{"jobid": JOBID}]))[0]
    assert status.state is RenderState.FAILED and isinstance(status.failure, SourceExpired)


@pytest.mark.parametrize(("status", "said", "expired"), [
    (400, "mediaGenerationId is required", False),  # a bug of ours, not a gone source
    (404, "mediaGenerationId abc expired", True),
    (400, "The mediaGenerationId does not exist", True),
    (404, "Google Flow account x@example.com is not configured", False),
])
def test_which_words_mean_the_source_is_gone(status: int, said: str, expired: bool) -> None:
    assert isinstance(from_status(status, {"error": said}), SourceExpired) is expired


# a job's own model, and the aspects


@pytest.mark.parametrize(("asked", "path", "fields"), [
    (request(JobKind.VIDEO, prompt="a", source=None, model="veo-3.1-lite"), "/videos",
     {"model": "veo-3.1-lite"}),
    (request(JobKind.VIDEO, prompt="a", source=None, model="omni-flash", duration=10),
     "/videos", {"model": "omni-flash", "duration": 10}),
    (request(JobKind.IMAGE, prompt="a", source=None, model="nano-banana-2"), "/images",
     {"model": "nano-banana-2"}),
], ids=["veo-lite", "omni-10s", "nano-banana-2"])
async def test_a_jobs_own_model_is_sent(provider: UseapiProvider, upstream: Upstream,
                                        asked: GenerationRequest, path: str,
                                        fields: dict[str, Any]) -> None:
    upstream.on("POST", "/videos", CREATED)
    upstream.on("POST", "/images", httpx.Response(200, json={"media": [{"image": {
        "generatedImage": {"mediaGenerationId": IMAGE, "fifeUrl": "https://i.test/1"}}}]}))
    await provider.submit(asked)
    sent = body(upstream.sent("POST", path)[0])
    assert {key: sent[key] for key in fields} == fields


@pytest.mark.parametrize(("asked", "words"), [
    (request(JobKind.VIDEO, prompt="a", source=None, model="veo-9"), "no video model veo-9"),
    (request(JobKind.VIDEO, prompt="a", source=None, model="nano-banana-pro"),
     "nano-banana-pro is an image model, not a video model"),
    (request(JobKind.IMAGE, prompt="a", source=None, model="veo-3.1-fast"),
     "veo-3.1-fast is a video model, not an image model"),
    (request(JobKind.VIDEO, prompt="a", source=None, model="veo-3.1-quality", duration=6),
     "makes videos of 8 seconds, not 6"),
    (request(JobKind.VIDEO, prompt="a", source=None, model="omni-flash",
             aspect=Aspect.SQUARE), "landscape and portrait videos only, not 1:1"),
    (request(JobKind.VIDEO, prompt="a", source=None, model="gemini-omni-1.1-flash"),
     "no video model"),
], ids=["unknown", "image-for-video", "video-for-image", "quality-6s", "omni-square",
        "another-providers"])
async def test_a_model_that_cannot_do_the_job_is_refused(provider: UseapiProvider,
                                                         upstream: Upstream,
                                                         asked: GenerationRequest,
                                                         words: str) -> None:
    with pytest.raises(RequestRejected, match=words):
        await provider.submit(asked)
    assert upstream.requests == []


@pytest.mark.parametrize(("aspect", "video", "image"), [
    (Aspect.LANDSCAPE, "landscape", "16:9"), (Aspect.PORTRAIT, "portrait", "9:16"),
    (Aspect.SQUARE, "1:1", "1:1"), (Aspect.CLASSIC, "4:3", "4:3"),
    (Aspect.CLASSIC_PORTRAIT, "3:4", "3:4"),
])
async def test_every_aspect_has_useapis_spelling(provider: UseapiProvider, upstream: Upstream,
                                                 aspect: Aspect, video: str,
                                                 image: str) -> None:
    upstream.on("POST", "/videos", CREATED)
    upstream.on("POST", "/images", httpx.Response(200, json={"media": [{"image": {
        "generatedImage": {"mediaGenerationId": IMAGE, "fifeUrl": "https://i.test/1"}}}]}))
    await provider.submit(request(JobKind.VIDEO, prompt="a", source=None, aspect=aspect))
    await provider.submit(request(JobKind.IMAGE, prompt="a", source=None, aspect=aspect))
    assert body(upstream.sent("POST", "/videos")[0])["aspectRatio"] == video
    assert body(upstream.sent("POST", "/images")[0])["aspectRatio"] == image
    assert aspect in provider.aspects


def test_what_each_models_results_offer(provider: UseapiProvider) -> None:
    everything = {Action.AGAIN, Action.EXTEND, Action.UPSCALE_1080P, Action.UPSCALE_4K}
    assert provider.offers(JobKind.VIDEO, None) == everything
    assert provider.offers(JobKind.EXTEND, "veo-3.1-quality") == everything
    assert Action.EXTEND not in provider.offers(JobKind.VIDEO, "omni-flash")
    assert Action.UPSCALE_4K in provider.offers(JobKind.VIDEO, "omni-flash")
    assert provider.offers(JobKind.IMAGE, "nano-banana-2-lite") == {Action.AGAIN,
                                                                    Action.UPSCALE_2K}
