"""The Flow dialect: request bodies match ../shared/flow-protocol.md; answers parse defensively."""

from __future__ import annotations

import base64
import json
import re
import uuid
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.jobs.errors import (
    AuthExpired,
    BadResponse,
    GenerationFailed,
    RateLimited,
    SafetyBlocked,
    UpstreamError,
)
from bot.jobs.model import Aspect
from bot.jobs.provider import RenderState, RenderStatus
from bot.providers.flow import protocol

PROJECT = "0f1e2d3c-test-project"
SESSION = re.compile(r"^;\d{13}$")
PENDING = "MEDIA_GENERATION_STATUS_PENDING"
ACTIVE = "MEDIA_GENERATION_STATUS_ACTIVE"
SUCCESSFUL = "MEDIA_GENERATION_STATUS_SUCCESSFUL"
FAILED = "MEDIA_GENERATION_STATUS_FAILED"
VIDEO_URL = "https://storage.googleapis.com/video/abc?Expires=1732500000"


def only_request(body: dict[str, Any]) -> dict[str, Any]:
    assert isinstance(body["requests"], list) and len(body["requests"]) == 1
    request: dict[str, Any] = body["requests"][0]
    return request


# --- request bodies ---------------------------------------------------------------------------

def test_image_body_has_the_documented_shape() -> None:
    body = protocol.image_body("A cute cat", Aspect.LANDSCAPE, PROJECT)
    assert set(body) == {"clientContext", "requests"}
    context = body["clientContext"]
    assert set(context) == {"sessionId", "projectId", "tool"}
    assert context["projectId"] == PROJECT and context["tool"] == "PINHOLE"
    assert SESSION.match(context["sessionId"])
    request = only_request(body)
    assert set(request) == {"clientContext", "seed", "imageModelName", "imageAspectRatio",
                            "prompt", "imageInputs"}
    assert request["clientContext"] == context
    assert request["imageModelName"] == "GEM_PIX_2"
    assert request["imageAspectRatio"] == "IMAGE_ASPECT_RATIO_LANDSCAPE"
    assert request["prompt"] == "A cute cat"
    assert request["imageInputs"] == []
    assert isinstance(request["seed"], int) and 1 <= request["seed"] <= 999_999


def test_portrait_image_body_uses_the_portrait_ratio() -> None:
    request = only_request(protocol.image_body("x", Aspect.PORTRAIT, PROJECT))
    assert request["imageAspectRatio"] == "IMAGE_ASPECT_RATIO_PORTRAIT"


def test_image_url_puts_the_project_in_the_path() -> None:
    assert protocol.image_url(PROJECT) == (
        f"/v1/projects/{PROJECT}/flowMedia:batchGenerateImages")


def test_i2v_body_has_the_documented_shape() -> None:
    body = protocol.video_body("The cat walks slowly", Aspect.LANDSCAPE, PROJECT, "CAMSJD-media")
    assert set(body) == {"clientContext", "requests"}
    assert body["clientContext"]["recaptchaToken"] == ""
    assert body["clientContext"]["userPaygateTier"] == "PAYGATE_TIER_TWO"
    assert body["clientContext"]["projectId"] == PROJECT
    assert body["clientContext"]["tool"] == "PINHOLE"
    assert SESSION.match(body["clientContext"]["sessionId"])
    assert set(body["clientContext"]) == {"projectId", "recaptchaToken", "sessionId", "tool",
                                          "userPaygateTier"}
    request = only_request(body)
    assert set(request) == {"aspectRatio", "metadata", "referenceImages", "seed", "textInput",
                            "videoModelKey"}
    assert request["referenceImages"] == [
        {"imageUsageType": "IMAGE_USAGE_TYPE_ASSET", "mediaId": "CAMSJD-media"}]
    assert request["videoModelKey"] == "veo_3_0_r2v_fast_ultra"
    assert request["aspectRatio"] == "VIDEO_ASPECT_RATIO_LANDSCAPE"
    assert request["textInput"] == {"prompt": "The cat walks slowly"}
    assert set(request["metadata"]) == {"sceneId"}
    uuid.UUID(request["metadata"]["sceneId"])
    assert isinstance(request["seed"], int)


def test_t2v_landscape_body_has_no_reference_images() -> None:
    request = only_request(protocol.video_body("a dog", Aspect.LANDSCAPE, PROJECT, None))
    assert "referenceImages" not in request
    assert request["videoModelKey"] == "veo_3_1_t2v_fast"
    assert request["aspectRatio"] == "VIDEO_ASPECT_RATIO_LANDSCAPE"


def test_t2v_portrait_body_uses_the_portrait_model_and_ratio() -> None:
    request = only_request(protocol.video_body("a dog", Aspect.PORTRAIT, PROJECT, None))
    assert "referenceImages" not in request
    assert request["videoModelKey"] == "veo_3_1_t2v_fast_portrait"
    assert request["aspectRatio"] == "VIDEO_ASPECT_RATIO_PORTRAIT"


def test_portrait_i2v_keeps_the_reference_model() -> None:
    request = only_request(protocol.video_body("x", Aspect.PORTRAIT, PROJECT, "CAM"))
    assert request["videoModelKey"] == "veo_3_0_r2v_fast_ultra"
    assert request["aspectRatio"] == "VIDEO_ASPECT_RATIO_PORTRAIT"


def test_each_video_body_gets_a_fresh_scene_id() -> None:
    scenes = {only_request(protocol.video_body("x", Aspect.LANDSCAPE, PROJECT, None))
              ["metadata"]["sceneId"] for _ in range(5)}
    assert len(scenes) == 5


@pytest.mark.parametrize(("reference", "path"), [
    ("CAM", "/v1/video:batchAsyncGenerateVideoReferenceImages"),
    (None, "/v1/video:batchAsyncGenerateVideoText"),
])
def test_video_path_picks_the_endpoint(reference: str | None, path: str) -> None:
    assert protocol.video_path(reference) == path


def test_bodies_are_plain_json() -> None:
    for body in (protocol.image_body("x", Aspect.LANDSCAPE, PROJECT),
                 protocol.video_body("x", Aspect.PORTRAIT, PROJECT, "CAM"),
                 protocol.upload_body(b"\x89PNG", "image/png")):
        assert json.loads(json.dumps(body)) == body


def test_upload_body_has_the_documented_shape() -> None:
    body = protocol.upload_body(b"\xff\xd8jpeg-bytes", "image/jpeg")
    assert body["imageInput"] == {
        "rawImageBytes": base64.b64encode(b"\xff\xd8jpeg-bytes").decode(),
        "mimeType": "image/jpeg", "isUserUploaded": True,
        "aspectRatio": "IMAGE_ASPECT_RATIO_LANDSCAPE"}
    assert body["clientContext"]["tool"] == "ASSET_MANAGER"
    assert SESSION.match(body["clientContext"]["sessionId"])


# --- proxy answers ----------------------------------------------------------------------------

def test_parse_task_id_reads_the_task_id() -> None:
    assert protocol.parse_task_id({"success": True, "taskId": "t-1"}) == "t-1"


@pytest.mark.parametrize("body", [{"success": True}, {"taskId": ""}, {"taskId": 5}, None, []])
def test_parse_task_id_without_a_task_id_is_a_bad_response(body: Any) -> None:
    with pytest.raises(BadResponse, match="taskId"):
        protocol.parse_task_id(body)


@pytest.mark.parametrize("body", [
    {"success": True},
    {"success": True, "result": None},
    {"success": True, "result": {}},
    {"success": True, "result": {"status": "running"}},
    {"success": True, "result": "pending"},
])
def test_parse_task_result_is_none_while_pending(body: Any) -> None:
    assert protocol.parse_task_result(body) is None


@pytest.mark.parametrize("body", [None, [], "done", 3])
def test_parse_task_result_of_a_non_object_is_a_bad_response(body: Any) -> None:
    with pytest.raises(BadResponse):
        protocol.parse_task_result(body)


def test_parse_task_result_returns_media_and_operations() -> None:
    media = {"media": [{"name": "CAM"}]}
    operations = {"operations": [{"operation": {"name": "op"}}]}
    assert protocol.parse_task_result({"result": media}) == media
    assert protocol.parse_task_result({"result": operations}) == operations


@pytest.mark.parametrize(("error", "expected"), [
    ({"code": 400, "message": "Request contains an invalid argument.",
      "status": "INVALID_ARGUMENT",
      "details": [{"reason": "PUBLIC_ERROR_UNSAFE_GENERATION"}]}, SafetyBlocked),
    ({"code": 401, "message": "expired", "status": "UNAUTHENTICATED"}, AuthExpired),
    ({"code": 429, "status": "RESOURCE_EXHAUSTED",
      "details": [{"reason": "PUBLIC_ERROR_USER_REQUESTS_THROTTLED"}]}, RateLimited),
])
def test_parse_task_result_raises_a_refused_submission(
        error: dict[str, Any], expected: type[UpstreamError]) -> None:
    with pytest.raises(expected) as caught:
        protocol.parse_task_result({"success": True, "result": {"error": error}})
    assert caught.value.refused_submission is True
    assert expected("no").refused_submission is False  # given to this instance only


def test_parse_task_result_error_names_google() -> None:
    with pytest.raises(SafetyBlocked, match=r"^Google Flow answered 400: Nope$"):
        protocol.parse_task_result({"result": {"error": {
            "code": 400, "message": "Nope",
            "details": [{"reason": "PUBLIC_ERROR_MINOR_INPUT_IMAGE"}]}}})


def test_parse_task_result_with_malformed_error_details_raises_an_upstream_error() -> None:
    with pytest.raises(UpstreamError) as caught:
        protocol.parse_task_result({"result": {"error": {"code": 400, "details": 5}}})
    assert caught.value.refused_submission is True


def test_parse_accepted_image_decodes_the_encoded_image() -> None:
    png = b"\x89PNG\r\n\x1a\nrest"
    accepted = protocol.parse_accepted_image({"media": [{"name": "CAMSJD", "image": {
        "generatedImage": {"encodedImage": base64.b64encode(png).decode(),
                           "fifeUrl": "https://img"}}}]})
    assert accepted.media_id == "CAMSJD"
    assert accepted.image_bytes == png
    assert accepted.image_url == "https://img"


def test_parse_accepted_image_falls_back_to_the_fife_url() -> None:
    accepted = protocol.parse_accepted_image({"media": [{"name": "CAM", "image": {
        "generatedImage": {"fifeUrl": "https://img"}}}]})
    assert (accepted.image_bytes, accepted.image_url) == (None, "https://img")


@pytest.mark.parametrize(("result", "names"), [
    ({}, "'media'"),
    ({"media": "x"}, "'media'"),
    ({"media": []}, "'media'"),
    ({"media": [{"image": {}}]}, "'media[0].name'"),
    ({"media": [{"name": "CAM"}]}, "encodedImage nor fifeUrl"),
    ({"media": [{"name": "CAM", "image": {"generatedImage": {"encodedImage": "abc"}}}]},
     "not base64"),
])
def test_parse_accepted_image_names_what_is_missing(result: dict[str, Any], names: str) -> None:
    with pytest.raises(BadResponse, match=re.escape(names)):
        protocol.parse_accepted_image(result)


def test_parse_accepted_video_keeps_the_operations_whole() -> None:
    operations = [{"operation": {"name": "abc123"}, "sceneId": "scene-xxx", "status": PENDING}]
    accepted = protocol.parse_accepted_video({"operations": operations, "remainingCredits": 920})
    assert accepted.render == operations
    assert accepted.credits == 920


def test_parse_accepted_video_ignores_credits_that_are_not_a_number() -> None:
    accepted = protocol.parse_accepted_video({"operations": [{}], "remainingCredits": "920"})
    assert accepted.credits is None


@pytest.mark.parametrize("result", [
    {}, {"operations": None}, {"operations": []}, {"operations": ["op"]},
    {"operations": [{"operation": {}}, 5]},
])
def test_parse_accepted_video_without_operations_is_a_bad_response(result: dict[str, Any]) -> None:
    with pytest.raises(BadResponse, match="'operations'"):
        protocol.parse_accepted_video(result)


# --- poll answers -----------------------------------------------------------------------------

def entry(status: Any, **operation: Any) -> dict[str, Any]:
    return {"operation": {"name": "op", **operation}, "sceneId": "s", "status": status}


def test_parse_poll_reads_each_state_in_order() -> None:
    body = {"operations": [
        entry(PENDING),
        entry(ACTIVE),
        entry(SUCCESSFUL, metadata={"video": {"fifeUrl": VIDEO_URL}}),
        entry(FAILED, error={"code": 3, "message": "Audio generation failed"}),
    ]}
    assert protocol.parse_poll(body, 4) == [
        RenderStatus(RenderState.PENDING),
        RenderStatus(RenderState.ACTIVE),
        RenderStatus(RenderState.DONE, url=VIDEO_URL),
        RenderStatus(RenderState.FAILED, error="Audio generation failed"),
    ]


def test_successful_entry_without_a_url_fails_that_job() -> None:
    status = protocol.parse_entry(entry(SUCCESSFUL, metadata={"video": {"seed": 1}}))
    assert status == RenderStatus(RenderState.FAILED, error="finished without a video URL")


def test_error_status_without_a_message_reports_the_status() -> None:
    status = protocol.parse_entry(entry("MEDIA_GENERATION_STATUS_ERROR_UNKNOWN"))
    assert status == RenderStatus(RenderState.FAILED,
                                  error="MEDIA_GENERATION_STATUS_ERROR_UNKNOWN")


def test_failure_message_is_truncated() -> None:
    status = protocol.parse_entry(entry(FAILED, error={"message": "m" * 1000}))
    assert status.state is RenderState.FAILED and status.error == "m" * 300


@pytest.mark.parametrize("status", ["MEDIA_GENERATION_STATUS_QUEUED_SOMEWHERE", "", None, 7])
def test_unknown_status_keeps_waiting(status: Any) -> None:
    assert protocol.parse_entry(entry(status)) == RenderStatus(RenderState.PENDING)


def test_entry_without_status_keeps_waiting() -> None:
    assert protocol.parse_entry({"operation": {"name": "op"}}).state is RenderState.PENDING


@pytest.mark.parametrize("bad", [None, "op", 3, ["x"]])
def test_malformed_entry_fails_only_itself(bad: Any) -> None:
    statuses = protocol.parse_poll({"operations": [bad, entry(ACTIVE)]}, 2)
    assert statuses == [RenderStatus(RenderState.FAILED, error="malformed status entry"),
                        RenderStatus(RenderState.ACTIVE)]


@pytest.mark.parametrize(("body", "expected"), [
    ({"operations": [entry(PENDING)]}, 2),
    ({"operations": [entry(PENDING), entry(PENDING)]}, 1),
    ({"operations": []}, 1),
])
def test_parse_poll_with_the_wrong_entry_count_is_a_bad_response(body: Any, expected: int) -> None:
    with pytest.raises(BadResponse, match=f"not {expected}"):
        protocol.parse_poll(body, expected)


@pytest.mark.parametrize("body", [{}, {"operations": None}, {"operations": {"a": 1}},
                                  {"media": [{"name": "x"}]}])
def test_parse_poll_without_operations_names_the_field(body: Any) -> None:
    with pytest.raises(BadResponse, match="'operations'"):
        protocol.parse_poll(body, 1)


@pytest.mark.parametrize("body", [None, [], "ok", 1])
def test_parse_poll_of_a_non_object_is_a_bad_response(body: Any) -> None:
    with pytest.raises(BadResponse):
        protocol.parse_poll(body, 1)


def test_operation_names_reads_each_name() -> None:
    assert protocol.operation_names([entry(PENDING), {"sceneId": "s"}]) == ["op", "?"]


def test_render_failure_is_a_generation_failure_with_the_reason() -> None:
    failure = protocol.render_failure(RenderStatus(RenderState.FAILED, error="Audio failed"))
    assert isinstance(failure, GenerationFailed) and str(failure) == "Audio failed"
    assert str(protocol.render_failure(RenderStatus(RenderState.FAILED))) == (
        "the generation failed")


# --- fuzzing: only BadResponse may escape -----------------------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)
STATUS = st.sampled_from([PENDING, ACTIVE, SUCCESSFUL, FAILED,
                          "MEDIA_GENERATION_STATUS_ERROR_X"]) | JSON
OPERATION = JSON | st.fixed_dictionaries({}, optional={
    "name": JSON,
    "metadata": JSON | st.fixed_dictionaries({}, optional={
        "video": JSON | st.fixed_dictionaries({}, optional={"fifeUrl": JSON})}),
    "error": JSON | st.fixed_dictionaries({}, optional={"message": JSON, "code": JSON}),
})
ENTRY = JSON | st.fixed_dictionaries({}, optional={"status": STATUS, "operation": OPERATION})


@settings(max_examples=300, deadline=None)
@given(ENTRY)
def test_parse_entry_never_raises(value: Any) -> None:
    status = protocol.parse_entry(value)
    assert isinstance(status, RenderStatus)
    assert status.state is not RenderState.DONE or isinstance(status.url, str)


@settings(max_examples=300, deadline=None)
@given(JSON | st.fixed_dictionaries({"operations": st.lists(ENTRY, max_size=4) | JSON}),
       st.integers(min_value=0, max_value=5))
def test_parse_poll_raises_only_bad_response(body: Any, expected: int) -> None:
    try:
        statuses = protocol.parse_poll(body, expected)
    except BadResponse:
        return
    assert len(statuses) == expected
    assert all(isinstance(status, RenderStatus) for status in statuses)
