"""GeminiProvider on `httpx.MockTransport`: extend and upscale of Omni videos, the result's
`media_id`, Google's "source gone" answers as `SourceExpired`, the money rule for these creates,
and a job's own model.

Shapes are the documented ones (Agent Platform's "Extend videos" / "Upscale videos": the create
with `generation_config.video_config.task` and the source as `previous_interaction_id`), not the
simulator's.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from bot.jobs.errors import (
    ModelRetired,
    RequestRejected,
    SourceExpired,
    UpstreamError,
    UpstreamUnavailable,
)
from bot.jobs.model import Action, Aspect, JobKind, Options
from bot.jobs.provider import GenerationRequest, RenderState
from bot.providers import catalog
from bot.providers.gemini import protocol
from tests.test_gemini_omni import (
    BASE,
    CREATED,
    MP4,
    PNG,
    Answer,
    FakeGoogle,
    _error,
    body_of,
    image_answer,
    interaction,
    make,
    output,
    video,
    video_data,
    video_uri,
)

SOURCE = "gemini-interaction:v1_source"
OMNI_12 = "gemini-omni-1.2-flash"


@pytest.fixture
def google() -> FakeGoogle:
    return FakeGoogle()


@pytest.fixture
async def http(google: FakeGoogle) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.MockTransport(google)) as client:
        yield client


def extend(prompt: str = "it jumps into the sea", options: Options | None = None,
           model: str | None = None, source: str | None = SOURCE) -> GenerationRequest:
    return GenerationRequest(JobKind.EXTEND, prompt, Aspect.LANDSCAPE, source,
                             options or Options(), model=model)


def upscale(resolution: str | None = "4k", model: str | None = OMNI_12,
            source: str | None = SOURCE) -> GenerationRequest:
    return GenerationRequest(JobKind.UPSCALE, "a cat surfing", Aspect.LANDSCAPE, source,
                             Options(resolution=resolution), model=model)


# the bodies


async def test_an_extend_is_one_create_continuing_the_source(
        google: FakeGoogle, http: httpx.AsyncClient, tmp_path: Path) -> None:
    google.on("POST", "/v1beta/interactions", CREATED)
    gemini = make(http, tmp_path)
    assert await gemini.submit(extend(options=Options(duration=6))) == "v1_abc"
    [request] = google.requests
    assert str(request.url) == f"{BASE}/v1beta/interactions"
    assert body_of(request) == {
        "model": "gemini-omni-1.1-flash", "input": "it jumps into the sea",
        "previous_interaction_id": "v1_source",
        "response_format": {"type": "video", "delivery": "uri", "duration": "6s"},
        "generation_config": {"video_config": {"task": "extend"}}, "background": True}
    accepted = await gemini.accepted("v1_abc", JobKind.EXTEND)
    assert accepted is not None and accepted.render == [{"interaction": "v1_abc"}]


async def test_an_upscale_names_its_target_on_the_model_of_the_job(
        google: FakeGoogle, http: httpx.AsyncClient, tmp_path: Path) -> None:
    google.on("POST", "/v1beta/interactions", CREATED)
    await make(http, tmp_path).submit(upscale("1080p"))
    assert body_of(google.requests[0]) == {
        "model": OMNI_12, "input": "Upscale the video to 1080p.",
        "previous_interaction_id": "v1_source",
        "response_format": {"type": "video", "delivery": "uri", "resolution": "1080p"},
        "generation_config": {"video_config": {"task": "upscale"}}, "background": True}


def test_follow_up_bodies_refuse_what_google_would() -> None:
    with pytest.raises(RequestRejected, match="target resolution"):
        protocol.follow_up_body(model=OMNI_12, task=protocol.VideoTask.UPSCALE,
                                interaction="v1_x", prompt="", options=Options())
    with pytest.raises(RequestRejected, match="earlier video"):
        protocol.follow_up_body(model=OMNI_12, task=protocol.VideoTask.TEXT_TO_VIDEO,
                                interaction="v1_x", prompt="", options=Options())
    body = protocol.follow_up_body(model=OMNI_12, task=protocol.VideoTask.EXTEND,
                                   interaction="v1_x", prompt=" ",
                                   options=Options(resolution="1080P"),
                                   delivery=protocol.Delivery.INLINE)
    assert body["input"] == "Continue the video."
    assert body["response_format"] == {"type": "video", "delivery": "inline", "duration": "8s",
                                       "resolution": "1080p"}


@pytest.mark.parametrize(("request_", "words"), [
    (upscale(model=None), "does not upscale videos; gemini-omni-1.2-flash does"),
    (upscale(None), "target resolution"),
    (upscale("360p"), "target resolution"),
    (upscale(source="gemini-image:" + "0" * 64 + ".png"), "not made with Gemini Omni"),
    (extend(source=None), "not made with Gemini Omni"),
    (extend(options=Options(duration=12)), "3 to 10 seconds, not 12"),
    (extend(options=Options(seed=3)), "cannot honour seed"),
    (GenerationRequest(JobKind.IMAGE_UPSCALE, "x", Aspect.LANDSCAPE, "gemini-image:x",
                       Options(resolution="2k")), "no upscale"),
], ids=["upscale-on-1.1", "no-target", "360p-target", "an-image", "no-source", "too-long",
        "seed", "image-upscale"])
async def test_a_follow_up_google_would_refuse_is_never_sent(
        google: FakeGoogle, http: httpx.AsyncClient, tmp_path: Path,
        request_: GenerationRequest, words: str) -> None:
    with pytest.raises(RequestRejected, match=words):
        await make(http, tmp_path).submit(request_)
    assert google.requests == []


# the result's handle


@pytest.mark.parametrize("answer", [
    interaction("completed", output(video_uri())),
    interaction("completed", output(video_data())),
], ids=["uri", "inline"])
async def test_a_finished_omni_video_names_its_interaction(
        google: FakeGoogle, http: httpx.AsyncClient, tmp_path: Path, answer: Answer) -> None:
    google.on("GET", "/v1beta/interactions/v1_abc", answer)
    [status] = await make(http, tmp_path).check([{"interaction": "v1_abc"}])
    assert status.state is RenderState.DONE and status.url
    assert status.media_id == "gemini-interaction:v1_abc"
    assert protocol.interaction_of(status.media_id) == "v1_abc"


async def test_an_unfinished_or_failed_render_has_no_handle(
        google: FakeGoogle, http: httpx.AsyncClient, tmp_path: Path) -> None:
    google.on("GET", "/v1beta/interactions/v1_run", interaction("in_progress"))
    google.on("GET", "/v1beta/interactions/v1_bad", interaction("failed"))
    statuses = await make(http, tmp_path).check([{"interaction": "v1_run"},
                                                 {"interaction": "v1_bad"}])
    assert [(s.state, s.media_id) for s in statuses] == [(RenderState.ACTIVE, None),
                                                         (RenderState.FAILED, None)]


# the source gone, and money


@pytest.mark.parametrize(("answer", "error"), [
    (httpx.Response(404, json=_error(404, "NOT_FOUND", "The video of interaction v1_source "
                                     "has expired: generated videos are kept for 48 hours.")),
     SourceExpired),
    (httpx.Response(404, json=_error(404, "NOT_FOUND", "File files/abc123 not found.")),
     SourceExpired),
    (httpx.Response(400, json=_error(400, "INVALID_ARGUMENT", "previous_interaction_id: "
                                     "interaction 'v1_source' not found")), SourceExpired),
    (httpx.Response(400, json=_error(400, "INVALID_ARGUMENT", "previous_interaction_id: "
                                     "interaction v1_source has no video to extend")),
     RequestRejected),
    (httpx.Response(404, json=_error(404, "NOT_FOUND", "models/gemini-omni-1.1-flash is not "
                                     "found for API version v1beta")), RequestRejected),
    (httpx.Response(404, json=_error(404, "NOT_FOUND", "This model models/gemini-omni-1.1-flash "
                                     "is no longer available.")), ModelRetired),
], ids=["expired", "file-gone", "unknown-id", "no-video", "model-404", "model-retired"])
async def test_a_source_google_no_longer_keeps_is_source_expired(
        google: FakeGoogle, http: httpx.AsyncClient, tmp_path: Path, answer: Answer,
        error: type[UpstreamError]) -> None:
    google.on("POST", "/v1beta/interactions", answer)
    with pytest.raises(UpstreamError) as caught:
        await make(http, tmp_path).submit(extend())
    assert type(caught.value) is error
    assert len(google.sent("POST", "/interactions")) == 1
    if error is SourceExpired:
        assert caught.value.code == "source_expired" and "48 hours" in str(caught.value)


@pytest.mark.parametrize("answer", [
    httpx.Response(500, json=_error(500, "INTERNAL", "internal")),
    httpx.Response(504, json=_error(504, "DEADLINE_EXCEEDED", "deadline")),
    httpx.ReadTimeout("slow"),
    httpx.RemoteProtocolError("peer closed the connection"),
], ids=["500", "504", "read-timeout", "dropped"])
@pytest.mark.parametrize("follow_up", [extend(), upscale()], ids=["extend", "upscale"])
async def test_an_unclear_follow_up_is_never_sent_again(
        google: FakeGoogle, http: httpx.AsyncClient, tmp_path: Path, answer: Answer,
        follow_up: GenerationRequest) -> None:
    google.on("POST", "/v1beta/interactions", answer, CREATED)
    with pytest.raises(UpstreamUnavailable) as caught:
        await make(http, tmp_path).submit(follow_up)
    assert caught.value.maybe_processed
    assert len(google.sent("POST", "/interactions")) == 1


# a job's own model


async def test_a_job_s_own_omni_model_goes_in_the_body(
        google: FakeGoogle, http: httpx.AsyncClient, tmp_path: Path) -> None:
    google.on("POST", "/v1beta/interactions", CREATED)
    gemini = make(http, tmp_path)
    request = video(options=Options(duration=12))
    await gemini.submit(GenerationRequest(request.kind, request.prompt, request.aspect,
                                          options=request.options, model=f"models/{OMNI_12}"))
    sent = body_of(google.requests[0])
    assert sent["model"] == OMNI_12 and sent["response_format"]["duration"] == "12s"
    assert gemini.video_model == "gemini-omni-1.1-flash"  # the configured one is unchanged


async def test_a_job_s_own_image_model_is_called(google: FakeGoogle, http: httpx.AsyncClient,
                                                 tmp_path: Path) -> None:
    google.on("POST", ":generateContent", image_answer(
        {"inlineData": {"mimeType": "image/png", "data": base64.b64encode(PNG).decode()}}))
    await make(http, tmp_path).submit(GenerationRequest(
        JobKind.IMAGE, "a fox", Aspect.LANDSCAPE, model="gemini-3-pro-image"))
    assert google.requests[0].url.path == "/v1beta/models/gemini-3-pro-image:generateContent"


@pytest.mark.parametrize(("model", "kind", "error", "words"), [
    ("gemini-omni-9-flash", JobKind.VIDEO, RequestRejected, "not one the Gemini provider knows"),
    ("veo-3.1-fast", JobKind.VIDEO, RequestRejected, "not one the Gemini provider knows"),
    ("gemini-3-pro-image", JobKind.VIDEO, RequestRejected, "makes images, not videos"),
    (OMNI_12, JobKind.IMAGE, RequestRejected, "makes videos, not images"),
    ("gemini-omni-flash-preview", JobKind.VIDEO, ModelRetired, "retired by Google"),
    ("imagen-4.0-generate-001", JobKind.IMAGE, ModelRetired, "retired by Google"),
    ("veo-3.1-fast-generate-001", JobKind.VIDEO, RequestRejected,
     "not served on the Gemini Developer API"),
], ids=["unknown", "useapi-name", "image-as-video", "video-as-image", "retired-omni",
        "retired-imagen", "veo-on-developer"])
async def test_a_job_s_model_that_cannot_run_here_is_refused_before_sending(
        google: FakeGoogle, http: httpx.AsyncClient, tmp_path: Path, model: str,
        kind: JobKind, error: type[UpstreamError], words: str) -> None:
    with pytest.raises(error, match=words):
        await make(http, tmp_path).submit(GenerationRequest(kind, "x", Aspect.LANDSCAPE,
                                                            model=model))
    assert google.requests == []


async def test_veo_picked_on_agent_platform_cannot_extend(
        google: FakeGoogle, http: httpx.AsyncClient, tmp_path: Path) -> None:
    gemini = make(http, tmp_path, vertex=True, project=None, location=None)
    with pytest.raises(RequestRejected, match="cannot extend a video here; Gemini Omni can"):
        await gemini.submit(extend(model="veo-3.1-generate-001"))
    assert google.requests == []


# what the catalog offers


def test_omni_offers_extend_and_only_1_2_upscales(google: FakeGoogle, http: httpx.AsyncClient,
                                                  tmp_path: Path) -> None:
    gemini = make(http, tmp_path)
    assert gemini.offers(JobKind.VIDEO, None) == {Action.AGAIN, Action.EXTEND}
    assert gemini.offers(JobKind.EXTEND, OMNI_12) == {Action.AGAIN, Action.EXTEND,
                                                      Action.UPSCALE_1080P, Action.UPSCALE_4K}
    assert gemini.offers(JobKind.VIDEO, "veo-3.1-fast-generate-001") == {Action.AGAIN}
    assert gemini.offers(JobKind.IMAGE, None) == {Action.AGAIN}
    omni = catalog.lookup("gemini", "gemini-omni-1.1-flash")
    assert omni is not None and omni.cost == catalog.Cost(price="about $0.10 per second at 720p")
    four_k = catalog.action_cost("gemini", OMNI_12, Action.UPSCALE_4K)
    assert four_k is not None and "11,584" in (four_k.price or "")
    assert catalog.costly("gemini", OMNI_12, Action.UPSCALE_4K)


async def test_an_inline_follow_up_result_is_parked_with_its_handle(
        google: FakeGoogle, http: httpx.AsyncClient, tmp_path: Path) -> None:
    google.on("POST", "/v1beta/interactions", CREATED)
    google.on("GET", "/v1beta/interactions/v1_abc", interaction("completed",
                                                                 output(video_data(MP4))))
    gemini = make(http, tmp_path)
    task_id = await gemini.submit(upscale())
    [status] = await gemini.check([{"interaction": task_id}])
    assert status.media_id == "gemini-interaction:v1_abc" and status.url
    size = await gemini.download(status.url, tmp_path / "out.mp4", max_bytes=10**6)
    assert size == len(MP4)
