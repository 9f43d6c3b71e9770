"""Notion API webhooks: `X-Notion-Signature: sha256=<hex HMAC-SHA256 of the body>`.

The key is the subscription's `verification_token` (UTF-8). Notion delivers that token once, in
an unsigned request whose body is `{"verification_token": "…"}`, when the subscription is
created; the relay refuses that request (it cannot know the token yet) with a reason that says
what it is. Capture the token another way (see docs/providers.md), set it as the hook's secret
and paste it into Notion's "Verify" dialog. The event is the body's `type`
(`page.content_updated` …), the delivery id its `id`, the content type `entity.type`.
"""

from __future__ import annotations

import re

from relay.core.exceptions import WebhookRejected
from relay.web.providers.base import IncomingRequest, Provider, Verified, matches_any
from relay.web.providers.hmac_sha256 import digest
from relay.web.providers.payload import field, json_body

HEADER = "X-Notion-Signature"
_FORMAT = re.compile(r"sha256=[0-9a-fA-F]{64}")


class Notion(Provider):
    name = "notion"

    def verify(self, request: IncomingRequest) -> Verified:
        if not request.header(HEADER):
            doc = json_body(request.body)
            if isinstance(doc, dict) and "verification_token" in doc:
                raise WebhookRejected(
                    f"Notion's unsigned verification request (no {HEADER} header): "
                    "its verification_token is this hook's secret; capture it and configure it"
                )
        offered = request.require(HEADER)
        if not _FORMAT.fullmatch(offered):
            raise WebhookRejected(f"malformed {HEADER} header (expected sha256=<hex>)")
        expected = ["sha256=" + digest(s.encode(), request.body, "hex") for s in self.secrets]
        if not matches_any(list(expected), offered):
            raise WebhookRejected(
                f"{HEADER} does not match the body (wrong secret or altered body)"
            )
        doc = json_body(request.body)
        return Verified(
            delivery_id=field(doc, "id"),
            event=field(doc, "type"),
            content_type=field(doc, "entity", "type"),
        )

    def sign(self, body: bytes, *, path: str, now: float) -> dict[str, str]:
        value = "sha256=" + digest(self.secrets[0].encode(), body, "hex")
        return {HEADER: value, "content-type": "application/json"}
