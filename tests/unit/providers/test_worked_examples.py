"""The worked examples of reference/webhook-auth.md §23, row by row, with their literal values.

Each expected header is accepted by verify(); where the scheme is deterministic, sign() with the
same inputs produces exactly that header.
"""

from __future__ import annotations

from relay.core.secret import Secret
from relay.web.providers.standard_webhooks import decode_secret, signature
from tests.helpers.provider_kit import accepts, fixture_cases, make, reason, request


def test_1_standard_webhooks_official_test_vector() -> None:
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = b'{"test": 2432232314}'
    expected = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    key = decode_secret(Secret(secret))
    assert "v1," + signature(key, "msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330", body) == expected
    for prefix in ("webhook", "svix"):
        headers = {
            f"{prefix}-id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
            f"{prefix}-timestamp": "1614265330",
            f"{prefix}-signature": expected,
        }
        result = make("standard-webhooks", secret).verify(
            request(body, headers, received_at=1614265331)
        )
        assert result.delivery_id == "msg_p5jXN8AQM9LWM0D4loKWxJek"


def test_2_standard_webhooks_svix_and_gitlab_signing_token() -> None:
    secret = "whsec_c2VjcmV0LWtleS1mb3Itd2ViaG9vay10ZXN0cw=="
    body = b'{"type":"entry.published","data":{"id":"abc123"}}'
    headers = {
        "webhook-id": "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W",
        "webhook-timestamp": "1700000000",
        "webhook-signature": "v1,PM+jFDdXfP8h0E6o2fqn2Bkh71/OmcKpSe36psn/P8k=",
    }
    req = request(body, headers, received_at=1700000001)
    assert make("standard-webhooks", secret).verify(req).event == "entry.published"
    assert accepts(make("gitlab", secret), req)
    svix = {k.replace("webhook-", "svix-"): v for k, v in headers.items()}
    assert accepts(make("standard-webhooks", secret), request(body, svix, received_at=1700000001))


def test_3_to_5_sanity() -> None:
    rows = [
        (
            "try-me",
            1633518820676,
            b'{"title":"GROQ-Hooks are neat"}',
            "t=1633518820676,v1=e7C9h2sfbFfc4V7TEz7PSOp4IoNzl0UdVsBV-1wgdeA",
        ),
        (
            "test",
            1633519811129,
            b'{"_id":"resume"}',
            "t=1633519811129,v1=tLa470fx7qkLLEcMOcEUFuBbRSkGujyskxrNXcoh0N0",
        ),
        (
            "s3cr3t",
            1700000000123,
            b'{"_id":"post-1","_type":"post","title":"Hello"}',
            "t=1700000000123,v1=Rzbs5astP4jfGX8fqDeTEsAHEp0kB6D470oaHEtjUSI",
        ),
    ]
    for secret, t, body, header in rows:
        provider = make("sanity", secret, tolerance=0.0)  # the examples were signed in 2021
        assert provider.sign(body, path="/", now=t / 1000)["sanity-webhook-signature"] == header
        assert accepts(provider, request(body, {"sanity-webhook-signature": header}))


def test_4_sanity_comma_space_header_is_read_like_the_library_pattern() -> None:
    """The library's whole-header compare refuses `t=…, v1=…`; its own parse regex (which the
    reference says to use) reads it, and so does the relay: the v1 value is still verified."""
    header = "t=1633519811129, v1=tLa470fx7qkLLEcMOcEUFuBbRSkGujyskxrNXcoh0N0"
    assert accepts(
        make("sanity", "test", tolerance=0.0),
        request(b'{"_id":"resume"}', {"sanity-webhook-signature": header}),
    )


CONTENTFUL_BODY = (
    b'{"sys":{"type":"Entry","id":"5KsDBWseXY6QegucYAoacS","environment":{"sys":{"id":"master"}},'
    b'"contentType":{"sys":{"id":"blogPost"}}}}'
)


def _contentful(path: str, signature_hex: str) -> bool:
    headers = {
        "Content-Type": "application/vnd.contentful.management.v1+json",
        "X-Contentful-Topic": "ContentManagement.Entry.publish",
        "x-contentful-signed-headers": (
            "content-type,x-contentful-signed-headers,x-contentful-timestamp,x-contentful-topic"
        ),
        "x-contentful-timestamp": "1700000000000",
        "x-contentful-signature": signature_hex,
    }
    req = request(CONTENTFUL_BODY, headers, path=path, received_at=1700000001)
    return accepts(make("contentful", "a" * 32 + "b" * 32), req)


def test_6_contentful() -> None:
    assert _contentful(
        "/hooks/contentful", "98dd0cdd3ccde9b655caac0845ea24809bff20684a051b112e259e7ec0e39dd7"
    )
    provider = make("contentful", "a" * 32 + "b" * 32)
    signed = provider.sign(CONTENTFUL_BODY, path="/hooks/contentful", now=1700000000)
    assert signed["x-contentful-signature"] == (
        "98dd0cdd3ccde9b655caac0845ea24809bff20684a051b112e259e7ec0e39dd7"
    )


def test_7_contentful_path_with_query() -> None:
    assert _contentful(
        "/hooks/contentful?env=master&x=1",
        "5e5dbe575e3ebc174f3bb6aadfe2351c7d082f48e401eedbef7e888f2caf89f7",
    )
    assert not _contentful(
        "/hooks/contentful", "5e5dbe575e3ebc174f3bb6aadfe2351c7d082f48e401eedbef7e888f2caf89f7"
    )


def test_8_ghost() -> None:
    body = b'{"post":{"current":{"id":"6500f","status":"published"}}}'
    header = (
        "sha256=6eb4499dad2bffb57037686c46405677640a133468b494643a78b10e5f61bc13, t=1700000000123"
    )
    provider = make("ghost", "ghost-secret")
    assert provider.sign(body, path="/", now=1700000000.123)["X-Ghost-Signature"] == header
    assert provider.verify(request(body, {"X-Ghost-Signature": header})).content_type == "post"


def test_9_storyblok() -> None:
    body = (
        b'{"text":"The user test@domain.com published the Story XYZ (xyz)","action":"published",'
        b'"space_id":123,"story_id":456,"full_slug":"blog/xyz"}'
    )
    header = {"webhook-signature": "b2ccf4667482700a2593d851c4c269832b8c7cf3"}
    assert make("storyblok", "hello").verify(request(body, header)).event == "published"


def test_10_hygraph() -> None:
    body = (
        b'{"operation":"publish","data":{"__typename":"Post","id":"ckabc123","stage":"PUBLISHED"}}'
    )
    header = "sign=/24Spz8PVYEHNo7HmzcOMsSrE6GDcJyoWBVpwbK9D3c=, env=master, t=1700000000123"
    provider = make("hygraph", "rCNwyiloY3oJYYkxgpBXaleIiUv5MYlx")
    assert provider.sign(body, path="/", now=1700000000.123)["gcms-signature"] == header
    result = provider.verify(request(body, {"gcms-signature": header}))
    assert (result.event, result.content_type) == ("publish", "Post")


def test_11_shopify_woocommerce_wp_webhooks() -> None:
    body = b'{"id":820982911946154508,"email":"jon@example.com"}'
    value = "LnwdZPLBbdjkBwPD/lDL1/rYEGby/GHPtL1aAH6Dxjc="
    for provider, header in (
        ("shopify", "X-Shopify-Hmac-Sha256"),
        ("woocommerce", "X-WC-Webhook-Signature"),
        ("wp-webhooks", "X-WP-Webhook-Signature"),
    ):
        verifier = make(provider, "shpss_test_secret")
        assert verifier.sign(body, path="/", now=0)[header] == value
        assert accepts(verifier, request(body, {header: value}))


def test_12_github_docs_test_values() -> None:
    header = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    provider = make("github", "It's a Secret to Everybody")
    assert provider.sign(b"Hello, World!", path="/", now=0)["X-Hub-Signature-256"] == header
    assert accepts(provider, request(b"Hello, World!", {"X-Hub-Signature-256": header}))


def test_13_kontent_ai_helper_test_vector() -> None:
    case = next(c for c in fixture_cases("kontent-ai.json") if c.name.startswith("helper 4.0.0"))
    value = "k97ud4G3+Bo58p4LDJQY8SK81AThPMIDlZQjyWJbOgI="
    assert case.request.header("x-kontent-ai-signature") == value
    assert b"\r\n" not in case.request.body  # JSON.stringify(payload, null, 2): LF only
    provider = make("kontent-ai", "hx3snVrI9E2Lgpi1LaL+WfiPWCh88OjI7Bv/3ihq+Qo=")
    assert provider.verify(case.request).event == "workflow_step_changed"
    # without the CRLF normalisation the LF body signs differently (reference: 5E1alQoV…ucYo=)
    assert provider.sign(case.request.body, path="/", now=0)["X-Kontent-ai-Signature"] == value


def test_14_netlify() -> None:
    body = b'{"id":"5ebc34bf4fea0b01f02efa3a","state":"ready"}'
    token = (
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJuZXRsaWZ5Iiwic2hhMjU2IjoiZWI0NWQ3MDA4YTgy"
        "NjMxZjBiM2M0ZjgyYmM4NzgxZWIwZGM0NGZiNzQwM2EzNzVhNGJmNTZhN2RmZWJmNWQyYiJ9.TQz4RwJXUaiHp3gh"
        "Sz4OkFCpcLCDWE02u5DgjxsnsNA"
    )
    provider = make("netlify", "netlify-jws-secret")
    assert provider.sign(body, path="/", now=0)["X-Webhook-Signature"] == token
    assert provider.verify(request(body, {"X-Webhook-Signature": token})).event == "ready"


def test_15_airtable() -> None:
    body = (
        b'{"base":{"id":"app00000000000000"},"webhook":{"id":"ach00000000000000"},'
        b'"timestamp":"2022-02-01T21:25:05.663Z"}'
    )
    header = "hmac-sha256=e302f9e1b346be910c3b9052265afc28b89cb88ff85ec5fae4cfd406e2d8948e"
    provider = make("airtable", "c2VjcmV0LW1hYy1rZXktMzItYnl0ZXMtbG9uZy4uLg==")
    assert provider.sign(body, path="/", now=0)["X-Airtable-Content-MAC"] == header
    assert accepts(provider, request(body, {"X-Airtable-Content-MAC": header}))


def test_16_notion() -> None:
    body = b'{"id":"evt-1","type":"page.content_updated","entity":{"id":"page-1","type":"page"}}'
    header = "sha256=8f443c0a98efc79af1a8b5246325223979d09e0a2a382b5af883d8cbffac0c32"
    result = make("notion", "secret_tokenFromHandshake").verify(
        request(body, {"X-Notion-Signature": header})
    )
    assert (result.delivery_id, result.event, result.content_type) == (
        "evt-1",
        "page.content_updated",
        "page",
    )
    assert "match" in reason(make("notion", "other"), request(body, {"X-Notion-Signature": header}))
