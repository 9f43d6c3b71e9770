"""Generic HMAC-SHA256 over the raw body: `header`, `encoding` (hex/base64), optional `prefix`.

Covers senders such as GitHub (`X-Hub-Signature-256`, prefix `sha256=`), Shopify and
WooCommerce (base64) when their own provider is not wanted. `header` is required (the sender's
header name); `prefix` is none unless configured, and a configured prefix must be there.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import ClassVar

from relay.core.build_settings import HookSettings
from relay.core.declare import Kind, OptionSpec
from relay.core.exceptions import WebhookRejected
from relay.web.providers.base import (
    HEADER_ID_OPTIONS,
    IncomingRequest,
    Provider,
    Verified,
    matches_any,
)


def digest(secret: bytes, body: bytes, encoding: str) -> str:
    raw = hmac.new(secret, body, hashlib.sha256).digest()
    return raw.hex() if encoding == "hex" else base64.b64encode(raw).decode()


class HmacSha256(Provider):
    name = "hmac-sha256"
    options: ClassVar[dict[str, OptionSpec]] = {
        "header": OptionSpec(Kind.STRING, None, "the header carrying the signature (required)"),
        "encoding": OptionSpec(Kind.STRING, "hex", "how the digest is written", ("hex", "base64")),
        "prefix": OptionSpec(Kind.STRING, "", "text the header starts with, e.g. sha256="),
        **HEADER_ID_OPTIONS,
    }

    @classmethod
    def check(cls, hook: HookSettings) -> list[str]:
        problems = super().check(hook)
        if not hook.options.get("header"):
            problems.append(
                f"hooks.{hook.name}.header: provider hmac-sha256 needs the header that carries "
                'the signature (e.g. header = "X-Hub-Signature-256" with prefix = "sha256=")'
            )
        return problems

    def __init__(self, hook: HookSettings) -> None:
        super().__init__(hook)
        # read once: verify runs for every delivery
        self.header = str(self.option("header"))
        self.prefix = str(self.option("prefix") or "")
        self.encoding = str(self.option("encoding"))

    def verify(self, request: IncomingRequest) -> Verified:
        header, prefix, encoding = self.header, self.prefix, self.encoding
        value = request.require(header)
        if not value.startswith(prefix):
            raise WebhookRejected(f"{header} does not start with {prefix!r}")
        expected = [prefix + digest(s.encode(), request.body, encoding) for s in self.secrets]
        if encoding == "hex":
            value = prefix + value[len(prefix) :].lower()
        if not matches_any(list(expected), value):
            raise WebhookRejected(
                f"{header} does not match the body (wrong secret or altered body)"
            )
        return self.from_headers(request)

    def sign(self, body: bytes, *, path: str, now: float) -> dict[str, str]:
        value = digest(self.secrets[0].encode(), body, str(self.option("encoding")))
        return {
            str(self.option("header")): str(self.option("prefix") or "") + value,
            "content-type": "application/json",
        }
