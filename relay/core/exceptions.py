"""The relay's one exception tree.

    RelayError                       anything the relay raises on purpose
    ├── ConfigError                  relay.toml or the environment is wrong (one line per problem)
    ├── RequestRefused               an HTTP request gets an error answer (`status_code`)
    │   ├── BadRequest          400  a parameter or body field is wrong (the message names it)
    │   ├── WebhookRejected     401  a webhook's signature or token does not verify
    │   ├── NotAuthenticated    401  no or wrong admin token (pages: the sign-in form)
    │   │   └── DashboardOff    401  no admin token is configured at all (pages: 403)
    │   ├── Forbidden           403  authenticated, but not allowed (CSRF, cross-origin)
    │   ├── NotFound            404  unknown hook, target, trigger or page
    │   ├── RequestTimeout      408  the body did not arrive in time
    │   ├── BodyTooLarge        413
    │   └── TooManyAttempts     429  repeated wrong admin tokens from one address
    ├── StorageUnavailable      503  Redis cannot take or give data right now
    ├── BudgetExhausted              the shared Cloudflare API budget stayed full too long
    ├── CloudflareError              a call to Cloudflare did not give what was asked
    │   ├── CloudflareRetryable      429, 5xx, timeouts, dropped connections: try again later
    │   └── CloudflareRejected       any other 4xx: retrying will not help
    ├── NotSupported            409  the target's platform cannot do this (cancel, rollback)
    ├── PruneBusy                    another prune of the same project is running
    └── PruneInterrupted             a prune stopped before its end; running it again resumes

Catch `RelayError` to handle anything the relay raises on purpose::

    try:
        settings = load_settings(path, schemes=PROVIDERS)
    except RelayError as exc:
        raise SystemExit(f"relay: {exc}")

On the web side every `RequestRefused` (and `StorageUnavailable`) becomes its answer in one place,
`relay.web.errors`: JSON `{"error": message}` for scripts and senders, an HTML page for people.
No message in this tree ever carries a secret: callers pass names and reasons, never values.
"""

from __future__ import annotations

from collections.abc import Mapping


class RelayError(Exception):
    """Base of every error the relay raises on purpose."""

    #: the HTTP status this error is answered with on the web side
    status_code: int = 500


class ConfigError(RelayError):
    """The configuration is invalid; `problems` holds one line per problem, each naming its key."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))

    def __str__(self) -> str:
        if len(self.problems) == 1:
            return self.problems[0]
        return f"{len(self.problems)} problems in the configuration:\n" + "\n".join(
            f"  {line}" for line in self.problems
        )


class RequestRefused(RelayError):
    """An HTTP request is refused; `message` is safe to send back, `headers` go with it."""

    status_code = 400

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        if status_code is not None:
            self.status_code = status_code
        self.message = message
        self.headers = dict(headers or {})
        super().__init__(message)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status_code={self.status_code}, message={self.message!r})"


class BadRequest(RequestRefused):
    status_code = 400


class WebhookRejected(RequestRefused):
    """A webhook request is refused (401 unless said otherwise); `reason` names the check."""

    status_code = 401

    @property
    def reason(self) -> str:
        return self.message


class NotAuthenticated(RequestRefused):
    status_code = 401


class Forbidden(RequestRefused):
    status_code = 403


class DashboardOff(NotAuthenticated):
    """No admin token is configured: the dashboard and the API accept nobody."""


class NotFound(RequestRefused):
    status_code = 404


class RequestTimeout(RequestRefused):
    status_code = 408


class BodyTooLarge(RequestRefused):
    status_code = 413


class TooManyAttempts(RequestRefused):
    status_code = 429


class StorageUnavailable(RelayError):
    """Redis did not answer in time or refused the command: answered 503 with Retry-After."""

    status_code = 503


class BudgetExhausted(RelayError):
    """The shared Cloudflare API budget stayed full for longer than the caller would wait;
    `retry_after`: the seconds until a slot frees up, when known."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class CloudflareError(RelayError):
    """A Cloudflare call failed; `code` and `message` are Cloudflare's own when it sent them."""

    status_code = 502

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        code: int | None = None,
    ) -> None:
        self.message = message
        self.http_status = status_code
        self.code = code
        super().__init__(message)

    def __str__(self) -> str:
        parts = []
        if self.http_status is not None:
            parts.append(f"HTTP {self.http_status}")
        if self.code is not None:
            parts.append(f"code {self.code}")
        prefix = ", ".join(parts)
        return f"{prefix}: {self.message}" if prefix else self.message

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(http_status={self.http_status}, code={self.code}, "
            f"message={self.message!r})"
        )


class CloudflareRetryable(CloudflareError):
    """A transient failure (429, 5xx, timeout, dropped connection); `retry_after` in seconds."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        code: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, status_code=status_code, code=code)
        self.retry_after = retry_after


class CloudflareRejected(CloudflareError):
    """A permanent failure (bad token, unknown project, …): retrying gives the same answer."""


class NotSupported(RelayError):
    """The target's platform cannot do this (cancel a Pages build, roll a Worker back here)."""

    status_code = 409


class PruneBusy(RelayError):
    """Another prune of the same Pages project holds the lock."""


class PruneInterrupted(RelayError):
    """A prune stopped before its end (its message says how far); running it again resumes."""
