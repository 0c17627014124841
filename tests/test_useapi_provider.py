"""UseapiProvider on `httpx.MockTransport`: the bodies it sends for each kind of job, the account
it names, what it refuses before sending, and how a tick of job polls is read."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from bot.jobs.errors import (
    AccountDisconnected,
    AuthExpired,
    BadResponse,
    ErrorCode,
    GenerationFailed,
    RequestRejected,
    ResultLost,
    SafetyBlocked,
    UpstreamUnavailable,
)
from bot.jobs.model import Aspect, ImageRole, JobKind, Options
from bot.jobs.provider import GenerationRequest, RenderState
from bot.jobs.retry import RetryPolicy
from bot.providers.useapi import protocol
from bot.providers.useapi.client import UseapiClient
from bot.providers.useapi.errors import from_status
from bot.providers.useapi.provider import UseapiProvider

API = "https://api.useapi.test/v1/google-flow"
TOKEN = "user:4242-unit-useapi-token-0123456789"
EMAIL = "flow@example.com"
JOBID = "j1731859234567v-u12345-email:flow@example.com-bot:google-flow"
Handler = Callable[[httpx.Request], Awaitable[httpx.Response]]


@dataclass
class Upstream:
    """Routes by (method, decoded path); answers are queued, or computed by a function."""

    routes: dict[tuple[str, str], list[httpx.Response]] = field(default_factory=dict)
    requests: list[httpx.Request] = field(default_factory=list)
    in_flight: int = 0
    most_in_flight: int = 0
    delay: float = 0.0

    def on(self, method: str, path: str, *answers: httpx.Response) -> None:
        self.routes.setdefault((method, path), []).extend(answers)

    def sent(self, method: str, path: str) -> list[httpx.Request]:
        return [r for r in self.requests if (r.method, _path(r)) == (method, path)]

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            await asyncio.sleep(self.delay)
        finally:
            self.in_flight -= 1
        queued = self.routes.get((request.method, _path(request)))
        if not queued:
            return httpx.Response(404, json={"error": f"unexpected {request.method} "
                                                      f"{_path(request)}"})
        return queued.pop(0) if len(queued) > 1 else queued[0]


def _path(request: httpx.Request) -> str:
    return request.url.path.removeprefix("/v1/google-flow")


def body(request: httpx.Request) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(request.content)
    return loaded


@pytest.fixture
async def upstream() -> Upstream:
    return Upstream()


@pytest.fixture
async def http(upstream: Upstream) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.MockTransport(upstream)) as client:
        yield client


Make = Callable[..., UseapiProvider]


@pytest.fixture
def make(http: httpx.AsyncClient) -> Make:
    def build(*, email: str | None = EMAIL, video_model: str = "veo-3.1-fast",
              image_model: str = "nano-banana-pro", poll_concurrency: int = 8) -> UseapiProvider:
        policy = RetryPolicy(attempts=2, base_delay=0.0, max_delay=0.0, sleep=_no_sleep)
        client = UseapiClient(http=http, base_url=API, token=TOKEN, retry=policy)
        return UseapiProvider(client=client, email=email, image_model=image_model,
                              video_model=video_model, poll_concurrency=poll_concurrency)
    return build


async def _no_sleep(seconds: float) -> None:
    return None


def video(prompt: str = "a dog", *, kind: JobKind = JobKind.VIDEO, media: tuple[str, ...] = (),
          role: ImageRole = ImageRole.FRAMES, aspect: Aspect = Aspect.LANDSCAPE,
          **options: Any) -> GenerationRequest:
    first = media[0] if media else None
    return GenerationRequest(kind, prompt, aspect, first, Options(**options), media[1:], role)


def job(status: str, **fields: Any) -> httpx.Response:
    return httpx.Response(200, json={"jobid": JOBID, "type": "video", "status": status,
                                     **fields})


def generated(**image: Any) -> dict[str, Any]:
    return {"media": [{"name": "n", "image": {"generatedImage": {
        "mediaGenerationId": "user:1-email:flow@example.com-image:abc", **image}}}]}


CREATED = httpx.Response(201, json={"jobid": JOBID, "status": "created"})


# videos


async def test_text_to_video_with_options_names_the_account(make: Make,
                                                            upstream: Upstream) -> None:
    upstream.on("POST", "/videos", CREATED)
    provider = make()
    task = await provider.submit(video("a dog surfing", aspect=Aspect.PORTRAIT, duration=6,
                                       seed=42))
    assert task == JOBID
    assert body(upstream.sent("POST", "/videos")[0]) == {
        "prompt": "a dog surfing", "model": "veo-3.1-fast", "aspectRatio": "portrait",
        "count": 1, "async": True, "duration": 6, "seed": 42, "email": EMAIL}
    accepted = await provider.accepted(task, JobKind.VIDEO)
    assert accepted is not None and accepted.render == [{"jobid": JOBID}]
    assert len(upstream.requests) == 1  # accepting a job asks nothing more


async def test_without_an_email_useapi_picks_the_account(make: Make,
                                                         upstream: Upstream) -> None:
    upstream.on("POST", "/videos", CREATED)
    await make(email=None).submit(video())
    assert "email" not in body(upstream.sent("POST", "/videos")[0])


@pytest.mark.parametrize(("media", "role", "expected"), [
    (("a",), ImageRole.FRAMES, {"startImage": "a"}),
    (("a", "b"), ImageRole.FRAMES, {"startImage": "a", "endImage": "b"}),
    (("a", "b", "c"), ImageRole.REFERENCES,
     {"referenceImage_1": "a", "referenceImage_2": "b", "referenceImage_3": "c"}),
])
async def test_pictures_are_frames_or_references(make: Make, upstream: Upstream,
                                                 media: tuple[str, ...], role: ImageRole,
                                                 expected: dict[str, str]) -> None:
    upstream.on("POST", "/videos", CREATED)
    await make().submit(video(kind=JobKind.ANIMATE, media=media, role=role))
    sent = body(upstream.sent("POST", "/videos")[0])
    assert {k: v for k, v in sent.items() if "Image" in k} == expected


@pytest.mark.parametrize(("model", "request_", "words"), [
    ("veo-3.1-fast", video(media=("a", "b", "c", "d"), role=ImageRole.REFERENCES),
     "at most 3 reference pictures"),
    ("omni-flash", video(media=tuple("abcdefgh"), role=ImageRole.REFERENCES),
     "at most 7 reference pictures"),
    ("veo-3.1-fast", video(media=("a", "b", "c")), "one first and one last frame"),
    ("omni-flash", video(media=("a", "b")), "first frame only"),
    ("veo-3.1-quality", video(duration=4), "makes videos of 8 seconds, not 4"),
    ("veo-3.1-fast", video(duration=5), "makes videos of 4, 6, 8 seconds, not 5"),
    ("veo-3.1-fast", video(resolution="1080p"), "cannot honour resolution"),
    ("veo-3.1-fast", video(kind=JobKind.ANIMATE), "needs a picture"),
], ids=["veo-refs", "omni-refs", "three-frames", "omni-end-frame", "quality-4s", "odd-duration",
        "resolution", "animate-nothing"])
async def test_what_the_docs_do_not_allow_is_refused_before_sending(
        make: Make, upstream: Upstream, model: str, request_: GenerationRequest,
        words: str) -> None:
    with pytest.raises(RequestRejected, match=words):
        await make(video_model=model).submit(request_)
    assert upstream.requests == []


# images


async def test_an_image_from_a_signed_link(make: Make, upstream: Upstream) -> None:
    url = "https://lh3.test/image.png?Expires=1&Signature=x"
    upstream.on("POST", "/images", httpx.Response(200, json={
        "jobid": "j1i-u1-email:flow@example.com-bot:google-flow", **generated(fifeUrl=url)}))
    provider = make()
    task = await provider.submit(GenerationRequest(JobKind.IMAGE, "a cat", Aspect.PORTRAIT,
                                                   options=Options(seed=3)))
    assert body(upstream.sent("POST", "/images")[0]) == {
        "prompt": "a cat", "model": "nano-banana-pro", "aspectRatio": "9:16", "count": 1,
        "seed": 3, "email": EMAIL}
    accepted = await provider.accepted(task, JobKind.IMAGE)
    assert accepted is not None and accepted.image_url == url and accepted.image_bytes is None
    assert accepted.media_id == "user:1-email:flow@example.com-image:abc"
    assert len(upstream.requests) == 1


async def test_an_inline_image_without_a_job(make: Make, upstream: Upstream) -> None:
    upstream.on("POST", "/images", httpx.Response(200, json=generated(
        encodedImage=base64.b64encode(b"\x89PNG picture").decode())))
    provider = make()
    task = await provider.submit(GenerationRequest(JobKind.IMAGE, "a cat", Aspect.LANDSCAPE))
    assert task == "image:user:1-email:flow@example.com-image:abc"
    accepted = await provider.accepted(task, JobKind.IMAGE)
    assert accepted is not None and accepted.image_bytes == b"\x89PNG picture"
    with pytest.raises(ResultLost):  # after a restart nothing is kept in memory
        await make().accepted(task, JobKind.IMAGE)


async def test_an_image_whose_wait_ran_out_is_read_from_its_job(make: Make,
                                                                upstream: Upstream) -> None:
    image_job = "j2i-u1-email:flow@example.com-bot:google-flow"
    upstream.on("POST", "/images", httpx.Response(408, json={"error": "Timed out",
                                                              "jobid": image_job}))
    upstream.on("GET", f"/jobs/{image_job}",
                httpx.Response(200, json={"jobid": image_job, "status": "started"}),
                httpx.Response(200, json={"jobid": image_job, "status": "completed",
                                          "response": generated(fifeUrl="https://x.test/i")}))
    provider = make()
    task = await provider.submit(GenerationRequest(JobKind.IMAGE, "a cat", Aspect.LANDSCAPE))
    assert task == image_job and len(upstream.sent("POST", "/images")) == 1
    assert await provider.accepted(task, JobKind.IMAGE) is None
    accepted = await provider.accepted(task, JobKind.IMAGE)
    assert accepted is not None and accepted.image_url == "https://x.test/i"


async def test_a_refused_image_prompt_is_a_safety_block(make: Make, upstream: Upstream) -> None:
    upstream.on("POST", "/images", httpx.Response(400, json={
        "error": "Google refused the prompt: content moderation (PUBLIC_ERROR_UNSAFE_GENERATION)"}))
    with pytest.raises(SafetyBlocked):
        await make().submit(GenerationRequest(JobKind.IMAGE, "x", Aspect.LANDSCAPE))


# uploads and accounts


async def test_an_upload_names_the_configured_account(make: Make, upstream: Upstream) -> None:
    upstream.on("POST", f"/assets/{EMAIL}", httpx.Response(
        200, json={"mediaGenerationId": {"mediaGenerationId": "m1"}}))
    assert await make().upload_image(b"RIFF\x00\x00\x00\x00WEBP", mime="image/webp") == "m1"
    sent = upstream.sent("POST", f"/assets/{EMAIL}")[0]
    assert sent.headers["content-type"] == "image/webp"
    assert sent.content == b"RIFF\x00\x00\x00\x00WEBP"
    assert sent.url.raw_path.decode().endswith("/assets/flow%40example.com")


async def test_without_an_email_uploads_go_to_one_healthy_account(make: Make,
                                                                  upstream: Upstream) -> None:
    upstream.on("GET", "/accounts", httpx.Response(200, json={
        "z@example.com": {"health": "OK"}, "b@example.com": {"health": "Session expired"},
        "c@example.com": {"health": "OK"}}))
    upstream.on("POST", "/assets/c@example.com", httpx.Response(
        200, json={"mediaGenerationId": {"mediaGenerationId": "m"}}))
    provider = make(email=None)
    for _ in range(2):
        await provider.upload_image(b"\x89PNG", mime="image/png")
    assert len(upstream.sent("GET", "/accounts")) == 1  # picked once for a while
    assert len(upstream.sent("POST", "/assets/c@example.com")) == 2


async def test_without_a_healthy_account_an_upload_names_the_fix(make: Make,
                                                                 upstream: Upstream) -> None:
    upstream.on("GET", "/accounts", httpx.Response(200, json={"b@example.com": {
        "health": "Session expired"}}))
    with pytest.raises(AccountDisconnected, match="USEAPI_EMAIL"):
        await make(email=None).upload_image(b"\x89PNG", mime="image/png")


async def test_account_status_and_no_renewal(make: Make, upstream: Upstream) -> None:
    upstream.on("GET", f"/accounts/{EMAIL}", httpx.Response(200, json={
        "health": "OK", "credits": {"credits": 1250, "userPaygateTier": "PAYGATE_TIER_TWO"}}))
    provider = make()
    status = await provider.account_status()
    assert status is not None and (status.credits, status.tier) == (1250, "PAYGATE_TIER_TWO")
    assert await provider.renew_auth(AuthExpired("401")) is False


# polling


def render(n: int) -> dict[str, str]:
    return {"jobid": f"{JOBID}-{n}"}


async def test_one_tick_reads_every_job_in_order(make: Make, upstream: Upstream) -> None:
    answers = [job("created"), job("started"),
               job("completed", response={"media": [{"videoUrl": "https://v.test/1.mp4",
                                                     "mediaGenerationId": "v"}],
                                          "remainingCredits": 970}),
               job("failed", error="Google refused the video", code=400,
                   response={"error": {"code": 400, "message": "blocked", "details": [
                       {"reason": "PUBLIC_ERROR_UNSAFE_GENERATION"}]}}),
               job("failed", error="Video generation failed", code=500,
                   errorDetails="internal error"),
               httpx.Response(404, json={"error": "Job not found"}),
               job("failed", error="Session expired", code=596)]
    for n, answer in enumerate(answers):
        upstream.on("GET", f"/jobs/{JOBID}-{n}", answer)
    statuses = await make().check([render(n) for n in range(len(answers))])
    assert [s.state for s in statuses] == [
        RenderState.PENDING, RenderState.ACTIVE, RenderState.DONE, RenderState.FAILED,
        RenderState.FAILED, RenderState.FAILED, RenderState.FAILED]
    assert statuses[2].url == "https://v.test/1.mp4" and statuses[2].credits == 970
    assert isinstance(statuses[3].failure, SafetyBlocked)
    assert isinstance(statuses[4].failure, GenerationFailed)
    assert "internal error" in str(statuses[4].failure)
    assert isinstance(statuses[5].failure, ResultLost)
    assert statuses[6].failure is not None
    assert statuses[6].failure.code is ErrorCode.ACCOUNT_DISCONNECTED
    assert all("%40" in r.url.raw_path.decode() for r in upstream.requests)


async def test_polls_run_a_few_at_a_time(make: Make, upstream: Upstream) -> None:
    upstream.delay = 0.02
    for n in range(10):
        upstream.on("GET", f"/jobs/{JOBID}-{n}", job("started"))
    await make(poll_concurrency=3).check([render(n) for n in range(10)])
    assert len(upstream.requests) == 10 and upstream.most_in_flight == 3


@pytest.mark.parametrize(("answer", "kind"), [
    (httpx.Response(401, json={"error": "Unauthorized"}), AuthExpired),
    (httpx.Response(503, json={"error": "down"}), UpstreamUnavailable),
    (httpx.Response(200, json={"jobid": JOBID}), BadResponse),
], ids=["token", "unavailable", "unreadable"])
async def test_an_account_wide_or_unreadable_answer_stops_the_whole_tick(
        make: Make, upstream: Upstream, answer: httpx.Response, kind: type[Exception]) -> None:
    upstream.on("GET", f"/jobs/{JOBID}-0", job("started"))
    upstream.on("GET", f"/jobs/{JOBID}-1", answer)
    with pytest.raises(kind):
        await make().check([render(0), render(1)])
    assert len(upstream.sent("GET", f"/jobs/{JOBID}-1")) == 1  # one attempt per tick


def test_an_accounts_health_credits_and_tier_are_read() -> None:
    broken = protocol.parse_account({"health": "Session expired",
                                     "credits": {"credits": 12, "userPaygateTier": "T2"}})
    assert (broken.health, broken.healthy, broken.credits, broken.tier) == (
        "Session expired", False, 12, "T2")
    assert protocol.parse_account({"health": "OK"}).healthy is True
    assert protocol.parse_account({}).healthy is None
    assert from_status(596, {"error": "reconnect"}).refused_submission
