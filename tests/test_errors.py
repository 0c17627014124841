"""The error tree; what each Flow answer and Google error becomes in it; Google's error body read
whatever its shape (`bot.providers.google.describe`). Transport failures: tests/test_http.py."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.jobs import errors
from bot.jobs.errors import (
    AccessDenied,
    AuthExpired,
    BadResponse,
    CaptchaRejected,
    GenerationFailed,
    Interrupted,
    PermanentError,
    QuotaExhausted,
    RateLimited,
    RequestRejected,
    ResultLost,
    ResultTooLarge,
    SafetyBlocked,
    TimedOut,
    TransientError,
    UpstreamError,
    UpstreamUnavailable,
    is_retryable,
)
from bot.providers.flow.errors import from_google_error, from_status, status_map
from bot.providers.google import GoogleError, describe

UP = "Google Flow"
TOKEN = "ya29.a0AfH6SMBx.secret_token.part-0123456789"


def google(status: str | None = None, reason: str | None = None, message: str = "nope",
           code: int | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"message": message}
    if code is not None:
        error["code"] = code
    if status is not None:
        error["status"] = status
    if reason is not None:
        error["details"] = [{"@type": "type.googleapis.com/google.rpc.ErrorInfo",
                             "reason": reason}]
    return {"error": error}


@pytest.mark.parametrize(("status", "body", "expected"), [
    (401, None, AuthExpired),
    (401, google("UNAUTHENTICATED"), AuthExpired),
    (429, google("RESOURCE_EXHAUSTED", "PUBLIC_ERROR_USER_REQUESTS_THROTTLED"), RateLimited),
    (429, None, RateLimited),
    (429, google("RESOURCE_EXHAUSTED", "PUBLIC_ERROR_PER_MODEL_DAILY_QUOTA_REACHED"),
     QuotaExhausted),
    (429, google("RESOURCE_EXHAUSTED", "PUBLIC_ERROR_USER_QUOTA_REACHED"), QuotaExhausted),
    (400, google("RESOURCE_EXHAUSTED", "PUBLIC_ERROR_QUOTA_EXCEEDED"), QuotaExhausted),
    (400, google("RESOURCE_EXHAUSTED"), RateLimited),
    (500, None, UpstreamUnavailable),
    (502, "<html>bad gateway</html>", UpstreamUnavailable),
    (503, google("UNAVAILABLE"), UpstreamUnavailable),
    (400, google("INVALID_ARGUMENT", "PUBLIC_ERROR_UNSAFE_GENERATION"), SafetyBlocked),
    (400, google("INVALID_ARGUMENT", "PUBLIC_ERROR_PROMINENT_PEOPLE_FILTER_FAILED"),
     SafetyBlocked),
    (400, google("INVALID_ARGUMENT", "PUBLIC_ERROR_MINOR_INPUT_IMAGE"), SafetyBlocked),
    (403, google("PERMISSION_DENIED", "PUBLIC_ERROR_MODEL_ACCESS_DENIED"), AccessDenied),
    (403, None, AccessDenied),
    (403, google("PERMISSION_DENIED", "PUBLIC_ERROR_SOMETHING_WENT_WRONG"), CaptchaRejected),
    (403, google("PERMISSION_DENIED", "PUBLIC_ERROR_UNUSUAL_ACTIVITY"), CaptchaRejected),
    (403, google("PERMISSION_DENIED", message="reCAPTCHA evaluation failed"), CaptchaRejected),
    (403, {"message": "ReCaptcha evaluation failed"}, CaptchaRejected),
    (400, google("INVALID_ARGUMENT", message="Request contains an invalid argument."),
     RequestRejected),
    (404, {"message": "no route"}, RequestRejected),
    (413, None, RequestRejected),
])
def test_from_status_maps_to_the_documented_class(status: int, body: Any,
                                                  expected: type[UpstreamError]) -> None:
    error = from_status(status, body, upstream=UP)
    assert type(error) is expected
    assert error.status == status


def test_from_status_keeps_the_reason_and_google_message() -> None:
    error = from_status(400, google("INVALID_ARGUMENT", "PUBLIC_ERROR_UNSAFE_GENERATION",
                                    "Request contains an invalid argument."), upstream=UP)
    assert error.reason == "PUBLIC_ERROR_UNSAFE_GENERATION"
    assert str(error) == "Google Flow answered 400: Request contains an invalid argument."
    assert error.detail == str(error)


def test_from_status_without_a_message_names_upstream_and_status() -> None:
    assert str(from_status(500, None, upstream="the Flow proxy")) == "the Flow proxy answered 500"


def test_from_status_reads_a_proxy_style_message_or_description() -> None:
    assert "no taskId" in str(from_status(400, {"message": "no taskId"}, upstream=UP))
    assert "went away" in str(from_status(400, {"description": "went away"}, upstream=UP))


def test_from_status_truncates_a_long_message() -> None:
    error = from_status(400, google(message="x" * 5000), upstream=UP)
    assert str(error).count("x") == 300


def test_from_status_takes_the_first_detail_with_a_reason() -> None:
    body = {"error": {"message": "m", "details": [
        "junk", {"@type": "t"}, {"reason": "PUBLIC_ERROR_MINOR_INPUT_IMAGE"},
        {"reason": "PUBLIC_ERROR_MODEL_ACCESS_DENIED"}]}}
    error = from_status(403, body, upstream=UP)
    assert isinstance(error, SafetyBlocked)
    assert error.reason == "PUBLIC_ERROR_MINOR_INPUT_IMAGE"


@pytest.mark.parametrize(("status", "maybe_processed"), [
    (500, True), (501, True), (502, True), (504, True), (503, False),
])
def test_a_5xx_but_503_means_the_request_may_have_been_processed(
        status: int, maybe_processed: bool) -> None:
    error = from_status(status, None, upstream=UP)
    assert isinstance(error, UpstreamUnavailable)
    assert error.maybe_processed is maybe_processed


def test_from_status_passes_retry_after_to_transient_errors() -> None:
    limited = from_status(429, None, upstream=UP, retry_after=12.0)
    assert isinstance(limited, RateLimited) and limited.retry_after == 12.0
    unavailable = from_status(503, None, upstream=UP, retry_after=7.0)
    assert isinstance(unavailable, UpstreamUnavailable) and unavailable.retry_after == 7.0
    assert from_status(400, None, upstream=UP, retry_after=7.0).status == 400


def test_error_message_never_holds_a_token() -> None:
    error = from_status(401, google(message=f"bad credentials {TOKEN}"), upstream=UP)
    assert TOKEN not in str(error)
    assert "ya29." in str(error)  # masked, not dropped


def map_response(answer: httpx.Response, *, upstream: str) -> UpstreamError:
    return status_map(upstream=upstream)(answer)


def response(status: int, *, json: Any = None, text: str | None = None,
             headers: dict[str, str] | None = None) -> httpx.Response:
    request = httpx.Request("POST", "https://example.test/v1/video")
    if json is not None:
        return httpx.Response(status, json=json, headers=headers, request=request)
    return httpx.Response(status, text=text or "", headers=headers, request=request)


def test_status_map_parses_a_json_error_body() -> None:
    error = map_response(response(400, json=google("INVALID_ARGUMENT",
                                                    "PUBLIC_ERROR_UNSAFE_GENERATION")),
                          upstream=UP)
    assert isinstance(error, SafetyBlocked)
    assert error.status == 400


def test_status_map_tolerates_a_body_that_is_not_json() -> None:
    error = map_response(response(502, text="<html>Bad Gateway</html>"), upstream=UP)
    assert isinstance(error, UpstreamUnavailable)
    assert str(error) == "Google Flow answered 502"


@pytest.mark.parametrize(("header", "expected"), [
    ("7", 7.0),
    ("2.5", 2.5),
    ("-3", 0.0),
    ("Wed, 21 Oct 2015 07:28:00 GMT", None),
    ("", None),
])
def test_status_map_reads_retry_after(header: str, expected: float | None) -> None:
    error = map_response(response(429, json={}, headers={"Retry-After": header}), upstream=UP)
    assert isinstance(error, RateLimited)
    assert error.retry_after == expected


def test_status_map_without_retry_after_has_none() -> None:
    error = map_response(response(429, json={}), upstream=UP)
    assert isinstance(error, RateLimited) and error.retry_after is None


def test_from_google_error_uses_the_error_code_as_status() -> None:
    error = from_google_error(google("INVALID_ARGUMENT", "PUBLIC_ERROR_UNSAFE_GENERATION",
                                     code=400)["error"], upstream=UP)
    assert isinstance(error, SafetyBlocked)
    assert error.status == 400


def test_from_google_error_maps_a_401_code_to_auth_expired() -> None:
    error = from_google_error({"code": 401, "message": "expired"}, upstream=UP)
    assert isinstance(error, AuthExpired)


@pytest.mark.parametrize("error", [
    {"message": "no code"},
    {"code": "400", "message": "code as text"},
    {"code": 200, "message": "not an error code"},
    {"code": 99999},
    "a string",
    None,
    [1, 2],
])
def test_from_google_error_without_a_usable_code_is_a_500(error: Any) -> None:
    mapped = from_google_error(error, upstream=UP)
    assert isinstance(mapped, UpstreamUnavailable)
    assert mapped.status == 500


def test_from_google_error_survives_details_that_are_not_a_list() -> None:
    mapped = from_google_error({"code": 400, "message": "odd", "details": 5}, upstream=UP)
    assert isinstance(mapped, RequestRejected)


@pytest.mark.parametrize(("error", "retryable"), [
    (UpstreamUnavailable("x"), True),
    (UpstreamUnavailable("x", maybe_processed=True), True),
    (RateLimited("x", retry_after=1.0), True),
    (CaptchaRejected("x"), True),
    (AuthExpired("x"), False),
    (AccessDenied("x"), False),
    (QuotaExhausted("x"), False),
    (SafetyBlocked("x"), False),
    (RequestRejected("x"), False),
    (BadResponse("x"), False),
    (GenerationFailed("x"), False),
    (TimedOut("x"), False),
    (ResultTooLarge("x", url="https://r"), False),
    (ValueError("x"), False),
    (httpx.ConnectError("x"), False),
])
def test_is_retryable_only_for_transient_errors(error: BaseException, retryable: bool) -> None:
    assert is_retryable(error) is retryable


def test_transient_and_permanent_classes_sit_where_the_docstring_says() -> None:
    transient: list[type[UpstreamError]] = [UpstreamUnavailable, RateLimited, CaptchaRejected]
    permanent: list[type[UpstreamError]] = [
        AuthExpired, AccessDenied, QuotaExhausted, SafetyBlocked, RequestRejected, BadResponse,
        GenerationFailed, TimedOut, Interrupted, ResultLost, ResultTooLarge]
    for cls in transient:
        assert issubclass(cls, TransientError)
    for cls in permanent:
        assert issubclass(cls, PermanentError) and not issubclass(cls, TransientError)


def test_every_concrete_error_has_its_own_code() -> None:
    concrete = [cls for cls in vars(errors).values()
                if isinstance(cls, type) and issubclass(cls, UpstreamError)
                and cls not in (UpstreamError, TransientError, PermanentError)]
    codes = [cls.code for cls in concrete]
    assert len(codes) == len(set(codes))


def test_result_too_large_carries_url_and_size() -> None:
    error = ResultTooLarge("too big", url="https://video", size=123)
    assert (error.url, error.size, error.code) == ("https://video", 123, "too_large")


def test_refused_submission_is_false_by_default() -> None:
    assert UpstreamError("no").refused_submission is False
    assert from_status(400, None, upstream=UP).refused_submission is False


# Google's error body, whatever shape it comes in

@pytest.mark.parametrize("body", [
    None, [], [{"error": {"message": "in a list"}}], "text", 42, 1.5, True, {},
    {"error": None}, {"error": []}, {"error": "a string"}, {"error": 7},
    {"message": None, "description": None},
], ids=repr)
def test_describe_finds_nothing_in_a_body_without_an_error_object(body: Any) -> None:
    assert describe(body) == GoogleError()


@pytest.mark.parametrize(("body", "message"), [
    ({"message": 12}, "12"),
    ({"description": ["a", "b"]}, "['a', 'b']"),
    ({"error": {"message": {"nested": [1]}}}, "{'nested': [1]}"),
    ({"error": {"message": None}}, "None"),
    ({"error": {}}, ""),
])
def test_describe_makes_any_message_a_string(body: Any, message: str) -> None:
    assert describe(body).message == message


def test_describe_skips_details_it_cannot_read() -> None:
    body = {"error": {"message": "m", "status": 0, "details": [
        None, 1, "x", [], {"reason": ""}, {"violations": "not a list"},
        {"violations": [None, "x", {"quotaId": "PerDay"}]},
        {"retryDelay": {"seconds": 5}}, {"reason": "FIRST"}, {"retryDelay": "3s"}]}}
    assert describe(body) == GoogleError(message="m", status=None, reasons=("FIRST",),
                                         quota_ids=("PerDay None",), retry_delay=3.0)


@pytest.mark.parametrize("details", [None, "junk", 5, {"reason": "NOT_IN_A_LIST"}])
def test_describe_ignores_details_that_are_not_a_list(details: Any) -> None:
    error = describe({"error": {"message": "m", "status": "INTERNAL", "details": details}})
    assert (error.message, error.status, error.reasons, error.reason) == ("m", "INTERNAL", (),
                                                                          None)


def test_sentence_names_upstream_status_and_message() -> None:
    assert GoogleError("gone").sentence("the API", 404) == "the API answered 404: gone"
    assert GoogleError().sentence("the API", 500) == "the API answered 500"


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["error", "message", "description", "details", "reason", "status",
                         "violations", "quotaId", "retryDelay", "code", "x"]), inner,
        max_size=5),
    max_leaves=25)


@settings(max_examples=50, deadline=None, database=None, derandomize=True)
@given(JSON)
def test_describe_never_raises_on_any_json(body: Any) -> None:
    error = describe(body)
    assert isinstance(error.message, str) and len(error.message) <= 300
    assert all(isinstance(reason, str) for reason in error.reasons)
    assert error.retry_delay is None or error.retry_delay >= 0
