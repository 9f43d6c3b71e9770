"""Hygraph (formerly GraphCMS): `gcms-signature: sign=<base64>, env=<environment>, t=<ms>`.

`sign` is the base64 HMAC-SHA256 (secret as UTF-8) of the JavaScript
`JSON.stringify({Body: rawBody, EnvironmentName: env, TimeStamp: t})`: compact, in that key
order, the raw body as a JSON string and the timestamp as a number (`@hygraph/utils`). Python's
`json.dumps(…, separators=(",", ":"), ensure_ascii=False)` escapes a valid UTF-8 string exactly as
JSON.stringify does (`\\"`, `\\\\`, `\\n` …, other control characters as lowercase `\\u00xx`,
everything else verbatim). The library checks no timestamp age; the relay refuses a timestamp
further than `tolerance` (5 minutes; whether Hygraph signs its retries anew is not documented:
raise it, or set 0, if its retries are refused as too old) and remembers each signature that long,
so a captured request cannot build again. Hygraph sends no delivery id; the event is the body's
`operation`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import ClassVar

from relay.core.declare import OptionSpec
from relay.core.exceptions import WebhookRejected
from relay.web.providers.base import IncomingRequest, Provider, Verified, matches_any
from relay.web.providers.payload import field, json_body
from relay.web.providers.timestamps import check_age, parse_ms, seconds, tolerance_option

HEADER = "gcms-signature"
DEFAULT_ENVIRONMENT = "master"


def signed_message(body: str, environment: str, timestamp: int) -> bytes:
    message = {"Body": body, "EnvironmentName": environment, "TimeStamp": timestamp}
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode()


def signature(secret: bytes, message: bytes) -> str:
    return base64.b64encode(hmac.new(secret, message, hashlib.sha256).digest()).decode()


def parse_header(value: str) -> tuple[str, str, str]:
    """(sign, env, t) from the header, split the way the library splits it."""
    parts = value.split(", ")
    prefixes = ("sign=", "env=", "t=")
    if len(parts) != 3 or not all(p.startswith(x) for p, x in zip(parts, prefixes, strict=True)):
        raise WebhookRejected(f"malformed {HEADER} header (expected sign=…, env=…, t=…)")
    sign, env, raw_t = (p.removeprefix(x) for p, x in zip(parts, prefixes, strict=True))
    return sign, env, raw_t


#: the library checks no age; Hygraph signs each attempt, so the relay refuses older timestamps
DEFAULT_TOLERANCE = 300.0


class Hygraph(Provider):
    name = "hygraph"
    options: ClassVar[dict[str, OptionSpec]] = {"tolerance": tolerance_option(DEFAULT_TOLERANCE)}

    def verify(self, request: IncomingRequest) -> Verified:
        offered, environment, raw_t = parse_header(request.require(HEADER))
        timestamp = parse_ms(HEADER, raw_t)
        check_age(HEADER, timestamp, request.received_at, seconds(self.option("tolerance")))
        try:
            text = request.body.decode("utf-8")
        except UnicodeDecodeError:
            raise WebhookRejected("body is not valid UTF-8 (Hygraph signs JSON text)") from None
        message = signed_message(text, environment, timestamp)
        expected = [signature(s.encode(), message) for s in self.secrets]
        if not matches_any(list(expected), offered):
            raise WebhookRejected(
                f"{HEADER} does not match the body (wrong secret or altered body)"
            )
        doc = json_body(request.body)
        return Verified(
            replay_token=offered,
            replay_window=seconds(self.option("tolerance")),
            event=field(doc, "operation"),
            content_type=field(doc, "data", "__typename"),
        )

    def sign(self, body: bytes, *, path: str, now: float) -> dict[str, str]:
        timestamp = round(now * 1000)
        message = signed_message(body.decode("utf-8"), DEFAULT_ENVIRONMENT, timestamp)
        value = signature(self.secrets[0].encode(), message)
        return {
            HEADER: f"sign={value}, env={DEFAULT_ENVIRONMENT}, t={timestamp}",
            "content-type": "application/json",
        }
