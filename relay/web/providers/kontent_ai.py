"""Kontent.ai: `X-Kontent-ai-Signature` (legacy webhooks: `X-KC-Signature`), base64 HMAC-SHA256.

The key is the webhook secret string as UTF-8 (not base64-decoded). Kontent.ai signs its
pretty-printed JSON with CRLF line breaks: `@kontent-ai/webhook-helper` 4 hashes the body after
replacing every run of CR/LF with one CRLF, 3.x hashes it as received. Both are accepted, so a
proxy that rewrites line breaks does not break verification (and changing only line breaks does
not change what is accepted, as in the helper). There is no timestamp or delivery id; the event
is the first notification's `message.action` (`published` …; legacy `message.operation`) and the
content type its `data.system.type` (legacy `data.items[0].type`). One request may batch several
notifications; only the first one's event and type are reported.
"""

from __future__ import annotations

import re

from relay.web.providers.base import IncomingRequest, Provider, Verified
from relay.web.providers.hmac_sha256 import digest
from relay.web.providers.payload import field, json_body
from relay.web.providers.shopify import verify_base64_body

HEADER = "X-Kontent-ai-Signature"
LEGACY_HEADER = "X-KC-Signature"
_LINE_BREAKS = re.compile(rb"[\r\n]+")


def crlf(body: bytes) -> bytes:
    """The helper's replaceLinebreaks: every run of CR/LF becomes one CRLF."""
    return _LINE_BREAKS.sub(b"\r\n", body)


class KontentAi(Provider):
    name = "kontent-ai"

    def verify(self, request: IncomingRequest) -> Verified:
        header = HEADER
        if not request.header(HEADER) and request.header(LEGACY_HEADER):
            header = LEGACY_HEADER
        keys = [s.encode() for s in self.secrets]
        verify_base64_body(request, header, keys, (request.body, crlf(request.body)))
        doc = json_body(request.body)
        if header == LEGACY_HEADER:
            return Verified(
                event=field(doc, "message", "operation"),
                content_type=field(doc, "data", "items", 0, "type"),
            )
        return Verified(
            event=field(doc, "notifications", 0, "message", "action"),
            content_type=field(doc, "notifications", 0, "data", "system", "type"),
        )

    def sign(self, body: bytes, *, path: str, now: float) -> dict[str, str]:
        return {
            HEADER: digest(self.secrets[0].encode(), crlf(body), "base64"),
            "content-type": "application/json",
        }
