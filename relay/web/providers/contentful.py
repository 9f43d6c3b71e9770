"""Contentful request verification: an HMAC-SHA256 over a canonical request.

Port of `@contentful/node-apps-toolkit` `verifyRequest`/`signRequest`. The canonical request is

    {METHOD}\\n{PATH}\\n{name}:{value};…\\n{BODY}

hashed with the secret (as UTF-8) into lowercase hex in `x-contentful-signature`. PATH is the
path as JavaScript normalises it: the query is `encodeURIComponent`-ed, then the whole string
`encodeURI`-ed (so `?a=b` becomes `?a%253Db`). The headers are the ones named in
`x-contentful-signed-headers` (lower-cased, trimmed, sorted), with `x-contentful-signed-headers`
re-listed and `x-contentful-timestamp` (Unix ms) always included. The toolkit refuses timestamps
30 s old; because Contentful retries 30 s apart, the relay allows 5 minutes by default and drops
retries by `X-Contentful-Idempotency-Key`.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from typing import ClassVar
from urllib.parse import quote

from relay.core.build_settings import HookSettings
from relay.core.declare import Kind, OptionSpec
from relay.core.exceptions import WebhookRejected
from relay.web.providers.base import IncomingRequest, Provider, Verified, matches_any, secret_key
from relay.web.providers.payload import field, json_body
from relay.web.providers.timestamps import check_age, parse_ms, seconds, tolerance_option

SIGNATURE = "x-contentful-signature"
SIGNED_HEADERS = "x-contentful-signed-headers"
TIMESTAMP = "x-contentful-timestamp"
DEFAULT_TOLERANCE = 300.0
#: the toolkit refuses timestamps before 2020-01-01 (TimestampValidator)
MINIMUM_TIMESTAMP = 1_577_836_800_001
SECRET_PATTERN = re.compile(r"[0-9a-zA-Z+/=_-]{64}")
_HEX64 = re.compile(r"[0-9a-f]{64}")
URI_COMPONENT_SAFE = "!*'()"  # encodeURIComponent / node's querystring.escape
URI_SAFE = ";,/?:@&=+$!*'()#"  # encodeURI


def canonical_path(path: str) -> str:
    """The toolkit's getNormalizedEncodedURI (what follows a second `?` is dropped, as there)."""
    pathname, *rest = path.split("?")
    search = rest[0] if rest else ""
    if search:
        pathname = f"{pathname}?{quote(search, safe=URI_COMPONENT_SAFE)}"
    return quote(pathname, safe=URI_SAFE)


def canonical_request(
    method: str,
    path: str,
    headers: Mapping[str, str],
    names: list[str],
    timestamp: int,
    body: bytes,
) -> bytes:
    """The bytes Contentful signs; `names` are the signed header names as listed."""
    normal = {k.lower().strip(): v.strip() for k, v in headers.items()}
    picked = {k: v for k, v in normal.items() if k in names}
    picked[SIGNED_HEADERS] = ",".join(sorted(set(picked) | {SIGNED_HEADERS, TIMESTAMP}))
    picked[TIMESTAMP] = str(timestamp)
    joined = ";".join(f"{k}:{v}" for k, v in sorted(picked.items()))
    return f"{method}\n{canonical_path(path)}\n{joined}\n".encode() + body


def hex_signature(secret: bytes, canonical: bytes) -> str:
    return hmac.new(secret, canonical, hashlib.sha256).hexdigest()


IDEMPOTENCY = "x-contentful-idempotency-key"


class Contentful(Provider):
    name = "contentful"
    options: ClassVar[dict[str, OptionSpec]] = {
        "tolerance": tolerance_option(DEFAULT_TOLERANCE),
        "path": OptionSpec(
            Kind.STRING, None, "the path Contentful posts to, if a proxy rewrites it"
        ),
    }
    default_events = tuple(
        f"ContentManagement.*.{action}"
        for action in ("publish", "unpublish", "delete", "archive", "unarchive")
    )

    @classmethod
    def check(cls, hook: HookSettings) -> list[str]:
        return super().check(hook) + [
            f"{secret_key(hook, index)}: not a Contentful signing secret "
            "(exactly 64 characters of A-Z a-z 0-9 + / = _ -)"
            for index, secret in enumerate(hook.secrets)
            if not SECRET_PATTERN.fullmatch(secret.reveal())
        ]

    def verify(self, request: IncomingRequest) -> Verified:
        offered = request.require(SIGNATURE)
        names = request.require(SIGNED_HEADERS).split(",")
        timestamp = parse_ms(TIMESTAMP, request.require(TIMESTAMP), MINIMUM_TIMESTAMP)
        if not _HEX64.fullmatch(offered):
            raise WebhookRejected(f"malformed {SIGNATURE} header (expected 64 hex digits)")
        if len(names) < 2:
            raise WebhookRejected(f"malformed {SIGNED_HEADERS} header (lists too few headers)")
        check_age(TIMESTAMP, timestamp, request.received_at, seconds(self.option("tolerance")))
        path = str(self.option("path") or request.path)
        canonical = canonical_request(
            request.method, path, request.headers, names, timestamp, request.body
        )
        expected = [hex_signature(s.encode(), canonical) for s in self.secrets]
        if not matches_any(list(expected), offered):
            raise WebhookRejected(
                f"{SIGNATURE} does not match the request (wrong secret, altered body or headers)"
            )
        idempotency = request.header(IDEMPOTENCY) or None
        signed_id = IDEMPOTENCY in {n.strip().lower() for n in names}
        return Verified(
            delivery_id=idempotency if signed_id else None,
            hint_id=None if signed_id else idempotency,
            replay_token=offered,
            replay_window=seconds(self.option("tolerance")),
            event=request.header("x-contentful-topic") or None,
            content_type=field(json_body(request.body), "sys", "contentType", "sys", "id"),
        )

    def sign(self, body: bytes, *, path: str, now: float) -> dict[str, str]:
        timestamp = round(now * 1000)
        idempotency_key = hashlib.sha256(body + str(timestamp).encode()).hexdigest()
        headers = {
            "content-type": "application/vnd.contentful.management.v1+json",
            "x-contentful-topic": "ContentManagement.Entry.publish",
        }
        names = [*headers, SIGNED_HEADERS, TIMESTAMP]
        canonical = canonical_request(
            "POST", str(self.option("path") or path), headers, names, timestamp, body
        )
        return {
            **headers,
            SIGNATURE: hex_signature(self.secrets[0].encode(), canonical),
            SIGNED_HEADERS: ",".join(sorted(names)),
            TIMESTAMP: str(timestamp),
            # as Contentful sends it: outside the signed headers, so a hint
            "x-contentful-idempotency-key": idempotency_key,
        }
