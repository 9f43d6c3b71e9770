"""Helpers shared by the provider tests: hooks, requests, vendor fixtures and per-provider specs.

A `Spec` says, for one provider, how to build a hook from secrets and where its signature and
timestamp sit in the signed request, so the contract tests (round trip, rotation, tampering,
property tests) run over every provider alike.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest

from relay.core.build_settings import HookSettings
from relay.core.exceptions import WebhookRejected
from relay.core.secret import Secret
from relay.web.providers.base import IncomingRequest, Provider, Verified
from relay.web.providers.registry import PROVIDERS
from tests.helpers import paths

FIXTURES = paths.FIXTURES / "signatures"
NOW = 1_700_000_000.0  # when the contract tests sign
PATH = "/hooks/test"
BODY = (
    b'{"_id":"post-1","_type":"post","id":"evt-1","type":"page.content_updated",'
    b'"ref":"refs/heads/main","action":"published","operation":"publish",'
    b'"data":{"__typename":"Post"},"state":"ready","branch":"main",'
    b'"sys":{"contentType":{"sys":{"id":"blogPost"}}},"title":"Gr\xc3\xbc\xc3\x9fe"}'
)


def hook(
    provider: str, *secrets: str, insecure: bool = False, name: str = "test", **options: Any
) -> HookSettings:
    return HookSettings(
        name=name,
        provider=provider,
        targets=("site",),
        secrets=tuple(Secret(s) for s in secrets),
        options=options,
        insecure=insecure,
    )


def make(provider: str, *secrets: str, **options: Any) -> Provider:
    return PROVIDERS[provider](hook(provider, *secrets, **options))


def request(
    body: bytes | str,
    headers: Mapping[str, str],
    *,
    received_at: float = NOW + 1,
    path: str = PATH,
    method: str = "POST",
) -> IncomingRequest:
    raw = body.encode() if isinstance(body, str) else body
    lowered = {k.lower(): v for k, v in headers.items()}
    return IncomingRequest(method, path, lowered, raw, received_at)


def signed(
    provider: Provider, body: bytes = BODY, *, now: float = NOW, path: str = PATH
) -> IncomingRequest:
    """The request `provider`'s sender would send, received one second later."""
    return request(body, provider.sign(body, path=path, now=now), received_at=now + 1, path=path)


def replace_header(req: IncomingRequest, name: str, value: str | None) -> IncomingRequest:
    headers = {k: v for k, v in req.headers.items() if k != name.lower()}
    if value is not None:
        headers[name.lower()] = value
    return IncomingRequest(req.method, req.path, headers, req.body, req.received_at)


def with_body(req: IncomingRequest, body: bytes) -> IncomingRequest:
    return IncomingRequest(req.method, req.path, req.headers, body, req.received_at)


def at(req: IncomingRequest, received_at: float) -> IncomingRequest:
    return IncomingRequest(req.method, req.path, req.headers, req.body, received_at)


def reason(provider: Provider, req: IncomingRequest) -> str:
    """The rejection reason; fails the test when the request is accepted."""
    with pytest.raises(WebhookRejected) as info:
        provider.verify(req)
    assert info.value.status_code == 401
    return info.value.reason


def accepts(provider: Provider, req: IncomingRequest) -> bool:
    try:
        provider.verify(req)
    except WebhookRejected:
        return False
    return True


# -- vendor fixtures --------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    file: str
    provider: str
    name: str
    secret: str
    request: IncomingRequest
    valid: bool
    options: Mapping[str, Any]
    extra: Mapping[str, Any]

    @property
    def id(self) -> str:
        return f"{self.file}:{self.name}"

    def verifier(self) -> Provider:
        return make(self.provider, self.secret, **self.options)


def fixture_cases(file: str | None = None) -> list[Case]:
    """Every case of every fixture file (or of one file, e.g. "sanity.json")."""
    paths = [FIXTURES / file] if file else sorted(FIXTURES.glob("*.json"))
    found = []
    for path in paths:
        if path.name.startswith("package"):
            continue
        doc = json.loads(path.read_text(encoding="utf-8"))
        provider = doc["provider"] if doc["provider"] != "svix" else "standard-webhooks"
        for raw in doc["cases"]:
            known = {
                "name",
                "secret",
                "method",
                "path",
                "headers",
                "body",
                "received_at",
                "valid",
                "options",
            }
            found.append(
                Case(
                    file=path.name,
                    provider=provider,
                    name=raw["name"],
                    secret=raw["secret"],
                    request=request(
                        raw["body"],
                        raw["headers"],
                        received_at=raw["received_at"],
                        path=raw["path"],
                        method=raw["method"],
                    ),
                    valid=raw["valid"],
                    options=raw.get("options", {}),
                    extra={k: v for k, v in raw.items() if k not in known},
                )
            )
    return found


# -- per-provider specs for the contract tests ------------------------------------------------


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@dataclass(frozen=True)
class Spec:
    """How to exercise one provider generically."""

    id: str
    provider: str
    secret: str
    other_secret: str
    #: the header a request cannot do without (its absence is refused naming it)
    required_header: str
    #: (header, regex with one group): the part of the signature the property tests change
    signature: tuple[str, str] | None
    #: (header, regex with one group): the signed timestamp's digits
    timestamp: tuple[str, str] | None = None
    body_signed: bool = True
    body: bytes = BODY
    options: Mapping[str, Any] = field(default_factory=dict)
    #: build the hook from (secret, …): default puts them in hook.secrets
    hook_factory: Callable[..., HookSettings] | None = None
    #: single-byte changes that the scheme, like its vendor, deliberately treats as equal
    equivalent: Callable[[bytes, bytes], bool] | None = None

    def provider_for(self, *secrets: str) -> Provider:
        settings = (
            self.hook_factory(*secrets)
            if self.hook_factory
            else hook(self.provider, *secrets, **self.options)
        )
        return PROVIDERS[self.provider](settings)


def _basic_hook(*secrets: str) -> HookSettings:
    return hook("basic", *secrets[1:], username="relay", password=Secret(secrets[0]))


def _line_breaks_only(old: bytes, new: bytes) -> bool:
    return old in (b"\r", b"\n") and new in (b"\r", b"\n")


def _hex_case_only(old: bytes, new: bytes) -> bool:
    return old != new and old.lower() == new.lower()


CONTENTFUL_SECRET = "a" * 32 + "b" * 32
SPECS = [
    Spec(
        "standard-webhooks",
        "standard-webhooks",
        "whsec_" + _b64("k" * 24),
        "whsec_" + _b64("o" * 32),
        "webhook-signature",
        ("webhook-signature", r"v1,(.+)"),
        ("webhook-timestamp", r"([0-9]+)"),
    ),
    Spec(
        "hmac-sha256",
        "hmac-sha256",
        "generic-secret",
        "other-secret",
        "X-Hub-Signature-256",
        ("X-Hub-Signature-256", r"(.+)"),
        options={"header": "X-Hub-Signature-256", "prefix": "sha256="},
        equivalent=_hex_case_only,
    ),
    Spec(
        "hmac-sha256-base64",
        "hmac-sha256",
        "generic-secret",
        "other-secret",
        "X-Signature",
        ("X-Signature", r"(.+)"),
        options={"header": "X-Signature", "encoding": "base64", "prefix": ""},
    ),
    Spec(
        "token",
        "token",
        "static-token",
        "other-token",
        "Authorization",
        ("Authorization", r"Bearer (.+)"),
        body_signed=False,
    ),
    Spec(
        "basic",
        "basic",
        "s3cret-pw",
        "0ther-pw!",
        "Authorization",
        ("Authorization", r"Basic (.+)"),
        body_signed=False,
        hook_factory=_basic_hook,
    ),
    Spec(
        "sanity",
        "sanity",
        "sanity-secret",
        "other-secret",
        "sanity-webhook-signature",
        ("sanity-webhook-signature", r"(.+)"),
        ("sanity-webhook-signature", r"t=([0-9]+)"),
    ),
    Spec(
        "contentful",
        "contentful",
        CONTENTFUL_SECRET,
        "c" * 64,
        "x-contentful-signature",
        ("x-contentful-signature", r"(.+)"),
        ("x-contentful-timestamp", r"([0-9]+)"),
    ),
    Spec(
        "ghost",
        "ghost",
        "ghost-secret",
        "other-secret",
        "X-Ghost-Signature",
        ("X-Ghost-Signature", r"(.+)"),
        ("X-Ghost-Signature", r"t=([0-9]+)"),
    ),
    Spec(
        "storyblok",
        "storyblok",
        "storyblok-secret",
        "other-secret",
        "webhook-signature",
        ("webhook-signature", r"(.+)"),
    ),
    Spec(
        "hygraph",
        "hygraph",
        "hygraph-secret",
        "other-secret",
        "gcms-signature",
        ("gcms-signature", r"(.+)"),
        ("gcms-signature", r"t=([0-9]+)"),
    ),
    Spec(
        "github",
        "github",
        "gh-secret",
        "other-secret",
        "X-Hub-Signature-256",
        ("X-Hub-Signature-256", r"(.+)"),
    ),
    Spec(
        "gitlab-token",
        "gitlab",
        "gl-token",
        "other-token",
        "X-Gitlab-Token",
        ("X-Gitlab-Token", r"(.+)"),
        body_signed=False,
    ),
    Spec(
        "gitlab-signing",
        "gitlab",
        "whsec_" + _b64("g" * 32),
        "whsec_" + _b64("h" * 32),
        "webhook-signature",
        ("webhook-signature", r"v1,(.+)"),
        ("webhook-timestamp", r"([0-9]+)"),
    ),
    Spec(
        "shopify",
        "shopify",
        "shpss_secret",
        "shpss_other",
        "X-Shopify-Hmac-Sha256",
        ("X-Shopify-Hmac-Sha256", r"(.+)"),
    ),
    Spec(
        "woocommerce",
        "woocommerce",
        "wc-secret",
        "wc-other",
        "X-WC-Webhook-Signature",
        ("X-WC-Webhook-Signature", r"(.+)"),
    ),
    Spec(
        "wp-webhooks",
        "wp-webhooks",
        "wp-secret",
        "wp-other",
        "X-WP-Webhook-Signature",
        ("X-WP-Webhook-Signature", r"(.+)"),
    ),
    Spec(
        "kontent-ai",
        "kontent-ai",
        "kontent-secret",
        "kontent-other",
        "X-Kontent-ai-Signature",
        ("X-Kontent-ai-Signature", r"(.+)"),
        equivalent=_line_breaks_only,
        body=b'{\r\n  "notifications": [\r\n    {"message": {"action": "published"}}\r\n  ]\r\n}',
    ),
    Spec(
        "netlify",
        "netlify",
        "jws-secret",
        "jws-other",
        "X-Webhook-Signature",
        ("X-Webhook-Signature", r"(.+)"),
    ),
    Spec(
        "airtable",
        "airtable",
        _b64("m" * 32),
        _b64("n" * 32),
        "X-Airtable-Content-MAC",
        ("X-Airtable-Content-MAC", r"(.+)"),
    ),
    Spec(
        "notion",
        "notion",
        "secret_notion",
        "secret_other",
        "X-Notion-Signature",
        ("X-Notion-Signature", r"(.+)"),
    ),
]


def verified_fields(result: Verified) -> dict[str, str | None]:
    return {
        "delivery_id": result.delivery_id,
        "event": result.event,
        "branch": result.branch,
        "content_type": result.content_type,
    }
