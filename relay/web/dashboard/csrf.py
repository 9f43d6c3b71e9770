"""Cross-site request forgery checks for every state-changing request made with a session.

A POST authenticated by the session cookie must carry the session's CSRF token (the hidden
`csrf` form field, or the `X-CSRF-Token` header for the dashboard's own JavaScript), compared in
constant time, and must come from this origin (`Origin`, else `Referer`, when the browser sends
one). Requests authenticated by `Authorization: Bearer` need neither: a browser never adds that
header on its own. The session cookie is also SameSite=Strict, so this is the second lock.
"""

from __future__ import annotations

import hmac
from urllib.parse import urlsplit

from starlette.requests import Request

from relay.web.dashboard.auth import Auth, Identity

HEADER = "x-csrf-token"
FIELD = "csrf"


def same_origin(request: Request) -> bool:
    """True unless the browser says the request comes from another origin."""
    source = request.headers.get("origin") or request.headers.get("referer")
    if not source:
        return True  # no browser header at all: not a browser form or fetch
    if source == "null":
        return False
    parts = urlsplit(source)
    own = request.url
    return (parts.scheme, parts.netloc) == (own.scheme, own.netloc)


def valid(auth: Auth, identity: Identity, request: Request, submitted: str | None) -> bool:
    """Whether a state-changing request by `identity` passes the CSRF checks."""
    if identity.kind == "bearer":
        return True
    expected = auth.csrf_token(identity)
    token = submitted or request.headers.get(HEADER) or ""
    if not expected or not hmac.compare_digest(token.encode(), expected.encode()):
        return False
    return same_origin(request)
