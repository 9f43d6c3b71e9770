"""Test-side senders: sign requests the way the vendors do, independently of the relay's code."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
import uuid

SECRET = "s3cret-for-tests-only-9f2c"
WHSEC = "whsec_" + base64.b64encode(b"standard-webhooks-test-key-32byt").decode()


def github_hook(targets: list[str], secret: str = SECRET) -> dict[str, object]:
    """A relay.toml hook verifying what `github_headers` signs (X-Hub-Signature-256)."""
    return {
        "provider": "hmac-sha256",
        "header": "X-Hub-Signature-256",
        "prefix": "sha256=",
        "secret": secret,
        "targets": targets,
    }


def github_headers(body: bytes, secret: str = SECRET) -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {"X-Hub-Signature-256": f"sha256={digest}", "Content-Type": "application/json"}


def standard_headers(
    body: bytes, msg_id: str | None = None, ts: int | None = None, secret: str = WHSEC
) -> dict[str, str]:
    msg_id = msg_id or f"msg_{uuid.uuid4().hex}"
    ts = int(time.time()) if ts is None else ts
    key = base64.b64decode(secret.removeprefix("whsec_"))
    sig = base64.b64encode(
        hmac.new(key, f"{msg_id}.{ts}.".encode() + body, hashlib.sha256).digest()
    ).decode()
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(ts),
        "webhook-signature": f"v1,{sig}",
        "Content-Type": "application/json",
    }


def contentful_headers(
    body: bytes, secret: str, path: str, topic: str, ts_ms: int | None = None
) -> dict[str, str]:
    """Contentful request verification, written from its documented canonical request."""
    ts = str(int(time.time() * 1000) if ts_ms is None else ts_ms)
    signed = {
        "content-type": "application/vnd.contentful.management.v1+json",
        "x-contentful-signed-headers": "",
        "x-contentful-timestamp": ts,
        "x-contentful-topic": topic,
    }
    signed["x-contentful-signed-headers"] = ",".join(sorted(signed))
    canonical = "\n".join(
        [
            "POST",
            path,
            ";".join(f"{k}:{signed[k]}" for k in sorted(signed)),
            body.decode(),
        ]
    )
    digest = hmac.new(secret.encode(), canonical.encode(), hashlib.sha256).hexdigest()
    return signed | {
        "x-contentful-signature": digest,
        "x-contentful-idempotency-key": hashlib.sha256(body + ts.encode()).hexdigest(),
    }
