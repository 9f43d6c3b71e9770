"""Standard Webhooks 1.0 and Svix: `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`.

Headers `webhook-id`, `webhook-timestamp`, `webhook-signature`; Svix sends the same values as
`svix-id`, `svix-timestamp`, `svix-signature` (both are accepted, svix-* first, as Svix's own
library does). Secrets are `whsec_` + base64 of the key. Timestamps older or newer than the
tolerance (default 5 minutes, as both official libraries) are refused.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import ClassVar

from relay.core.declare import OptionSpec
from relay.core.exceptions import WebhookRejected
from relay.core.secret import Secret
from relay.web.providers.base import (
    IncomingRequest,
    KeyScheme,
    Provider,
    Verified,
    matches_any,
)
from relay.web.providers.timestamps import check_age, seconds, tolerance_option

DEFAULT_TOLERANCE = 300.0


def decode_secret(secret: Secret) -> bytes:
    """The HMAC key inside a `whsec_…` secret (padding optional, as the Python library allows)."""
    text = secret.reveal().removeprefix("whsec_")
    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)


def signature(key: bytes, msg_id: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def check_timestamp(header: str, raw: str, now: float, tolerance: float) -> None:
    """Refuse a timestamp that is not Unix seconds, or further than `tolerance` from now."""
    if not raw.isdigit() or len(raw) > 12:
        raise WebhookRejected(f"malformed {header} header: not a Unix timestamp in seconds")
    check_age(header, int(raw) * 1000, now, tolerance)


def verify_standard(request: IncomingRequest, keys: list[bytes], tolerance: float) -> Verified:
    """Verify the Standard Webhooks headers (or their svix-* twins) against each key."""
    prefix = "svix" if request.header("svix-id") is not None else "webhook"
    msg_id = request.require(f"{prefix}-id")
    raw_ts = request.require(f"{prefix}-timestamp")
    raw_sig = request.require(f"{prefix}-signature")
    check_timestamp(f"{prefix}-timestamp", raw_ts, request.received_at, tolerance)
    offered = []
    for entry in raw_sig.split():
        version, _, value = entry.partition(",")
        if version == "v1" and value:
            offered.append(value)
    if not offered:
        raise WebhookRejected(f"{prefix}-signature has no v1 signature")
    expected = [signature(key, msg_id, raw_ts, request.body) for key in keys]
    if not any(matches_any(list(expected), candidate) for candidate in offered):
        raise WebhookRejected(
            f"{prefix}-signature does not match the body (wrong secret or altered body)"
        )
    return Verified(delivery_id=msg_id, event=_event_type(request.body))


def _event_type(body: bytes) -> str | None:
    import orjson

    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    value = doc.get("type") if isinstance(doc, dict) else None
    return value if isinstance(value, str) else None


#: Standard Webhooks keys are 24 to 64 bytes (the specification; Svix's are 24 or 32)
KEYS = KeyScheme(decode_secret, "a Standard Webhooks secret (whsec_ followed by base64)", 24, 64)


class StandardWebhooks(Provider):
    name = "standard-webhooks"
    key_scheme = KEYS
    options: ClassVar[dict[str, OptionSpec]] = {
        "tolerance": tolerance_option(DEFAULT_TOLERANCE),
    }

    def verify(self, request: IncomingRequest) -> Verified:
        return verify_standard(request, self.keys, seconds(self.option("tolerance")))

    def sign(self, body: bytes, *, path: str, now: float) -> dict[str, str]:
        msg_id = "msg_" + hashlib.sha256(body + str(now).encode()).hexdigest()[:24]
        timestamp = str(int(now))
        return {
            "webhook-id": msg_id,
            "webhook-timestamp": timestamp,
            "webhook-signature": "v1," + signature(self.keys[0], msg_id, timestamp, body),
            "content-type": "application/json",
        }
