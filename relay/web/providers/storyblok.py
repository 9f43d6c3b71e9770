"""Storyblok: `webhook-signature` = lowercase hex HMAC-SHA1 of the raw body.

The secret is the webhook secret as UTF-8 (paid plans). There is no timestamp and no delivery
id; the event is the body's `action` (`published`, `unpublished`, `deleted`, `moved` …).
"""

from __future__ import annotations

import hashlib
import hmac
import re

from relay.core.exceptions import WebhookRejected
from relay.web.providers.base import IncomingRequest, Provider, Verified, matches_any
from relay.web.providers.payload import field, json_body

HEADER = "webhook-signature"
_HEX40 = re.compile(r"[0-9a-fA-F]{40}")


def hex_signature(secret: bytes, body: bytes) -> str:
    return hmac.new(secret, body, hashlib.sha1).hexdigest()


class Storyblok(Provider):
    name = "storyblok"

    def verify(self, request: IncomingRequest) -> Verified:
        offered = request.require(HEADER)
        if not _HEX40.fullmatch(offered):
            raise WebhookRejected(f"malformed {HEADER} header (expected 40 hex digits)")
        expected = [hex_signature(s.encode(), request.body) for s in self.secrets]
        if not matches_any(list(expected), offered):
            raise WebhookRejected(
                f"{HEADER} does not match the body (wrong secret or altered body)"
            )
        return Verified(event=field(json_body(request.body), "action"))

    def sign(self, body: bytes, *, path: str, now: float) -> dict[str, str]:
        return {
            HEADER: hex_signature(self.secrets[0].encode(), body),
            "content-type": "application/json",
        }
