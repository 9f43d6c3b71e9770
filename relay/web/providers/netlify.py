"""Netlify outgoing webhooks: `X-Webhook-Signature` = a compact JWS (HS256).

The token is signed with the notification's "JWS secret token" (UTF-8). The relay checks, with
the standard library only: the header's `alg` is exactly `HS256` (anything else, `none`
included, is refused), the signature, `iss == "netlify"`, and that the `sha256` claim is the hex
SHA-256 of the raw body; `exp`/`nbf`, when present, are honoured. Netlify sends no delivery id;
the event is the deploy's `state` and the branch its `branch`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from typing import Any

from relay.core.exceptions import WebhookRejected
from relay.web.providers.base import IncomingRequest, Provider, Verified, matches_any
from relay.web.providers.payload import field, json_body

HEADER = "X-Webhook-Signature"
ISSUER = "netlify"
_JWS = re.compile(r"([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)")


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _part(text: str) -> Any:
    """A decoded JSON segment of the token; None when it is not base64url JSON."""
    try:
        return json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except (binascii.Error, ValueError):
        return None


def jws_signature(secret: bytes, signing_input: str) -> str:
    return b64url(hmac.new(secret, signing_input.encode(), hashlib.sha256).digest())


class Netlify(Provider):
    name = "netlify"

    def verify(self, request: IncomingRequest) -> Verified:
        match = _JWS.fullmatch(request.require(HEADER))
        header, claims = (_part(match[1]), _part(match[2])) if match else (None, None)
        if not match or not isinstance(header, dict) or not isinstance(claims, dict):
            raise WebhookRejected(f"malformed {HEADER} header (expected a compact JWS)")
        if header.get("alg") != "HS256":
            raise WebhookRejected(f"{HEADER} is not signed with HS256 (other algorithms refused)")
        expected = [jws_signature(s.encode(), f"{match[1]}.{match[2]}") for s in self.secrets]
        if not matches_any(list(expected), match[3]):
            raise WebhookRejected(
                f"{HEADER} signature does not match (wrong secret or altered token)"
            )
        if claims.get("iss") != ISSUER:
            raise WebhookRejected(f"{HEADER} was not issued by netlify (iss claim)")
        self._check_times(claims, request.received_at)
        body_hash = hashlib.sha256(request.body).hexdigest()
        if not matches_any([body_hash], str(claims.get("sha256", ""))):
            raise WebhookRejected(f"{HEADER} sha256 claim does not match the body (altered body)")
        doc = json_body(request.body)
        return Verified(event=field(doc, "state"), branch=field(doc, "branch"))

    @staticmethod
    def _check_times(claims: dict[str, Any], now: float) -> None:
        exp, nbf = claims.get("exp"), claims.get("nbf")
        if isinstance(exp, int | float) and now >= exp:
            raise WebhookRejected(f"{HEADER} has expired (exp claim)")
        if isinstance(nbf, int | float) and now < nbf:
            raise WebhookRejected(f"{HEADER} is not valid yet (nbf claim)")

    def sign(self, body: bytes, *, path: str, now: float) -> dict[str, str]:
        header = b64url(b'{"alg":"HS256","typ":"JWT"}')
        claims = {"iss": ISSUER, "sha256": hashlib.sha256(body).hexdigest()}
        payload = b64url(json.dumps(claims, separators=(",", ":")).encode())
        value = jws_signature(self.secrets[0].encode(), f"{header}.{payload}")
        return {HEADER: f"{header}.{payload}.{value}", "content-type": "application/json"}
