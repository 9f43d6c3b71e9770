"""WooCommerce: `X-WC-Webhook-Signature` = base64 HMAC-SHA256 of the raw body.

WooCommerce keys the HMAC with the secret after `wp_specialchars_decode(…, ENT_QUOTES)`, so a
secret pasted as shown (`&amp;` …) or as typed both work. `X-WC-Webhook-Topic` is the event
(`order.updated` …) and `X-WC-Webhook-Resource` the content type. `X-WC-Webhook-Delivery-ID` is
new on every attempt, so it is not a delivery id: the relay's digest window dedupes instead.

When a webhook is saved as active WooCommerce first posts an *unsigned* ping, form body
`webhook_id=<n>`, and refuses to activate unless it gets HTTP 200. With `accept_ping` (default
on) exactly that request passes as event `webhook.ping`, a handshake: answered 200 and recorded as
ignored, it never touches a target whatever the filters say (anyone can send it).
"""

from __future__ import annotations

import re
from fnmatch import fnmatchcase
from typing import ClassVar

from relay.core.build_settings import HookSettings
from relay.core.declare import Kind, OptionSpec
from relay.web.providers.base import IncomingRequest, Provider, Verified
from relay.web.providers.hmac_sha256 import digest
from relay.web.providers.shopify import verify_base64_body

HEADER = "X-WC-Webhook-Signature"
PING_EVENT = "webhook.ping"
_PING = re.compile(rb"webhook_id=[0-9]+")
#: wp_specialchars_decode($secret, ENT_QUOTES): these entities only, `&amp;` last
_ENTITIES = (
    ("&lt;", "<"),
    ("&#060;", "<"),
    ("&#60;", "<"),
    ("&gt;", ">"),
    ("&#062;", ">"),
    ("&#62;", ">"),
    ("&quot;", '"'),
    ("&#034;", '"'),
    ("&#34;", '"'),
    ("&#x22;", '"'),
    ("&#039;", "'"),
    ("&#39;", "'"),
    ("&#x27;", "'"),
    ("&#038;", "&"),
    ("&#38;", "&"),
    ("&#x26;", "&"),
    ("&amp;", "&"),
)


def _matches(value: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatchcase(value, pattern) for pattern in patterns)


def specialchars_decode(secret: str) -> str:
    for entity, char in _ENTITIES:
        secret = secret.replace(entity, char)
    return secret


class WooCommerce(Provider):
    name = "woocommerce"
    options: ClassVar[dict[str, OptionSpec]] = {
        "accept_ping": OptionSpec(Kind.BOOL, True, "answer WooCommerce's unsigned activation ping"),
    }
    default_events = ("*.created", "*.updated", "*.deleted", "*.restored", "action.*")

    @classmethod
    def warnings(cls, hook: HookSettings) -> list[str]:
        events = hook.filters.events
        if hook.options.get("accept_ping", True) and events and _matches(PING_EVENT, events):
            return [
                f"hooks.{hook.name}.filter.events: also matches {PING_EVENT}, WooCommerce's "
                "unsigned activation ping, which anyone can send; the relay never builds it, "
                "but a filter naming the topics you want (e.g. product.updated) says what it means"
            ]
        return []

    def hmac_keys(self) -> list[bytes]:
        found: list[bytes] = []
        for secret in self.secrets:
            for text in (secret.reveal(), specialchars_decode(secret.reveal())):
                if text.encode() not in found:
                    found.append(text.encode())
        return found

    def verify(self, request: IncomingRequest) -> Verified:
        ping = not request.header(HEADER) and _PING.fullmatch(request.body)
        if ping and self.option("accept_ping"):
            return Verified(event=PING_EVENT, handshake=True)
        verify_base64_body(request, HEADER, self.hmac_keys())
        return Verified(
            event=request.header("X-WC-Webhook-Topic") or None,
            content_type=request.header("X-WC-Webhook-Resource") or None,
        )

    def sign(self, body: bytes, *, path: str, now: float) -> dict[str, str]:
        return {
            HEADER: digest(specialchars_decode(self.secrets[0].reveal()).encode(), body, "base64"),
            "X-WC-Webhook-Topic": "product.updated",
            "X-WC-Webhook-Resource": "product",
            "X-WC-Webhook-Event": "updated",
            "content-type": "application/json",
        }
