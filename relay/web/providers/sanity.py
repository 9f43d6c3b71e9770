"""Sanity GROQ-powered webhooks: `sanity-webhook-signature: t=<ms>,v1=<base64url HMAC>`.

The signature is the unpadded base64url HMAC-SHA256 of `"{t}.{body}"` with the secret as UTF-8
(`@sanity/webhook`). The header is parsed with the library's own pattern, so `t=…, v1=…` is read
too; only `v1` is compared. The library checks no timestamp age; the relay refuses a timestamp
further than `tolerance` (5 minutes; Sanity retries twice, 30 s apart) and remembers each
signature that long, so a captured request replayed is `401` after it and `200 duplicate`
within it. The `idempotency-key` header is not signed: it recognises Sanity's retries, but a
request with a new one proves nothing (it is only a hint).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from typing import ClassVar

from relay.core.declare import OptionSpec
from relay.core.exceptions import WebhookRejected
from relay.web.providers.base import IncomingRequest, Provider, Verified, matches_any
from relay.web.providers.payload import field, json_body
from relay.web.providers.timestamps import check_age, parse_ms, seconds, tolerance_option

HEADER = "sanity-webhook-signature"
#: `@sanity/webhook`'s SIGNATURE_HEADER_REGEX (with ASCII digits)
_FORMAT = re.compile(r"t=([0-9]+)[, ]+v1=([^, ]+)")
#: `@sanity/webhook` checks no age; the relay does (as Standard Webhooks): Sanity signs when it
#: sends, and retries twice 30 s apart, well inside it
DEFAULT_TOLERANCE = 300.0
#: the library refuses timestamps before 2021-01-01 (seconds sent instead of milliseconds)
MINIMUM_TIMESTAMP = 1_609_459_200_000


def signature(secret: bytes, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


class Sanity(Provider):
    name = "sanity"
    options: ClassVar[dict[str, OptionSpec]] = {"tolerance": tolerance_option(DEFAULT_TOLERANCE)}

    def verify(self, request: IncomingRequest) -> Verified:
        match = _FORMAT.fullmatch(request.require(HEADER))
        if not match:
            raise WebhookRejected(f"malformed {HEADER} header (expected t=<ms>,v1=<signature>)")
        raw_t, offered = match[1], match[2]
        timestamp = parse_ms(HEADER, raw_t, MINIMUM_TIMESTAMP)
        check_age(HEADER, timestamp, request.received_at, seconds(self.option("tolerance")))
        expected = [signature(s.encode(), raw_t, request.body) for s in self.secrets]
        if not matches_any(list(expected), offered):
            raise WebhookRejected(
                f"{HEADER} does not match the body (wrong secret or altered body)"
            )
        tolerance = seconds(self.option("tolerance"))
        return Verified(
            hint_id=request.header("idempotency-key") or None,
            replay_token=offered,
            replay_window=tolerance,
            event=request.header("sanity-operation") or None,
            content_type=field(json_body(request.body), "_type"),
        )

    def sign(self, body: bytes, *, path: str, now: float) -> dict[str, str]:
        timestamp = str(round(now * 1000))
        value = signature(self.secrets[0].encode(), timestamp, body)
        return {
            HEADER: f"t={timestamp},v1={value}",
            "idempotency-key": "idem_" + hashlib.sha256(body + timestamp.encode()).hexdigest()[:24],
            "content-type": "application/json",
        }
