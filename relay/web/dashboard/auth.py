"""Who may see the dashboard and use the JSON API: the holder of the admin token.

The token is accepted two ways:

* `Authorization: Bearer <token>` on any request (scripts, curl, the API);
* a session cookie set by the sign-in form. The cookie holds a random session id, when it was
  issued and an HMAC of both under a key derived from the admin token: never the token itself.
  Rotating the token changes the key, which signs everyone out.

Each session also has its own CSRF token (an HMAC of its id), see `relay.web.dashboard.csrf`.
With no admin token configured, nothing is accepted: the dashboard explains how to set one and
the API answers 401.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

from relay.core.secret import Secret

COOKIE = "relay_session"
#: how long a sign-in lasts (seconds)
SESSION_MAX_AGE = 7 * 86400
_KEY_LABEL = b"deploy-hook-relay dashboard session v1"


@dataclass(frozen=True)
class Identity:
    """An authenticated caller: by bearer token, or by a session (with its id)."""

    kind: str  # "bearer" | "session"
    session_id: str | None = None


class Auth:
    def __init__(self, token: Secret | None) -> None:
        self._token = token if token else None
        self._key = (
            hmac.new(self._token.encode(), _KEY_LABEL, hashlib.sha256).digest()
            if self._token is not None
            else b""
        )

    @property
    def enabled(self) -> bool:
        """False when no admin token is configured: then nothing is accepted."""
        return self._token is not None

    def sign(self, message: str) -> str:
        """HMAC of `message` under the session key (derived from the admin token)."""
        return hmac.new(self._key, message.encode(), hashlib.sha256).hexdigest()

    def token_matches(self, candidate: str) -> bool:
        if self._token is None:
            return False
        return hmac.compare_digest(candidate.encode(), self._token.encode())

    # -- sessions --------------------------------------------------------------------------------

    def new_session(self) -> str:
        """A fresh cookie value: `<id>.<issued>.<signature>`."""
        payload = f"{secrets.token_urlsafe(18)}.{int(time.time())}"
        return f"{payload}.{self.sign('session:' + payload)}"

    def session_id(self, cookie: str | None) -> str | None:
        """The session id of a valid, unexpired cookie value; None otherwise."""
        if not self.enabled or not cookie or cookie.count(".") != 2:
            return None
        session_id, issued, signature = cookie.split(".")
        expected = self.sign(f"session:{session_id}.{issued}")
        if not hmac.compare_digest(signature.encode(), expected.encode()):
            return None
        if not issued.isdigit() or time.time() - int(issued) > SESSION_MAX_AGE:
            return None
        return session_id

    def set_cookie(self, response: Response, request: Request, value: str) -> None:
        response.set_cookie(
            COOKIE,
            value,
            max_age=SESSION_MAX_AGE,
            path="/",
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )

    def clear_cookie(self, response: Response) -> None:
        response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")

    # -- requests --------------------------------------------------------------------------------

    def identify(self, request: Request) -> Identity | None:
        """The caller, when it showed the admin token (bearer) or a valid session cookie."""
        if not self.enabled:
            return None
        scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and credentials:
            return Identity("bearer") if self.token_matches(credentials.strip()) else None
        session_id = self.session_id(request.cookies.get(COOKIE))
        return Identity("session", session_id) if session_id else None

    def csrf_token(self, identity: Identity) -> str:
        """The session's CSRF token (bearer callers need none: browsers never add that header)."""
        return self.sign(f"csrf:{identity.session_id}") if identity.session_id else ""
