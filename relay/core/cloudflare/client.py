"""The Cloudflare v4 API client that every kind of target shares: envelope, errors, budget.

Every failure becomes a `CloudflareError`: `CloudflareRetryable` for what a later attempt may fix
(429, 5xx, 408/409, Cloudflare's "unknown error" 8000000, timeouts, dropped connections; with the
server's Retry-After when it sent one), `CloudflareRejected` for the rest (bad token, unknown
project, …), carrying Cloudflare's own error code and message. Neither the API token nor a
deploy hook URL ever appears in an error. Each request first takes a slot from the shared API
budget (`before_request`) and is counted for /metrics (`after_response`): see `usage.py`.
"""

from __future__ import annotations

import email.utils
import ssl
import time
from collections.abc import Callable
from functools import cache
from typing import Any

import httpx

from relay import __version__
from relay.core.exceptions import CloudflareRejected, CloudflareRetryable
from relay.core.settings import CloudflareSettings

RETRYABLE_STATUS = {408, 409, 429}
UNKNOWN_ERROR = 8000000


@cache
def tls_context() -> ssl.SSLContext:
    """One TLS context per process. Building it loads the CA bundle (26-49 ms measured); the
    worker builds it before it starts threads or forks, so every client shares it."""
    return httpx.create_ssl_context()


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.replace(".", "", 1).isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when.timestamp() - time.time())


def envelope(response: httpx.Response, what: str) -> dict[str, Any]:
    """The v4 envelope of a successful answer; else the `CloudflareError` it means."""
    status = response.status_code
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        body = {}
    errors = body.get("errors") or []
    first = errors[0] if errors and isinstance(errors[0], dict) else {}
    code = first.get("code") if isinstance(first.get("code"), int) else None
    message = str(first.get("message") or response.reason_phrase or "no message")
    if status < 400 and body.get("success", False):
        return body
    retry_after = parse_retry_after(response.headers.get("retry-after"))
    if status in RETRYABLE_STATUS or status >= 500 or code == UNKNOWN_ERROR:
        raise CloudflareRetryable(
            f"{what}: {message}", status_code=status, code=code, retry_after=retry_after
        )
    if status < 400:  # 2xx without success: an envelope we do not understand
        raise CloudflareRetryable(f"{what}: unexpected answer", status_code=status, code=code)
    raise CloudflareRejected(f"{what}: {message}", status_code=status, code=code)


class CloudflareClient:
    """A small synchronous client (the worker is synchronous); one per process and purpose."""

    def __init__(
        self,
        settings: CloudflareSettings,
        *,
        before_request: Callable[[], None] | None = None,
        after_response: Callable[[str, float], None] | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.settings = settings
        self.before_request = before_request
        self.after_response = after_response
        headers = {"User-Agent": f"deploy-hook-relay/{__version__}"}
        if settings.api_token is not None:
            headers["Authorization"] = f"Bearer {settings.api_token.reveal()}"
        self.http = httpx.Client(
            base_url=settings.api_base,
            headers=headers,
            timeout=httpx.Timeout(settings.timeout, connect=min(settings.timeout, 10.0)),
            transport=transport,
            verify=tls_context(),
        )

    def close(self) -> None:
        self.http.close()

    def account(self, path: str) -> str:
        """`path` under the account (`/accounts/<id>/…`)."""
        return f"/accounts/{self.settings.account_id}{path}"

    def call(self, method: str, url: str, *, what: str, **kwargs: Any) -> Any:
        """The `result` of a successful call."""
        return self.request(method, url, what=what, **kwargs).get("result")

    def request(
        self, method: str, url: str, *, what: str, authenticated: bool = True, **kwargs: Any
    ) -> dict[str, Any]:
        """The whole envelope of a successful call; `authenticated=False` sends no token (a
        deploy hook URL is its own credential)."""
        if self.before_request is not None:
            self.before_request()
        request = self.http.build_request(method, url, **kwargs)
        if not authenticated:
            request.headers.pop("authorization", None)
        started = time.monotonic()
        outcome = "error"
        try:
            response = self.http.send(request)
            outcome = str(response.status_code)
        except httpx.TimeoutException:
            outcome = "timeout"
            raise CloudflareRetryable(f"{what}: timed out") from None
        except httpx.TransportError as exc:
            raise CloudflareRetryable(f"{what}: connection failed ({type(exc).__name__})") from None
        finally:
            if self.after_response is not None:
                self.after_response(outcome, time.monotonic() - started)
        return envelope(response, what)
