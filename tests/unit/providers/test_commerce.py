"""Shopify, WooCommerce and WP Webhooks specifics."""

from __future__ import annotations

from fnmatch import fnmatchcase

from relay.web.providers.woocommerce import WooCommerce, specialchars_decode
from tests.helpers.provider_kit import (
    BODY,
    accepts,
    make,
    reason,
    replace_header,
    request,
    signed,
)


def test_shopify_routing_and_delivery_id() -> None:
    provider = make("shopify", "s")
    req = replace_header(signed(provider), "X-Shopify-Event-Id", "evt-1")
    req = replace_header(req, "X-Shopify-Webhook-Id", "wh-1")
    result = provider.verify(req)
    assert (result.event, result.hint_id) == ("products/update", "evt-1")
    fallback = replace_header(req, "X-Shopify-Event-Id", None)
    assert provider.verify(fallback).hint_id == "wh-1"


def test_shopify_events_style_headers() -> None:
    provider = make("shopify", "s")
    value = signed(provider).header("X-Shopify-Hmac-Sha256") or ""
    req = request(
        BODY,
        {"shopify-hmac-sha256": value, "shopify-topic": "orders/create", "shopify-event-id": "e-2"},
    )
    result = provider.verify(req)
    assert (result.event, result.hint_id) == ("orders/create", "e-2")
    assert not accepts(provider, request(BODY + b" ", req.headers))


def test_shopify_malformed_signature() -> None:
    provider = make("shopify", "s")
    for garbled in ("not base64!", "YWJj", "sha256=" + "0" * 64):
        assert reason(provider, request(BODY, {"X-Shopify-Hmac-Sha256": garbled})).startswith(
            "malformed X-Shopify-Hmac-Sha256"
        )


def test_woocommerce_ping_is_answered_but_never_builds_by_default() -> None:
    provider = make("woocommerce", "wc")
    result = provider.verify(request(b"webhook_id=12", {}))
    assert (result.event, result.delivery_id) == ("webhook.ping", None)
    assert WooCommerce.default_events is not None
    assert not any(fnmatchcase("webhook.ping", g) for g in WooCommerce.default_events)
    assert any(fnmatchcase("order.updated", g) for g in WooCommerce.default_events)
    assert any(fnmatchcase("action.woocommerce_x", g) for g in WooCommerce.default_events)
    # anything else unsigned is refused, and the ping can be switched off
    assert "missing X-WC-Webhook-Signature" in reason(provider, request(b"webhook_id=1&x=2", {}))
    assert "missing X-WC-Webhook-Signature" in reason(provider, request(BODY, {}))
    off = make("woocommerce", "wc", accept_ping=False)
    assert "missing X-WC-Webhook-Signature" in reason(off, request(b"webhook_id=12", {}))
    forged = request(b"webhook_id=12", {"X-WC-Webhook-Signature": "AAAA"})
    assert "malformed" in reason(provider, forged)


def test_woocommerce_routing_and_no_delivery_id() -> None:
    provider = make("woocommerce", "wc")
    req = replace_header(signed(provider), "X-WC-Webhook-Delivery-ID", "new-each-attempt")
    result = provider.verify(req)
    assert (result.event, result.content_type, result.delivery_id) == (
        "product.updated",
        "product",
        None,
    )


def test_woocommerce_secret_with_html_entities_works_as_shown_or_typed() -> None:
    assert specialchars_decode("a&amp;b&lt;&gt;&quot;&#039;&amp;lt;") == "a&b<>\"'&lt;"
    sender = make("woocommerce", "a&b")
    assert accepts(make("woocommerce", "a&amp;b"), signed(sender))
    assert accepts(make("woocommerce", "a&b"), signed(sender))


def test_wp_webhooks_reports_nothing_but_verifies() -> None:
    provider = make("wp-webhooks", "wp")
    result = provider.verify(signed(provider))
    assert (result.event, result.delivery_id, result.content_type) == (None, None, None)
