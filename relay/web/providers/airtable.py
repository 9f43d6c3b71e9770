"""Airtable: `X-Airtable-Content-MAC: hmac-sha256=<hex HMAC-SHA256 of the body>`.

The key is the webhook's `macSecretBase64` (returned once, when the webhook is created),
base64-decoded. The notification is a thin ping (`base.id`, `webhook.id`, `timestamp`): there is
no delivery id or event; fetch the payloads with Airtable's API if you need them.
"""

from __future__ import annotations

import base64
import re

from relay.core.exceptions import WebhookRejected
from relay.core.secret import Secret
from relay.web.providers.base import (
    IncomingRequest,
    KeyScheme,
    Provider,
    Verified,
    matches_any,
)
from relay.web.providers.hmac_sha256 import digest

HEADER = "X-Airtable-Content-MAC"
PREFIX = "hmac-sha256="
_FORMAT = re.compile(r"hmac-sha256=[0-9a-fA-F]{64}")


def decode_secret(secret: Secret) -> bytes:
    return base64.b64decode(secret.reveal(), validate=True)


class Airtable(Provider):
    name = "airtable"
    key_scheme = KeyScheme(decode_secret, "base64 (use the webhook's macSecretBase64)", 16)

    def verify(self, request: IncomingRequest) -> Verified:
        offered = request.require(HEADER)
        if not _FORMAT.fullmatch(offered):
            raise WebhookRejected(f"malformed {HEADER} header (expected hmac-sha256=<hex>)")
        expected = [PREFIX + digest(key, request.body, "hex") for key in self.keys]
        if not matches_any(list(expected), offered):
            raise WebhookRejected(
                f"{HEADER} does not match the body (wrong secret or altered body)"
            )
        return Verified()

    def sign(self, body: bytes, *, path: str, now: float) -> dict[str, str]:
        value = PREFIX + digest(self.keys[0], body, "hex")
        return {HEADER: value, "content-type": "application/json"}
