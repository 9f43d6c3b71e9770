"""Shopify: `X-Shopify-Hmac-Sha256` = base64 HMAC-SHA256 of the raw body.

The key is the app's client secret (API secret key) as UTF-8; the header is compared whole, as
`@shopify/shopify-api` does. Event-style deliveries use the unprefixed lower-case names
(`shopify-hmac-sha256`, `shopify-topic`, `shopify-event-id`), which are read as well. The delivery
id is `X-Shopify-Event-Id` (Shopify's documented duplicate key; `X-Shopify-Webhook-Id` when
absent); the event is `X-Shopify-Topic` (`orders/create` …). Shopify signs no timestamp.
`verify_base64_body` is shared with WooCommerce and WP Webhooks, which sign the same way.
"""

from __future__ import annotations

import base64

from relay.core.exceptions import WebhookRejected
from relay.web.providers.base import IncomingRequest, Provider, Verified, matches_any
from relay.web.providers.hmac_sha256 import digest

HEADER = "X-Shopify-Hmac-Sha256"
EVENTS_HEADER = "shopify-hmac-sha256"


def verify_base64_body(
    request: IncomingRequest, header: str, keys: list[bytes], bodies: tuple[bytes, ...] = ()
) -> None:
    """Refuse unless `header` is the base64 HMAC-SHA256 of the body (or one of `bodies`, the
    forms of it the sender may have signed) under one of `keys`."""
    offered = request.require(header)
    try:
        raw = base64.b64decode(offered, validate=True)
    except ValueError:  # binascii.Error, or text that is not ASCII
        raw = b""
    if len(raw) != 32:
        raise WebhookRejected(f"malformed {header} header (expected a base64 HMAC-SHA256)")
    signed = bodies or (request.body,)
    expected = [digest(key, body, "base64") for key in keys for body in signed]
    if not matches_any(list(expected), offered):
        raise WebhookRejected(f"{header} does not match the body (wrong secret or altered body)")


class Shopify(Provider):
    name = "shopify"

    def verify(self, request: IncomingRequest) -> Verified:
        events_style = not request.header(HEADER) and bool(request.header(EVENTS_HEADER))
        prefix = "shopify-" if events_style else "X-Shopify-"
        verify_base64_body(request, prefix + "Hmac-Sha256", [s.encode() for s in self.secrets])
        delivery = request.header(prefix + "Event-Id") or request.header(prefix + "Webhook-Id")
        return Verified(hint_id=delivery or None, event=request.header(prefix + "Topic") or None)

    def sign(self, body: bytes, *, path: str, now: float) -> dict[str, str]:
        return {
            HEADER: digest(self.secrets[0].encode(), body, "base64"),
            "X-Shopify-Topic": "products/update",
            "content-type": "application/json",
        }
