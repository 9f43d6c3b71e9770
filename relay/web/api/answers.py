"""What every JSON API endpoint starts and ends with: the caller check and the private answer."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from relay.web.access import NO_STORE, Access, Identity


def private_json(doc: object, status_code: int = 200) -> Response:
    """An answer for the admin: never stored by a cache or a browser."""
    return JSONResponse(doc, status_code=status_code, headers=NO_STORE)


def caller(access: Access, request: Request) -> Identity:
    """The admin (Bearer, or a session); a session's state-changing request also needs its
    CSRF token (`X-CSRF-Token`)."""
    identity = access.require_admin(request)
    if request.method not in {"GET", "HEAD"}:
        access.require_csrf(request, identity, None)
    return identity
