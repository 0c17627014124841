"""Google's JSON shapes as the simulator answers them: error bodies and operation statuses."""

from __future__ import annotations

from typing import Any

PENDING = "MEDIA_GENERATION_STATUS_PENDING"
ACTIVE = "MEDIA_GENERATION_STATUS_ACTIVE"
SUCCESSFUL = "MEDIA_GENERATION_STATUS_SUCCESSFUL"
FAILED = "MEDIA_GENERATION_STATUS_FAILED"

MEDIA_TYPE = "type.googleapis.com/google.internal.labs.aisandbox.v1.Media"
ERROR_INFO = "type.googleapis.com/google.rpc.ErrorInfo"
UNSAFE = "PUBLIC_ERROR_UNSAFE_GENERATION"
THROTTLED = "PUBLIC_ERROR_USER_REQUESTS_THROTTLED"
QUOTA = "PUBLIC_ERROR_USER_QUOTA_REACHED"

_STATUS = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED",
           404: "NOT_FOUND", 409: "ABORTED", 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL",
           501: "UNIMPLEMENTED", 502: "UNAVAILABLE", 503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED"}
_MESSAGE = {400: "Request contains an invalid argument.",
            401: "Request had invalid authentication credentials.",
            403: "The caller does not have permission",
            404: "Requested entity was not found.",
            429: "Resource has been exhausted (e.g. check quota).",
            500: "Internal error encountered.",
            503: "The service is currently unavailable."}
_REASON = {429: THROTTLED}


def google_error(
    code: int, message: str | None = None, reason: str | None = None
) -> dict[str, Any]:
    """Google's error body, e.g. {"error": {"code": 401, "message": ..., "status": ...}}."""
    error: dict[str, Any] = {
        "code": code,
        "message": message or _MESSAGE.get(code, "Error."),
        "status": _STATUS.get(code, "UNKNOWN" if code >= 500 else "FAILED_PRECONDITION"),
    }
    reason = reason or _REASON.get(code)
    if reason:
        error["details"] = [{"@type": ERROR_INFO, "reason": reason}]
    return {"error": error}


def unsafe_error() -> dict[str, Any]:
    return google_error(400, reason=UNSAFE)


def operation_error(name: str, scene_id: Any, code: int, message: str) -> dict[str, Any]:
    """A poll answer entry for a failed (or unknown) operation."""
    return {"operation": {"name": name, "error": {"code": code, "message": message}},
            "sceneId": scene_id, "status": FAILED}
