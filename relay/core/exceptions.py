"""The relay's one exception tree.

    RelayError
    ├── ConfigError              relay.toml or the environment is wrong (one line per problem)
    ├── WebhookRejected          a request to POST /hooks/{hook} is refused (status + reason)
    ├── StoreUnavailable         Redis cannot take or give data right now
    └── CloudflareError          a call to Cloudflare did not give what was asked
        ├── CloudflareRetryable  429, 5xx, timeouts, dropped connections: try again later
        └── CloudflareRejected   any other 4xx: retrying will not help

Catch `RelayError` to handle anything the relay raises on purpose::

    try:
        settings = load_settings(path)
    except RelayError as exc:
        raise SystemExit(f"relay: {exc}")

No message in this tree ever carries a secret: callers pass names and reasons, never values.
"""

from __future__ import annotations


class RelayError(Exception):
    """Base of every error the relay raises on purpose."""


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


class WebhookRejected(RelayError):
    """A webhook request is refused; `reason` is safe to send back to the sender."""

    def __init__(self, reason: str, status_code: int = 401) -> None:
        self.reason = reason
        self.status_code = status_code
        super().__init__(reason)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status_code={self.status_code}, reason={self.reason!r})"


class StoreUnavailable(RelayError):
    """Redis did not answer in time or refused the command."""


class CloudflareError(RelayError):
    """A Cloudflare call failed; `code` and `message` are Cloudflare's own when it sent them."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        code: int | None = None,
    ) -> None:
        self.message = message
        self.status_code = status_code
        self.code = code
        super().__init__(message)

    def __str__(self) -> str:
        parts = []
        if self.status_code is not None:
            parts.append(f"HTTP {self.status_code}")
        if self.code is not None:
            parts.append(f"code {self.code}")
        prefix = ", ".join(parts)
        return f"{prefix}: {self.message}" if prefix else self.message

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(status_code={self.status_code}, code={self.code}, "
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
