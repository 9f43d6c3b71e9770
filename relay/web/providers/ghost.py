"""Ghost: `X-Ghost-Signature: sha256=<hex>, t=<ms>`.

The hex HMAC-SHA256 (secret as UTF-8) is over the body immediately followed by the decimal
millisecond timestamp, with no separator (Ghost's webhook-trigger.js). Ghost sends no delivery
id and no event header: each Ghost webhook is bound to one event, so name the event in the hook
(one relay hook per Ghost webhook). Ghost itself checks no timestamp age; the relay refuses a
timestamp further than `tolerance` (5 minutes: Ghost signs when it sends and does not retry), and
remembers each signature that long, so a captured request replayed is `401` after it and
`200 duplicate` within it.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from typing import ClassVar

from relay.core.declare import OptionSpec
from relay.core.exceptions import WebhookRejected
from relay.web.providers.base import IncomingRequest, Provider, Verified, matches_any
from relay.web.providers.payload import field, json_body
from relay.web.providers.timestamps import check_age, parse_ms, seconds, tolerance_option

HEADER = "X-Ghost-Signature"
_FORMAT = re.compile(r"sha256=([0-9a-fA-F]{64}), ?t=([0-9]+)")
#: the top-level key of a Ghost body names the resource
RESOURCES = ("post", "page", "tag", "member")


def hex_signature(secret: bytes, body: bytes, timestamp: str) -> str:
    return hmac.new(secret, body + timestamp.encode(), hashlib.sha256).hexdigest()


#: Ghost signs when it sends and does not retry; the relay refuses timestamps further than this
DEFAULT_TOLERANCE = 300.0


class Ghost(Provider):
    name = "ghost"
    options: ClassVar[dict[str, OptionSpec]] = {"tolerance": tolerance_option(DEFAULT_TOLERANCE)}

    def verify(self, request: IncomingRequest) -> Verified:
        match = _FORMAT.fullmatch(request.require(HEADER))
        if not match:
            raise WebhookRejected(f"malformed {HEADER} header (expected sha256=<hex>, t=<ms>)")
        offered, raw_t = match[1], match[2]
        timestamp = parse_ms(HEADER, raw_t)
        check_age(HEADER, timestamp, request.received_at, seconds(self.option("tolerance")))
        expected = [hex_signature(s.encode(), request.body, raw_t) for s in self.secrets]
        if not matches_any(list(expected), offered):
            raise WebhookRejected(
                f"{HEADER} does not match the body (wrong secret or altered body)"
            )
        doc = json_body(request.body)
        resource = next((key for key in RESOURCES if isinstance(doc, dict) and key in doc), None)
        return Verified(
            replay_token=offered,
            replay_window=seconds(self.option("tolerance")),
            event=field(doc, "event"),
            content_type=resource,
        )

    def sign(self, body: bytes, *, path: str, now: float) -> dict[str, str]:
        timestamp = str(round(now * 1000))
        value = hex_signature(self.secrets[0].encode(), body, timestamp)
        return {HEADER: f"sha256={value}, t={timestamp}", "content-type": "application/json"}
