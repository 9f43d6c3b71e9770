"""What every provider (one sender's authentication scheme) implements.

A provider is built once per hook from that hook's settings. The receiver hands it the raw
request; it answers with a `Verified` (the sender's delivery id and event name, when the scheme
has them) or raises `WebhookRejected` with a reason that names the failed check and never a
secret. `sign()` is the sender's side of the same scheme: `relay sign`, `relay send-test` and the
tests use it to produce requests the relay must accept.
"""

from __future__ import annotations

import binascii
import hmac
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from relay.core.declare import Kind, OptionSpec
from relay.core.exceptions import WebhookRejected
from relay.core.secret import Secret

if TYPE_CHECKING:
    from relay.core.build_settings import HookSettings


@dataclass(frozen=True)
class IncomingRequest:
    """A webhook request exactly as received: verification works on these raw bytes."""

    method: str
    path: str  # the request path with its query string, as sent ("/hooks/blog?x=1")
    headers: Mapping[str, str]  # names lower-cased
    body: bytes
    received_at: float  # Unix seconds, when the relay read the request

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def require(self, name: str) -> str:
        """The header's value; a missing or empty header is a rejection that names it."""
        value = self.headers.get(name.lower(), "").strip()
        if not value:
            raise WebhookRejected(f"missing {name} header")
        return value


@dataclass(frozen=True)
class Verified:
    """What a successful verification learned about the delivery."""

    #: an id the signature covers, stable across the sender's retries: a repeat is a duplicate
    delivery_id: str | None = None
    #: an id in a header the signature does not cover: it recognises the sender's retries, but
    #: anyone can change it, so it proves nothing (a replay with a new one is not a duplicate)
    hint_id: str | None = None
    #: the signature itself, when it covers a timestamp: unique to one sending, so a captured
    #: request replayed within the tolerance is a duplicate (after it, the timestamp refuses it)
    replay_token: str | None = None
    replay_window: float = 0.0  # seconds: the tolerance that bounds how long a replay can pass
    #: the sender's event or topic name, for display and filters; None when the scheme does not
    #: establish it from signed or trusted data (filters on it then fail closed)
    event: str | None = None
    branch: str | None = None  # for push events (GitHub, GitLab): the branch pushed to
    content_type: str | None = None  # the changed document's type (Sanity _type, Contentful …)
    #: an unsigned handshake the sender needs answered (WooCommerce's activation ping): it is
    #: recorded and answered 200, and never builds, whatever the filters say
    handshake: bool = False


#: options of the generic schemes (hmac-sha256, token, none): headers that carry the sender's
#: delivery id (for dedupe) and event name (for filters and display), when it sends them
HEADER_ID_OPTIONS: Mapping[str, OptionSpec] = {
    "id_header": OptionSpec(Kind.STRING, None, "a header with the sender's delivery id"),
    "event_header": OptionSpec(Kind.STRING, None, "a header with the sender's event name"),
}


def secret_key(hook: HookSettings, index: int) -> str:
    """How the config names the hook's `index`-th secret, for problems."""
    if len(hook.secrets) > 1:
        return f"hooks.{hook.name}.secrets[{index}]"
    return f"hooks.{hook.name}.secret"


def _every(secret: Secret) -> bool:
    return True


@dataclass(frozen=True)
class KeyScheme:
    """How a provider's secret becomes its HMAC key, and what a usable key is: a secret that
    decodes to an empty or short key (`secret = "whsec_${VAR}"` with VAR empty) would let anyone
    forge a request, so it is a config error naming the key."""

    decode: Callable[[Secret], bytes]
    description: str  # "a Standard Webhooks secret (whsec_ followed by base64)"
    min_bytes: int = 1
    max_bytes: int | None = None
    applies: Callable[[Secret], bool] = _every  # which of the hook's secrets are keys

    def problem(self, secret: Secret) -> str | None:
        try:
            key = self.decode(secret)
        except (binascii.Error, ValueError):
            return f"not {self.description}"
        too_long = self.max_bytes is not None and len(key) > self.max_bytes
        if len(key) < self.min_bytes or too_long:
            bounds = (
                f"{self.min_bytes} to {self.max_bytes}" if self.max_bytes else f"{self.min_bytes}+"
            )
            return f"decodes to a {len(key)}-byte key; {self.description} needs {bounds} bytes"
        return None


class Provider(ABC):
    """One sender's scheme. Subclasses set `name` and implement `verify` and `sign`."""

    name: ClassVar[str]
    #: extra keys allowed in the hook's table, beyond provider/secret/secrets/targets/filters
    options: ClassVar[Mapping[str, OptionSpec]] = {}
    #: False for schemes that carry no shared secret (`basic` uses username/password, `none`)
    needs_secret: ClassVar[bool] = True
    #: event-name globs that build when the hook sets no `filter.events` (None: every event)
    default_events: ClassVar[tuple[str, ...] | None] = None
    #: the status of a stored delivery's answer: 202, except for senders that retry anything
    #: but 200 (Prismic)
    accepted_status: ClassVar[int] = 202
    #: for schemes whose secret encodes a key (Standard Webhooks, Airtable): how to decode it
    key_scheme: ClassVar[KeyScheme | None] = None

    def __init__(self, hook: HookSettings) -> None:
        self.hook = hook
        scheme = self.key_scheme
        #: the decoded HMAC keys (for a `key_scheme`), one per secret it applies to
        self.keys = [scheme.decode(s) for s in hook.secrets if scheme.applies(s)] if scheme else []

    @property
    def secrets(self) -> tuple[Secret, ...]:
        """Every secret currently accepted (more than one while a secret is being rotated)."""
        return self.hook.secrets

    def option(self, key: str) -> object:
        return self.hook.options.get(key, self.options[key].default)

    @classmethod
    def check(cls, hook: HookSettings) -> list[str]:
        """Problems with this hook's settings beyond their types; one line each, naming the key.
        Subclasses add theirs to these: a blank secret, a secret that is no usable key."""
        problems = []
        for index, secret in enumerate(hook.secrets):
            if not secret.reveal().strip():
                problems.append(f"{secret_key(hook, index)}: is blank")
            elif cls.key_scheme is not None and cls.key_scheme.applies(secret):
                problem = cls.key_scheme.problem(secret)
                if problem:
                    problems.append(f"{secret_key(hook, index)}: {problem}")
        return problems

    def from_headers(self, request: IncomingRequest) -> Verified:
        """Delivery id and event from the headers named by `HEADER_ID_OPTIONS`, if set."""
        id_header = self.hook.options.get("id_header") or self.options["id_header"].default
        event_header = self.hook.options.get("event_header") or self.options["event_header"].default
        return Verified(
            hint_id=(request.header(str(id_header)) or None) if id_header else None,
            event=(request.header(str(event_header)) or None) if event_header else None,
        )

    @classmethod
    def warnings(cls, hook: HookSettings) -> list[str]:
        """Things to warn about at every start (e.g. an unauthenticated hook)."""
        return []

    @abstractmethod
    def verify(self, request: IncomingRequest) -> Verified:
        """Return what was learned, or raise `WebhookRejected(reason)`."""

    @abstractmethod
    def sign(self, body: bytes, *, path: str, now: float) -> dict[str, str]:
        """The headers this hook's sender would send with `body` to `path` at time `now`."""

    def curl_args(self, body: bytes, *, path: str, now: float) -> list[str]:
        """curl options that send `body` as this hook's sender would, for a sample printed on a
        terminal. A signature is fine to show (it covers this body only); schemes that send
        the secret itself override this to show a placeholder instead."""
        return [arg for item in self.sign(body, path=path, now=now).items() for arg in _h(*item)]


def _h(name: str, value: str) -> tuple[str, str]:
    return "-H", f"{name}: {value}"


def matches_any(expected: list[bytes | str], received: bytes | str) -> bool:
    """Constant-time comparison of `received` against each candidate (one per secret)."""
    got = received.encode() if isinstance(received, str) else received
    found = False
    for candidate in expected:
        want = candidate.encode() if isinstance(candidate, str) else candidate
        # no early exit: every candidate is compared, so timing does not tell which matched
        found |= hmac.compare_digest(want, got)
    return found
