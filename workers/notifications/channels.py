"""A notification channel (`[notify]` or one `[[notify]]` entry): where to post, what it wants.

Its URL is a secret (Slack, Discord and Teams URLs embed their token): it is a `Secret`, never
logged, never in an error message or a repr. Logs name a channel by its position and kind:
"channel 2 (slack)". `events` and `targets` filter (None: all of them); a notice about no
target in particular (redis_lost, an account-wide budget) concerns every target, so a
`targets` filter lets it through.

The format follows the URL (`formats.detect_kind`). `format` overrides that, for receivers
behind a proxy that changes the URL, for the tests' loopback catchers, and for any URL this
version does not recognise (`format = "slack" | "discord" | "teams" | "generic"`).

`secret` (Standard Webhooks: ``whsec_`` and base64, as Svix and the `standardwebhooks`
library generate) makes every message to the channel signed (`webhook-id`,
`webhook-timestamp`, `webhook-signature` headers); it is meant for generic channels, and is
harmless on the others (a verifying proxy in front of Slack can use it).
"""

from __future__ import annotations

import base64
import binascii
import urllib.parse
from collections.abc import Iterable
from dataclasses import dataclass

from relay.core.exceptions import ConfigError
from relay.core.secret import Secret
from workers.notifications.events import Event, Notice
from workers.notifications.formats import ChannelKind, detect_kind

SECRET_PREFIX = "whsec_"  # noqa: S105 (the prefix of the format, not a secret)


@dataclass(frozen=True)
class Channel:
    url: Secret
    events: frozenset[Event] | None = None  # None: every event
    targets: frozenset[str] | None = None  # None: every target
    secret: Secret | None = None  # a Standard Webhooks secret: messages are signed
    format: ChannelKind | None = None  # None: follow the URL
    number: int = 1  # its position in the configuration, for logs

    def __post_init__(self) -> None:
        problems = self.problems(f"notify channel {self.number}")
        if problems:
            raise ConfigError(problems)

    @classmethod
    def create(
        cls,
        url: str | Secret,
        *,
        events: Iterable[str] | None = None,
        targets: Iterable[str] | None = None,
        secret: str | Secret | None = None,
        format: str | None = None,
        number: int = 1,
        key: str = "notify",
    ) -> Channel:
        """A channel from configuration values; ConfigError lists every problem, by key."""
        problems: list[str] = []
        chosen: frozenset[Event] | None = None
        if events is not None:
            names = [str(name) for name in events]
            known_names = {e.value for e in Event}
            unknown = [name for name in names if name not in known_names]
            if unknown:
                known = ", ".join(e.value for e in Event)
                problems.append(f"{key}.events: unknown {', '.join(map(repr, unknown))} ({known})")
            elif not names:
                problems.append(f"{key}.events: empty (leave it out for every event)")
            chosen = frozenset(Event(name) for name in names if name not in unknown)
        kind: ChannelKind | None = None
        if format is not None:
            try:
                kind = ChannelKind(format)
            except ValueError:
                known = ", ".join(k.value for k in ChannelKind)
                problems.append(f"{key}.format: must be one of {known}")
        wrapped = url if isinstance(url, Secret) else Secret(url)
        signing = secret if isinstance(secret, Secret) or secret is None else Secret(secret)
        chosen_targets = frozenset(str(t) for t in targets) if targets is not None else None
        problems.extend(_problems(key, wrapped, signing))
        if problems:
            raise ConfigError(problems)
        return cls(wrapped, chosen, chosen_targets, signing, kind, number)

    def problems(self, key: str) -> list[str]:
        """One line per problem, each naming its key, none showing a value."""
        return _problems(key, self.url, self.secret)

    @property
    def kind(self) -> ChannelKind:
        return self.format if self.format is not None else detect_kind(self.url.reveal())

    @property
    def label(self) -> str:
        """How logs name it: never its URL."""
        return f"channel {self.number} ({self.kind.value})"

    def wants(self, notice: Notice) -> bool:
        if self.events is not None and notice.event not in self.events:
            return False
        return self.targets is None or notice.target is None or notice.target in self.targets


def _problems(key: str, url: Secret, secret: Secret | None) -> list[str]:
    out = []
    try:
        parts = urllib.parse.urlsplit(url.reveal().strip())
        valid = parts.scheme.lower() in ("https", "http") and bool(parts.hostname)
    except ValueError:
        valid = False
    if not valid:
        out.append(f"{key}.url: must be an https:// (or http://) URL")
    if secret is not None:
        try:
            signing_key(secret)
        except ValueError:
            out.append(f"{key}.secret: must be a Standard Webhooks secret (whsec_ and base64)")
    return out


def signing_key(secret: Secret) -> bytes:
    """The HMAC key of a Standard Webhooks secret: the base64 after `whsec_` (the prefix is
    optional, as for the `standardwebhooks` library). ValueError, naming no value, otherwise."""
    text = secret.reveal().strip()
    text = text.removeprefix(SECRET_PREFIX)
    try:
        key = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("not a Standard Webhooks secret") from None
    if not key:
        raise ValueError("an empty Standard Webhooks secret")
    return key
