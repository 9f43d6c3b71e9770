"""Netlify specifics: the JWS checks done with the standard library."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import jwt

from tests.helpers.provider_kit import BODY, accepts, make, reason, request, signed

SECRET = "jws-secret-" + "x" * 60  # pyjwt warns about HMAC keys shorter than the hash


def token(header: dict[str, Any], claims: dict[str, Any], key: str = SECRET) -> str:
    def b64(part: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(part).encode()).decode().rstrip("=")

    signing_input = f"{b64(header)}.{b64(claims)}"
    sig = hmac.new(key.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{base64.urlsafe_b64encode(sig).decode().rstrip('=')}"


CLAIMS = {"iss": "netlify", "sha256": hashlib.sha256(BODY).hexdigest()}


def verify(value: str, received_at: float = 1_700_000_001.0) -> str | None:
    """None when accepted, else the reason."""
    provider = make("netlify", SECRET)
    req = request(BODY, {"X-Webhook-Signature": value}, received_at=received_at)
    return None if accepts(provider, req) else reason(provider, req)


def test_pyjwt_tokens_are_accepted() -> None:
    assert verify(jwt.encode(CLAIMS, SECRET, algorithm="HS256")) is None
    with_times = {**CLAIMS, "iat": 1_700_000_000, "exp": 1_700_000_300}
    assert verify(jwt.encode(with_times, SECRET, algorithm="HS256")) is None


def test_only_hs256_is_accepted() -> None:
    for alg in ("none", "HS512", "RS256", "hs256"):
        text = verify(token({"alg": alg, "typ": "JWT"}, CLAIMS))
        assert text is not None
        assert "HS256" in text
    assert "HS256" in (verify(token({"typ": "JWT"}, CLAIMS)) or "")
    hs512 = jwt.encode(CLAIMS, SECRET, algorithm="HS512")
    assert "HS256" in (verify(hs512) or "")
    unsigned = token({"alg": "none"}, CLAIMS).rsplit(".", 1)[0] + "."
    assert "malformed" in (verify(unsigned) or "")


def test_claims_are_checked() -> None:
    header = {"alg": "HS256", "typ": "JWT"}
    assert "iss" in (verify(token(header, {**CLAIMS, "iss": "other"})) or "")
    assert "iss" in (verify(token(header, {"sha256": CLAIMS["sha256"]})) or "")
    assert "sha256" in (verify(token(header, {"iss": "netlify"})) or "")
    assert "sha256" in (verify(token(header, {**CLAIMS, "sha256": 5})) or "")
    assert "expired" in (verify(token(header, {**CLAIMS, "exp": 1_700_000_000})) or "")
    assert "not valid yet" in (verify(token(header, {**CLAIMS, "nbf": 1_700_000_100})) or "")
    assert "does not match" in (verify(token(header, CLAIMS, key="other")) or "")


def test_malformed_tokens() -> None:
    good = token({"alg": "HS256"}, CLAIMS)
    for garbled in (
        "a.b",
        "a.b.c.d",
        good.replace(".", ". "),
        "e30.e30.",
        "W10.e30.abc",
        "%%%.e30.abc",
    ):
        assert "malformed X-Webhook-Signature" in (verify(garbled) or "")


def test_routing_fields() -> None:
    provider = make("netlify", SECRET)
    result = provider.verify(signed(provider))
    assert (result.event, result.branch, result.delivery_id) == ("ready", "main", None)
