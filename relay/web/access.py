"""Who may see the dashboard and use the JSON API, checked in one place: `Access.require_admin`.

The admin token is accepted two ways:

* `Authorization: Bearer <token>` on any request (scripts, curl, the API);
* a session cookie set by the sign-in form. The cookie holds a random session id, when it was
  issued and an HMAC of both under a key derived from the admin token: never the token itself.
  Rotating the token changes the key, which signs everyone out.

Every state-changing request made with a session must also pass `require_csrf`: the session's
CSRF token (an HMAC of its id; the hidden `csrf` form field, or the `X-CSRF-Token` header for
the dashboard's own JavaScript), compared in constant time, and an `Origin` (else `Referer`) of
this site when the browser sends one. Bearer callers need neither: a browser never adds that
header by itself. The cookie is also SameSite=Strict, so CSRF is the second lock.

Sessions are also kept in Redis, so signing out ends one on the server (the old cookie no longer
works anywhere), and rotating the admin token ends them all. Wrong admin tokens, by form or as
Bearer, are counted per client address in Redis (every receiver process together): past
`ATTEMPTS` in `ATTEMPT_WINDOW` seconds the address gets 429 with Retry-After until the window
ends. With no admin token configured nothing is accepted (`DashboardOff`). The refusals are
exceptions; `relay.web.errors` turns them into the sign-in page, the "disabled" page or JSON.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import redis
from starlette.requests import Request
from starlette.responses import Response

from relay.core import keys
from relay.core.exceptions import DashboardOff, Forbidden, NotAuthenticated, TooManyAttempts
from relay.core.secret import Secret

COOKIE = "relay_session"
#: how long a sign-in lasts (seconds)
SESSION_MAX_AGE = 7 * 86400
#: wrong admin tokens (form or Bearer) allowed from one address per window, then 429
ATTEMPTS = 10
ATTEMPT_WINDOW = 60
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf"
_KEY_LABEL = b"deploy-hook-relay dashboard session v1"
#: sent with every answer that needs the admin token: live state, CSRF tokens, never cached
NO_STORE = {"Cache-Control": "no-store"}
BEARER_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="relay"'}
DISABLED = (
    "the dashboard and API are disabled: no admin token is configured "
    "(set [admin] token in relay.toml or RELAY_ADMIN_TOKEN)"
)


@dataclass(frozen=True)
class Identity:
    """An authenticated caller: by bearer token, or by a session (with its id)."""

    kind: str  # "bearer" | "session"
    session_id: str | None = None


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


class Access:
    """`client`: the Redis that keeps sessions and failed attempts (shared by every receiver
    process). Without one (unit tests), sessions are the signed cookies alone."""

    def __init__(self, token: Secret | None, client: redis.Redis | None = None) -> None:
        self.client = client
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
        """A fresh session, recorded in Redis; its cookie value: `<id>.<issued>.<signature>`."""
        session_id = secrets.token_urlsafe(18)
        if self.client is not None:
            self.client.set(keys.session(session_id), "1", ex=SESSION_MAX_AGE)
        payload = f"{session_id}.{int(time.time())}"
        return f"{payload}.{self.sign('session:' + payload)}"

    def end_session(self, session_id: str) -> None:
        """Sign a session out on the server: its cookie stops working at once, everywhere."""
        if self.client is not None:
            self.client.delete(keys.session(session_id))

    def session_id(self, cookie: str | None) -> str | None:
        """The session id of a valid, unexpired cookie value; None otherwise."""
        if not self.enabled or not cookie or cookie.count(".") != 2:
            return None
        session_id, issued, signature = cookie.split(".")
        expected = self.sign(f"session:{session_id}.{issued}")
        if not hmac.compare_digest(signature.encode(), expected.encode()):
            return None
        if not issued.isascii() or not issued.isdigit():
            return None
        if time.time() - int(issued) > SESSION_MAX_AGE:
            return None
        if self.client is not None and not self.client.exists(keys.session(session_id)):
            return None  # signed out
        return session_id

    # -- failed attempts -------------------------------------------------------------------------

    def _address(self, request: Request) -> str:
        return request.client.host if request.client else "unknown"

    def throttle(self, request: Request) -> None:
        """`TooManyAttempts` (429) while this address has too many recent wrong tokens."""
        if self.client is None:
            return
        key = keys.auth_failures(self._address(request))
        failures = self.client.get(key)
        if failures is not None and int(failures) >= ATTEMPTS:
            wait = max(1, self.client.ttl(key))
            raise TooManyAttempts(
                f"too many wrong admin tokens from this address; try again in {wait}s",
                headers={"Retry-After": str(wait)},
            )

    def failed_attempt(self, request: Request) -> None:
        """Count a wrong token from this address (every receiver process counts together)."""
        if self.client is None:
            return
        key = keys.auth_failures(self._address(request))
        pipe = self.client.pipeline(transaction=True)
        pipe.set(key, 0, ex=ATTEMPT_WINDOW, nx=True)  # the window starts at the first failure
        pipe.incr(key)
        pipe.execute()

    def check_token(self, request: Request, candidate: str) -> bool:
        """Whether `candidate` is the admin token, slowed down for an address that guesses."""
        self.throttle(request)
        if self.token_matches(candidate):
            return True
        self.failed_attempt(request)
        return False

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
            return Identity("bearer") if self.check_token(request, credentials.strip()) else None
        session_id = self.session_id(request.cookies.get(COOKIE))
        return Identity("session", session_id) if session_id else None

    def require_admin(self, request: Request) -> Identity:
        """The caller, who showed the admin token; else `NotAuthenticated` (or `DashboardOff`)."""
        if not self.enabled:
            raise DashboardOff(DISABLED)
        identity = self.identify(request)
        if identity is None:
            raise NotAuthenticated(
                "sign in, or send the admin token as Authorization: Bearer",
                headers=BEARER_CHALLENGE,
            )
        return identity

    def csrf_token(self, identity: Identity) -> str:
        """The session's CSRF token (bearer callers need none: browsers never add that header)."""
        return self.sign(f"csrf:{identity.session_id}") if identity.session_id else ""

    def require_csrf(self, request: Request, identity: Identity, submitted: str | None) -> None:
        """Refuse (`Forbidden`) a state-changing request by a session without its CSRF token,
        or sent from another origin."""
        if identity.kind == "bearer":
            return
        expected = self.csrf_token(identity)
        token = submitted or request.headers.get(CSRF_HEADER) or ""
        if not expected or not hmac.compare_digest(token.encode(), expected.encode()):
            raise Forbidden("CSRF check failed: reload the page and try again")
        if not same_origin(request):
            raise Forbidden("this form must be sent from this site")
