"""GeminiProvider on `httpx.MockTransport`: Omni through the Interactions API (body, create,
polling, download), the money rule, images through generateContent, Veo on Agent Platform, and
retired models refused before any request.

Shapes are upstream-2026.md section 2's (create `{"model", "input", "response_format",
"generation_config", "background"}`; the video a `{"type": "video"}` block of a `model_output`
step, as `data` or `uri`), not the simulator's.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from google import genai
from google.genai import types

from bot.jobs.errors import (
    AuthExpired,
    BadResponse,
    GenerationFailed,
    ModelRetired,
    RateLimited,
    RequestRejected,
    SafetyBlocked,
    UpstreamUnavailable,
)
from bot.jobs.model import Aspect, ImageRole, JobKind, Options
from bot.jobs.provider import GenerationRequest, RenderState
from bot.jobs.retry import RetryPolicy
from bot.providers.gemini import protocol
from bot.providers.gemini.media import StoredImage
from bot.providers.gemini.protocol import Delivery, VideoTask
from bot.providers.gemini.provider import GeminiProvider
from bot.redact import fingerprint

KEY = "AIzaUnit-omni-key-0123456789abcdef"
BASE = "https://gemini.test"
GOOGLE_FILE = ("https://generativelanguage.googleapis.com/v1beta/files/f123:download"
               "?alt=media")
PNG = b"\x89PNG\r\n\x1a\n" + b"picture-one"
JPEG = b"\xff\xd8\xff" + b"picture-two"
MP4 = b"\x00\x00\x00\x18ftypmp42" + b"video" * 50
Answer = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


class FakeGoogle:
    """A scripted Gemini API: each route answers its script in order (the last answer repeats);
    every request is kept."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self._routes: list[tuple[str, str, list[Answer]]] = []

    def on(self, method: str, path: str, *answers: Answer) -> None:
        self._routes.insert(0, (method, path, list(answers)))

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        for method, path, answers in self._routes:
            if request.method == method and path in request.url.path:
                answer = answers.pop(0) if len(answers) > 1 else answers[0]
                if isinstance(answer, Exception):
                    raise answer
                return answer(request) if callable(answer) else answer
        return httpx.Response(404, json=_error(404, "NOT_FOUND", "no such route"))

    def sent(self, method: str, path: str) -> list[httpx.Request]:
        return [r for r in self.requests if r.method == method and path in r.url.path]


def _error(code: int, status: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "status": status}}


def interaction(status: str, *steps: dict[str, Any], **more: Any) -> httpx.Response:
    return httpx.Response(200, json={"id": "v1_abc", "status": status, "object": "interaction",
                                     "model": "gemini-omni-1.1-flash", "steps": list(steps),
                                     **more})


def output(*content: dict[str, Any], **more: Any) -> dict[str, Any]:
    return {"type": "model_output", "content": list(content), **more}


def video_uri(uri: str = GOOGLE_FILE) -> dict[str, Any]:
    return {"type": "video", "mime_type": "video/mp4", "uri": uri}


def video_data(data: bytes = MP4) -> dict[str, Any]:
    return {"type": "video", "mime_type": "video/mp4", "data": base64.b64encode(data).decode()}


CREATED = httpx.Response(200, json={"id": "v1_abc", "status": "in_progress"})


async def _no_sleep(_: float) -> None:
    return None


@pytest.fixture
def google() -> FakeGoogle:
    return FakeGoogle()


@pytest.fixture
async def http(google: FakeGoogle) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.MockTransport(google)) as client:
        yield client


def make(http: httpx.AsyncClient, tmp_path: Path, **options: Any) -> GeminiProvider:
    settings: dict[str, Any] = {"api_key": KEY, "base_url": BASE, "timeout": 9.0,
                                "retry": RetryPolicy(attempts=3, base_delay=0.0, max_delay=0.0,
                                                     sleep=_no_sleep)}
    return GeminiProvider(media_dir=tmp_path / "gemini", http=http, **(settings | options))


def video(prompt: str = "a cat surfing", reference: str | None = None,
          options: Options | None = None, aspect: Aspect = Aspect.LANDSCAPE
          ) -> GenerationRequest:
    kind = JobKind.VIDEO if reference is None else JobKind.ANIMATE
    return GenerationRequest(kind, prompt, aspect, reference, options or Options())


def body_of(request: httpx.Request) -> Any:
    return json.loads(request.content)


# the interaction body


def test_text_to_video_body() -> None:
    body = protocol.interaction_body(model="gemini-omni-1.1-flash", prompt="a cat surfing",
                                     aspect=Aspect.LANDSCAPE, options=Options())
    assert body == {
        "model": "gemini-omni-1.1-flash", "input": "a cat surfing",
        "response_format": {"type": "video", "aspect_ratio": "16:9", "resolution": "720p",
                            "duration": "8s", "delivery": "uri"},
        "generation_config": {"video_config": {"task": "text_to_video"}},
        "background": True}


def test_one_picture_is_image_to_video_with_content_blocks() -> None:
    body = protocol.interaction_body(
        model="gemini-omni-1.2-flash", prompt="it dances", aspect=Aspect.PORTRAIT,
        options=Options(duration=5, resolution="1080p"), pictures=[StoredImage(PNG, "image/png")],
        delivery=Delivery.INLINE)
    assert body["input"] == [{"type": "text", "text": "it dances"},
                             {"type": "image", "data": base64.b64encode(PNG).decode(),
                              "mime_type": "image/png"}]
    assert body["generation_config"] == {"video_config": {"task": "image_to_video"}}
    assert body["response_format"] == {"type": "video", "aspect_ratio": "9:16",
                                       "resolution": "1080p", "duration": "5s",
                                       "delivery": "inline"}


def test_two_pictures_are_the_first_and_last_frames_in_order() -> None:
    pictures = [StoredImage(PNG, "image/png"), StoredImage(JPEG, "image/jpeg")]
    body = protocol.interaction_body(model="m", prompt="p", aspect=Aspect.LANDSCAPE,
                                     options=Options(), pictures=pictures)
    assert [block.get("mime_type") for block in body["input"]] == [None, "image/png",
                                                                   "image/jpeg"]
    assert base64.b64decode(body["input"][2]["data"]) == JPEG
    assert body["generation_config"]["video_config"]["task"] == "image_to_video"


def test_several_pictures_are_references() -> None:
    pictures = [StoredImage(PNG, "image/png")] * 3
    body = protocol.interaction_body(model="m", prompt="p", aspect=Aspect.LANDSCAPE,
                                     options=Options(), pictures=pictures)
    assert body["generation_config"]["video_config"]["task"] == "reference_to_video"
    assert len(body["input"]) == 4
    one = protocol.interaction_body(model="m", prompt="p", aspect=Aspect.LANDSCAPE,
                                    options=Options(), pictures=pictures[:1],
                                    task=VideoTask.REFERENCE_TO_VIDEO)
    assert one["generation_config"]["video_config"]["task"] == "reference_to_video"


@pytest.mark.parametrize(("count", "task"), [(3, VideoTask.IMAGE_TO_VIDEO),
                                             (1, VideoTask.TEXT_TO_VIDEO),
                                             (0, VideoTask.IMAGE_TO_VIDEO),
                                             (0, VideoTask.REFERENCE_TO_VIDEO)])
def test_a_task_that_does_not_fit_the_pictures_is_refused(count: int, task: VideoTask) -> None:
    with pytest.raises(RequestRejected, match=task.value):
        protocol.interaction_body(model="m", prompt="p", aspect=Aspect.LANDSCAPE,
                                  options=Options(), task=task,
                                  pictures=[StoredImage(PNG, "image/png")] * count)


# the create, and money


async def test_a_text_video_is_one_create_with_the_key(google: FakeGoogle,
                                                       http: httpx.AsyncClient,
                                                       tmp_path: Path) -> None:
    google.on("POST", "/v1beta/interactions", CREATED)
    gemini = make(http, tmp_path)
    task_id = await gemini.submit(video(options=Options(duration=6, resolution="4k")))
    assert task_id == "v1_abc"
    [request] = google.requests
    assert (request.method, str(request.url)) == ("POST", f"{BASE}/v1beta/interactions")
    assert request.headers["x-goog-api-key"] == KEY and "authorization" not in request.headers
    assert body_of(request) == protocol.interaction_body(
        model="gemini-omni-1.1-flash", prompt="a cat surfing", aspect=Aspect.LANDSCAPE,
        options=Options(duration=6, resolution="4k"))
    assert body_of(request)["response_format"]["duration"] == "6s"
    assert request.extensions["timeout"]["read"] == 9.0
    accepted = await gemini.accepted(task_id, JobKind.VIDEO)
    assert accepted is not None and accepted.render == [{"interaction": "v1_abc"}]


async def test_the_reference_picture_goes_along(google: FakeGoogle, http: httpx.AsyncClient,
                                                tmp_path: Path) -> None:
    google.on("POST", "/v1beta/interactions", CREATED)
    gemini = make(http, tmp_path)
    handle = await gemini.upload_image(JPEG, mime="image/jpeg")
    await gemini.submit(video("it walks", handle, aspect=Aspect.PORTRAIT))
    sent = body_of(google.requests[0])
    assert sent["input"][1] == {"type": "image", "mime_type": "image/jpeg",
                                "data": base64.b64encode(JPEG).decode()}
    assert sent["generation_config"]["video_config"]["task"] == "image_to_video"
    assert sent["response_format"]["aspect_ratio"] == "9:16"


@pytest.mark.parametrize(("role", "task"), [(ImageRole.FRAMES, "image_to_video"),
                                             (ImageRole.REFERENCES, "reference_to_video")])
async def test_an_albums_pictures_go_in_album_order_for_their_role(
        google: FakeGoogle, http: httpx.AsyncClient, tmp_path: Path, role: ImageRole,
        task: str) -> None:
    google.on("POST", "/v1beta/interactions", CREATED)
    gemini = make(http, tmp_path)
    first = await gemini.upload_image(JPEG, mime="image/jpeg")
    last = await gemini.upload_image(PNG, mime="image/png")
    await gemini.submit(GenerationRequest(JobKind.ANIMATE, "dawn to dusk", Aspect.LANDSCAPE,
                                          first, Options(), (last,), role))
    sent = body_of(google.requests[0])
    assert [block["mime_type"] for block in sent["input"][1:]] == ["image/jpeg", "image/png"]
    assert sent["generation_config"]["video_config"]["task"] == task


@pytest.mark.parametrize("answer", [
    httpx.Response(500, json=_error(500, "INTERNAL", "internal")),
    httpx.Response(502, text="Bad Gateway"),
    httpx.Response(504, json=_error(504, "DEADLINE_EXCEEDED", "deadline")),
    httpx.ReadTimeout("slow"),
    httpx.RemoteProtocolError("peer closed the connection"),
], ids=["500", "502", "504", "read-timeout", "dropped"])
async def test_an_unclear_create_is_never_sent_again(google: FakeGoogle, http: httpx.AsyncClient,
                                                     tmp_path: Path, answer: Answer) -> None:
    google.on("POST", "/v1beta/interactions", answer, CREATED)
    with pytest.raises(UpstreamUnavailable) as caught:
        await make(http, tmp_path).submit(video())
    assert caught.value.maybe_processed
    assert len(google.sent("POST", "/interactions")) == 1


@pytest.mark.parametrize("answer", [
    httpx.Response(503, json=_error(503, "UNAVAILABLE", "overloaded")),
    httpx.Response(429, json=_error(429, "RESOURCE_EXHAUSTED", "slow down"),
                   headers={"Retry-After": "0"}),
    httpx.ConnectError("refused"),
], ids=["503", "429", "connect"])
async def test_a_create_that_was_not_taken_is_tried_again(
        google: FakeGoogle, http: httpx.AsyncClient, tmp_path: Path, answer: Answer) -> None:
    google.on("POST", "/v1beta/interactions", answer, CREATED)
    assert await make(http, tmp_path).submit(video()) == "v1_abc"
    assert len(google.sent("POST", "/interactions")) == 2


async def test_retries_of_a_create_are_bounded(google: FakeGoogle, http: httpx.AsyncClient,
                                               tmp_path: Path) -> None:
    google.on("POST", "/v1beta/interactions",
              httpx.Response(429, json=_error(429, "RESOURCE_EXHAUSTED", "slow down")))
    with pytest.raises(RateLimited):
        await make(http, tmp_path).submit(video())
    assert len(google.requests) == 3


async def test_a_create_without_an_id_is_a_bad_response(google: FakeGoogle,
                                                        http: httpx.AsyncClient,
                                                        tmp_path: Path) -> None:
    google.on("POST", "/v1beta/interactions", httpx.Response(200, json={"status": "queued"}))
    with pytest.raises(BadResponse, match="'id'"):
        await make(http, tmp_path).submit(video())


async def test_omni_does_not_honour_seed_or_negative_prompt(google: FakeGoogle,
                                                            http: httpx.AsyncClient,
                                                            tmp_path: Path) -> None:
    gemini = make(http, tmp_path)
    assert gemini.supported_options == frozenset({"resolution", "duration"})
    assert gemini.image_options == frozenset({"seed"})
    for options in (Options(seed=1), Options(negative_prompt="blur")):
        with pytest.raises(RequestRejected, match="cannot honour"):
            await gemini.submit(video(options=options))
    with pytest.raises(RequestRejected, match="3 to 10 seconds, not 12"):
        await gemini.submit(video(options=Options(duration=12)))
    with pytest.raises(RequestRejected, match="not 2160p"):
        await gemini.submit(video(options=Options(resolution="2160p")))
    assert google.requests == []


# polling


@pytest.mark.parametrize("status", ["in_progress", "queued"])
async def test_working_interactions_are_active(google: FakeGoogle, http: httpx.AsyncClient,
                                               tmp_path: Path, status: str) -> None:
    google.on("GET", "/v1beta/interactions/v1_abc", interaction(status))
    [seen] = await make(http, tmp_path).check([{"interaction": "v1_abc"}])
    assert seen.state is RenderState.ACTIVE
    [request] = google.requests
    assert str(request.url) == f"{BASE}/v1beta/interactions/v1_abc"
    assert request.headers["x-goog-api-key"] == KEY


async def test_a_video_by_uri_is_downloaded_with_the_key_through_the_api_url(
        google: FakeGoogle, http: httpx.AsyncClient, tmp_path: Path) -> None:
    google.on("GET", "/interactions/v1_abc",
              interaction("completed", {"type": "user_input", "content": []},
                          {"type": "thought", "signature": "x"}, output(video_uri())))
    google.on("GET", "/v1beta/files/f123:download", httpx.Response(200, content=MP4))
    gemini = make(http, tmp_path)
    [seen] = await gemini.check([{"interaction": "v1_abc"}])
    assert (seen.state, seen.url) == (RenderState.DONE, GOOGLE_FILE)
    dest = tmp_path / "v.mp4"
    assert await gemini.download(GOOGLE_FILE, dest, max_bytes=10_000) == len(MP4)
    assert dest.read_bytes() == MP4
    download = google.requests[-1]
    assert str(download.url) == f"{BASE}/v1beta/files/f123:download?alt=media"
    assert download.headers["x-goog-api-key"] == KEY


async def test_without_an_api_url_the_file_comes_from_google(google: FakeGoogle,
                                                             http: httpx.AsyncClient,
                                                             tmp_path: Path) -> None:
    google.on("GET", "/v1beta/files/f123:download", httpx.Response(200, content=MP4))
    gemini = make(http, tmp_path, base_url=None)
    await gemini.download(GOOGLE_FILE, tmp_path / "v.mp4", max_bytes=10_000)
    assert str(google.requests[0].url) == GOOGLE_FILE


@pytest.mark.parametrize("url", ["https://elsewhere.test/v1beta/files/f1:download?alt=media",
                                 f"{BASE}/v1beta/interactions/v1_abc"])
async def test_the_key_never_goes_to_another_address(google: FakeGoogle, http: httpx.AsyncClient,
                                                     tmp_path: Path, url: str) -> None:
    with pytest.raises(BadResponse):
        await make(http, tmp_path).download(url, tmp_path / "v.mp4", max_bytes=10_000)
    assert google.requests == []


async def test_an_inline_video_is_parked_then_delivered(google: FakeGoogle,
                                                        http: httpx.AsyncClient,
                                                        tmp_path: Path) -> None:
    google.on("GET", "/interactions/v1_abc",
              interaction("completed", output({"type": "text", "text": "Here it is."},
                                              video_data())))
    gemini = make(http, tmp_path)
    [seen] = await gemini.check([{"interaction": "v1_abc"}])
    assert seen.state is RenderState.DONE and seen.url is not None
    assert seen.url.startswith("gemini-video:")
    dest = tmp_path / "v.mp4"
    assert await gemini.download(seen.url, dest, max_bytes=10_000) == len(MP4)
    assert dest.read_bytes() == MP4
    assert len(google.requests) == 1  # nothing fetched: the bytes came in the poll


async def test_inline_data_wins_over_a_uri(google: FakeGoogle, http: httpx.AsyncClient,
                                           tmp_path: Path) -> None:
    block = video_data() | {"uri": GOOGLE_FILE}
    google.on("GET", "/interactions/v1_abc", interaction("completed", output(block)))
    [seen] = await make(http, tmp_path).check([{"interaction": "v1_abc"}])
    assert seen.url is not None and seen.url.startswith("gemini-video:")


async def test_completed_without_a_video_is_a_refusal(google: FakeGoogle,
                                                      http: httpx.AsyncClient,
                                                      tmp_path: Path) -> None:
    google.on("GET", "/interactions/v1_abc", interaction(
        "completed", output({"type": "text", "text": "I can't make a video of that."})))
    [seen] = await make(http, tmp_path).check([{"interaction": "v1_abc"}])
    assert seen.state is RenderState.FAILED
    assert seen.error == ("Google's safety filters blocked the video: the answer has no video: "
                          "“I can't make a video of that.”")


@pytest.mark.parametrize(("status", "words"), [
    ("failed", "failed at Google"),
    ("cancelled", "cancelled at Google"),
    ("incomplete", "(incomplete)"),
    ("budget_exceeded", "over its budget"),
    ("requires_action", "a state the bot does not know (requires_action)"),
])
async def test_each_end_without_a_video_has_its_own_words(
        google: FakeGoogle, http: httpx.AsyncClient, tmp_path: Path, status: str,
        words: str) -> None:
    google.on("GET", "/interactions/v1_abc", interaction(status))
    [seen] = await make(http, tmp_path).check([{"interaction": "v1_abc"}])
    assert seen.state is RenderState.FAILED and seen.error is not None
    assert words in seen.error


async def test_google_s_reason_for_a_failure_is_kept(google: FakeGoogle, http: httpx.AsyncClient,
                                                    tmp_path: Path) -> None:
    google.on("GET", "/interactions/v1_abc", interaction(
        "failed", output(error={"code": 13, "message": "Video generation failed."}),
        errors=[{"code": "internal", "message": "Backend busy."}]))
    [seen] = await make(http, tmp_path).check([{"interaction": "v1_abc"}])
    assert seen.error == ("the video generation failed at Google: Backend busy.; "
                          "Video generation failed.")
    google.on("GET", "/interactions/v1_abc", interaction(
        "failed", errors=[{"message": "The prompt violates the usage guidelines."}]))
    [seen] = await make(http, tmp_path).check([{"interaction": "v1_abc"}])
    assert seen.error is not None and "safety filters" in seen.error


async def test_an_unknown_id_fails_alone(google: FakeGoogle, http: httpx.AsyncClient,
                                         tmp_path: Path) -> None:
    google.on("GET", "/interactions/v1_gone", httpx.Response(
        400, json=_error(400, "INVALID_ARGUMENT", "Interaction v1_gone not found.")))
    google.on("GET", "/interactions/v1_abc", interaction("queued"))
    statuses = await make(http, tmp_path).check([{"interaction": "v1_gone"},
                                                 {"interaction": "v1_abc"}, {}])
    assert [s.state for s in statuses] == [RenderState.FAILED, RenderState.ACTIVE,
                                           RenderState.FAILED]
    assert "v1_gone not found" in (statuses[0].error or "")


async def test_a_poll_that_lost_its_status_fails_alone(google: FakeGoogle,
                                                       http: httpx.AsyncClient,
                                                       tmp_path: Path) -> None:
    google.on("GET", "/interactions/v1_abc", httpx.Response(200, json={"id": "v1_abc"}))
    [seen] = await make(http, tmp_path).check([{"interaction": "v1_abc"}])
    assert seen.state is RenderState.FAILED and "'status'" in (seen.error or "")


@pytest.mark.parametrize(("answer", "error"), [
    (httpx.Response(401, json=_error(401, "UNAUTHENTICATED", "no")), AuthExpired),
    (httpx.Response(503, json=_error(503, "UNAVAILABLE", "down")), UpstreamUnavailable),
])
async def test_an_account_or_service_failure_fails_the_whole_poll(
        google: FakeGoogle, http: httpx.AsyncClient, tmp_path: Path, answer: httpx.Response,
        error: type[Exception]) -> None:
    google.on("GET", "/interactions/", answer)
    with pytest.raises(error):
        await make(http, tmp_path).check([{"interaction": "a"}, {"interaction": "b"}])
    assert len(google.requests) == 2  # one GET each, no retry inside the tick


# retired models


@pytest.mark.parametrize(("options", "kind"), [
    ({"video_model": "veo-3.1-fast-generate-preview"}, JobKind.VIDEO),
    ({"video_model": "gemini-omni-flash-preview"}, JobKind.VIDEO),
    ({"image_model": "gemini-2.5-flash-image"}, JobKind.IMAGE),
    ({"image_model": "imagen-4.0-generate-001"}, JobKind.IMAGE),
])
async def test_a_retired_model_fails_at_once_without_a_request(
        google: FakeGoogle, http: httpx.AsyncClient, tmp_path: Path, options: dict[str, str],
        kind: JobKind) -> None:
    gemini = make(http, tmp_path, **options)
    with pytest.raises(ModelRetired) as caught:
        await gemini.submit(GenerationRequest(kind, "a dog", Aspect.LANDSCAPE))
    assert google.requests == []
    error = caught.value
    assert error.model == next(iter(options.values())) and error.retired_on
    assert error.variable in ("GEMINI_VIDEO_MODEL", "GEMINI_IMAGE_MODEL")


async def test_google_s_no_longer_available_is_a_retirement(google: FakeGoogle,
                                                            http: httpx.AsyncClient,
                                                            tmp_path: Path) -> None:
    google.on("POST", "/v1beta/interactions", httpx.Response(404, json=_error(
        404, "NOT_FOUND", "models/gemini-omni-0.9-flash is no longer available.")))
    with pytest.raises(ModelRetired) as caught:
        await make(http, tmp_path, video_model="gemini-omni-0.9-flash").submit(video())
    error = caught.value
    assert (error.model, error.replacement, error.retired_on) == (
        "gemini-omni-0.9-flash", "gemini-omni-1.1-flash", None)
    assert len(google.requests) == 1


async def test_veo_is_not_called_on_the_developer_api(google: FakeGoogle,
                                                      http: httpx.AsyncClient,
                                                      tmp_path: Path) -> None:
    advice = re.escape("GEMINI_VIDEO_MODEL=gemini-omni-1.1-flash")
    for model in ("veo-3.1-fast-generate-001", "veo-4.0-generate-001"):
        with pytest.raises(RequestRejected, match=advice):
            await make(http, tmp_path, video_model=model).submit(video())
    assert google.requests == []


# images


def image_answer(*parts: dict[str, Any], **more: Any) -> httpx.Response:
    candidate = {"content": {"role": "model", "parts": list(parts)}, "finishReason": "STOP"}
    return httpx.Response(200, json={"candidates": [candidate], **more})


async def test_an_image_is_one_generate_content(google: FakeGoogle, http: httpx.AsyncClient,
                                                tmp_path: Path) -> None:
    google.on("POST", ":generateContent", image_answer(
        {"text": "Here you go."},
        {"inlineData": {"mimeType": "image/png", "data": base64.b64encode(PNG).decode()}}))
    gemini = make(http, tmp_path)
    handle = await gemini.submit(GenerationRequest(JobKind.IMAGE, "a red fox", Aspect.PORTRAIT,
                                                   options=Options(seed=7)))
    [request] = google.requests
    assert str(request.url) == f"{BASE}/v1beta/models/gemini-3.1-flash-image:generateContent"
    assert request.headers["x-goog-api-key"] == KEY
    sent = body_of(request)
    assert sent["contents"][0]["parts"] == [{"text": "a red fox"}]
    assert sent["generationConfig"] == {"responseModalities": ["IMAGE"], "seed": 7,
                                        "imageConfig": {"aspectRatio": "9:16"}}
    accepted = await gemini.accepted(handle, JobKind.IMAGE)
    assert accepted is not None and accepted.image_bytes == PNG and accepted.media_id == handle


@pytest.mark.parametrize("model", ["gemini-3-pro-image", "gemini-3.1-flash-lite-image"])
async def test_other_image_models_are_selectable(google: FakeGoogle, http: httpx.AsyncClient,
                                                 tmp_path: Path, model: str) -> None:
    google.on("POST", ":generateContent", image_answer(
        {"inlineData": {"mimeType": "image/png", "data": base64.b64encode(PNG).decode()}}))
    await make(http, tmp_path, image_model=model).submit(
        GenerationRequest(JobKind.IMAGE, "a fox", Aspect.LANDSCAPE))
    assert google.requests[0].url.path == f"/v1beta/models/{model}:generateContent"


async def test_image_refusals(google: FakeGoogle, http: httpx.AsyncClient,
                              tmp_path: Path) -> None:
    gemini = make(http, tmp_path)
    request = GenerationRequest(JobKind.IMAGE, "a fox", Aspect.LANDSCAPE)
    google.on("POST", ":generateContent", httpx.Response(200, json={
        "promptFeedback": {"blockReason": "PROHIBITED_CONTENT"}}))
    with pytest.raises(SafetyBlocked, match="PROHIBITED_CONTENT"):
        await gemini.submit(request)
    google.on("POST", ":generateContent", image_answer({"text": "No."}))
    with pytest.raises(GenerationFailed, match="without an image"):
        await gemini.submit(request)


@pytest.mark.parametrize("status", [500, 504])
async def test_the_sdk_does_not_retry_an_image_behind_our_back(
        google: FakeGoogle, http: httpx.AsyncClient, tmp_path: Path, status: int) -> None:
    google.on("POST", ":generateContent", httpx.Response(status, json=_error(
        status, "INTERNAL", "internal")))
    with pytest.raises(UpstreamUnavailable) as caught:
        await make(http, tmp_path).submit(GenerationRequest(JobKind.IMAGE, "a fox",
                                                            Aspect.LANDSCAPE))
    assert caught.value.maybe_processed and len(google.requests) == 1


async def test_an_overloaded_image_model_is_retried_by_us(google: FakeGoogle,
                                                          http: httpx.AsyncClient,
                                                          tmp_path: Path) -> None:
    google.on("POST", ":generateContent", httpx.Response(503, json=_error(
        503, "UNAVAILABLE", "overloaded")))
    with pytest.raises(UpstreamUnavailable):
        await make(http, tmp_path).submit(GenerationRequest(JobKind.IMAGE, "a fox",
                                                            Aspect.LANDSCAPE))
    assert len(google.requests) == 3  # our RetryPolicy(attempts=3), each one SDK attempt


# Agent Platform


async def test_agent_platform_defaults_to_veo_with_its_options(google: FakeGoogle,
                                                               http: httpx.AsyncClient,
                                                               tmp_path: Path) -> None:
    name = ("projects/p/locations/us-central1/publishers/google/models/"
            "veo-3.1-fast-generate-001/operations/op1")
    google.on("POST", ":predictLongRunning", httpx.Response(200, json={"name": name}))
    gemini = make(http, tmp_path, vertex=True)
    assert gemini.supported_options == frozenset({"negative_prompt", "seed", "resolution",
                                                  "duration"})
    handle = await gemini.upload_image(PNG, mime="image/png")
    options = Options(negative_prompt="blur", seed=3, resolution="1080p", duration=6)
    assert await gemini.submit(video("it runs", handle, options)) == name
    [request] = google.requests
    assert request.url.path == ("/v1beta1/publishers/google/models/"
                                "veo-3.1-fast-generate-001:predictLongRunning")
    sent = body_of(request)
    assert sent["instances"] == [{"prompt": "it runs", "image": {
        "bytesBase64Encoded": base64.b64encode(PNG).decode(), "mimeType": "image/png"}}]
    assert sent["parameters"] == {"sampleCount": 1, "aspectRatio": "16:9",
                                  "negativePrompt": "blur", "seed": 3, "resolution": "1080p",
                                  "durationSeconds": 6, "generateAudio": True}
    accepted = await gemini.accepted(name, JobKind.VIDEO)
    assert accepted is not None and accepted.render == [{"name": name}]
    with pytest.raises(RequestRejected, match="4, 6, 8 seconds, not 5"):
        await gemini.submit(video(options=Options(duration=5)))
    assert len(google.requests) == 1


async def test_veo_request_maps_frames_and_references(google: FakeGoogle,
                                                      http: httpx.AsyncClient) -> None:
    """The SDK's Agent Platform body for two frames and for references."""
    google.on("POST", ":predictLongRunning", httpx.Response(200, json={"name": "x/operations/1"}))
    client = genai.Client(vertexai=True, api_key=KEY, http_options=types.HttpOptions(
        base_url=BASE, httpx_async_client=http))
    frames = [StoredImage(PNG, "image/png"), StoredImage(JPEG, "image/jpeg")]
    for pictures in (frames, frames[:1] * 3):
        source, config = protocol.veo_request("p", Aspect.PORTRAIT, Options(), pictures)
        await client.aio.models.generate_videos(model="veo-3.1-generate-001", source=source,
                                                config=config)
    two, references = (body_of(r)["instances"][0] for r in google.requests)
    encoded = {"bytesBase64Encoded": base64.b64encode(PNG).decode(), "mimeType": "image/png"}
    assert two["image"] == encoded
    assert two["lastFrame"] == {"bytesBase64Encoded": base64.b64encode(JPEG).decode(),
                                "mimeType": "image/jpeg"}
    assert "image" not in references
    assert references["referenceImages"] == [{"image": encoded, "referenceType": "ASSET"}] * 3


async def test_omni_on_agent_platform_with_an_express_key(google: FakeGoogle,
                                                          http: httpx.AsyncClient,
                                                          tmp_path: Path) -> None:
    google.on("POST", "/interactions", CREATED)
    google.on("GET", "/interactions/v1_abc", interaction("completed", output(video_data())))
    gemini = make(http, tmp_path, vertex=True, video_model="gemini-omni-1.2-flash")
    assert gemini.supported_options == frozenset({"resolution", "duration"})
    await gemini.submit(video())
    create = google.requests[0]
    assert str(create.url) == f"{BASE}/v1beta1/interactions"
    assert create.headers["x-goog-api-key"] == KEY
    assert body_of(create)["response_format"]["delivery"] == "inline"
    [seen] = await gemini.check([{"interaction": "v1_abc"}])
    assert seen.url is not None and seen.url.startswith("gemini-video:")
    assert str(google.requests[1].url) == f"{BASE}/v1beta1/interactions/v1_abc"


async def test_omni_on_agent_platform_with_a_project_uses_a_bearer(
        google: FakeGoogle, http: httpx.AsyncClient, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    google.on("POST", "/interactions", CREATED)
    gemini = make(http, tmp_path, api_key=None, vertex=True, project="proj",
                  location="us-central1", video_model="gemini-omni-1.1-flash")

    async def token() -> str:
        return "ya29.unit-test-token"

    assert gemini._client is not None
    monkeypatch.setattr(gemini._client._api_client, "_async_access_token", token)
    await gemini.submit(video())
    [create] = google.requests
    assert str(create.url) == (f"{BASE}/v1beta1/projects/proj/locations/us-central1/"
                               "interactions")
    assert create.headers["authorization"] == "Bearer ya29.unit-test-token"
    assert "x-goog-api-key" not in create.headers


# keys


async def test_a_refused_key_is_named_by_its_fingerprint(google: FakeGoogle,
                                                         http: httpx.AsyncClient,
                                                         tmp_path: Path) -> None:
    google.on("POST", "/v1beta/interactions", httpx.Response(400, json={"error": {
        "code": 400, "status": "INVALID_ARGUMENT", "message": "API key not valid.",
        "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo",
                     "reason": "API_KEY_INVALID"}]}}))
    with pytest.raises(AuthExpired, match="GEMINI_API_KEY") as caught:
        await make(http, tmp_path).submit(video())
    assert caught.value.credential == fingerprint(KEY) and KEY not in str(caught.value)
    assert len(google.requests) == 1


async def test_without_a_key_nothing_is_sent(google: FakeGoogle, http: httpx.AsyncClient,
                                             tmp_path: Path) -> None:
    gemini = make(http, tmp_path, api_key=None)
    with pytest.raises(AuthExpired, match="GEMINI_API_KEY"):
        await gemini.submit(video())
    with pytest.raises(AuthExpired, match="GEMINI_API_KEY"):
        await gemini.check([{"interaction": "v1_abc"}])
    assert google.requests == []
