"""WP Webhooks (the WordPress plugin): `X-WP-Webhook-Signature` = base64 HMAC-SHA256 of the body.

The key is the trigger's secret as UTF-8. The plugin sends no timestamp, delivery id or event
header (the trigger is fixed per webhook URL).
"""

from __future__ import annotations

from relay.web.providers.base import IncomingRequest, Provider, Verified
from relay.web.providers.hmac_sha256 import digest
from relay.web.providers.shopify import verify_base64_body

HEADER = "X-WP-Webhook-Signature"


class WPWebhooks(Provider):
    name = "wp-webhooks"

    def verify(self, request: IncomingRequest) -> Verified:
        verify_base64_body(request, HEADER, [s.encode() for s in self.secrets])
        return Verified()

    def sign(self, body: bytes, *, path: str, now: float) -> dict[str, str]:
        return {
            HEADER: digest(self.secrets[0].encode(), body, "base64"),
            "content-type": "application/json",
        }
