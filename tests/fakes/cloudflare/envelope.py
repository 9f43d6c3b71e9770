"""The Cloudflare v4 envelope, shared by the Pages and the Workers Builds surfaces.

Both products wrap every answer the same way (Pages reference §1.2, Workers Builds reference
§1.3): `{success, errors, messages, result}` plus `result_info` on lists. `messages` is always
`[]` here, which is valid for both (Builds declares it an array of strings, Pages an array of
`{code, message}` objects). Handlers raise `ApiError`; one exception handler turns it into the
failure envelope.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

JSON = dict[str, Any]

API_PREFIX = "/client/v4"
CONTROL_PREFIX = "/__fake__"
ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]

CODE_NO_ROUTE, MSG_NO_ROUTE = 7003, "No route for the URI"
# "unknown error" in wrangler; used for cases whose real code is unknown, and for injected faults
CODE_UNKNOWN = 8000000
# The global rate limit (Pages reference §1.4; UNCONFIRMED: reported by third parties only)
CODE_RATE_LIMITED = 971
MSG_RATE_LIMITED = "Please wait and consider throttling your request speed"


class ApiError(Exception):
    """An error answer of the Cloudflare API: an HTTP status and one `{code, message}`."""

    def __init__(
        self, status: int, code: int, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(f"{status} {code} {message}")
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


def envelope(
    result: Any,
    *,
    status: int = 200,
    result_info: JSON | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """A v4 success envelope."""
    body: JSON = {"success": True, "errors": [], "messages": [], "result": result}
    if result_info is not None:
        body["result_info"] = result_info
    return JSONResponse(body, status_code=status, headers=headers)


def error_response(
    status: int, errors: list[JSON], headers: dict[str, str] | None = None
) -> JSONResponse:
    """A v4 failure envelope: `result` is null, `errors` holds `{code, message}` items."""
    body = {"success": False, "errors": errors, "messages": [], "result": None}
    return JSONResponse(body, status_code=status, headers=headers)


def api_error_handler(request: Request, exc: Exception) -> Response:
    """Starlette exception handler turning `ApiError` into a failure envelope."""
    assert isinstance(exc, ApiError)
    errors = [{"code": exc.code, "message": exc.message}]
    return error_response(exc.status, errors, exc.headers or None)


async def no_route(request: Request) -> Response:
    """Any unknown path or method under the API (a trailing slash too): 404/7003."""
    raise ApiError(404, CODE_NO_ROUTE, MSG_NO_ROUTE)
