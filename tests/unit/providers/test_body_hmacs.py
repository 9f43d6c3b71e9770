"""Storyblok, Kontent.ai, Airtable and Notion specifics."""

from __future__ import annotations

import base64

from relay.web.providers.airtable import Airtable
from relay.web.providers.kontent_ai import crlf
from tests.helpers.provider_kit import (
    accepts,
    hook,
    make,
    reason,
    replace_header,
    request,
    signed,
)

AIRTABLE_SECRET = base64.b64encode(b"k" * 32).decode()


def test_storyblok_reads_the_action_and_refuses_malformed_hex() -> None:
    provider = make("storyblok", "sb")
    body = b'{"action":"unpublished","story_id":1}'
    assert provider.verify(signed(provider, body)).event == "unpublished"
    for garbled in ("0" * 39, "0" * 41, "z" * 40, "sha1=" + "0" * 40):
        assert reason(provider, request(body, {"webhook-signature": garbled})).startswith(
            "malformed webhook-signature"
        )


def test_kontent_line_breaks_are_normalised_like_the_helper() -> None:
    assert crlf(b"a\nb\r\nc\rd\n\n\ne") == b"a\r\nb\r\nc\r\nd\r\ne"
    provider = make("kontent-ai", "k")
    crlf_body = b'{\r\n  "a": 1\r\n}'
    req = signed(provider, crlf_body)
    for variant in (crlf_body, b'{\n  "a": 1\n}', b'{\r  "a": 1\r}'):
        assert accepts(provider, request(variant, req.headers))
    assert not accepts(provider, request(b'{  "a": 1}', req.headers))
    # a sender that signs the body as sent (helper 3.x) is accepted too
    raw = base64.b64encode(
        __import__("hmac").new(b"k", b'{\n  "a": 2\n}', "sha256").digest()
    ).decode()
    assert accepts(provider, request(b'{\n  "a": 2\n}', {"X-Kontent-ai-Signature": raw}))


def test_kontent_routing_new_and_legacy() -> None:
    provider = make("kontent-ai", "k")
    body = (
        b'{"notifications":[{"data":{"system":{"type":"article"}},"message":'
        b'{"action":"published"}},{"message":{"action":"unpublished"}}]}'
    )
    result = provider.verify(signed(provider, body))
    assert (result.event, result.content_type) == ("published", "article")
    legacy_body = b'{"data":{"items":[{"type":"actor"}]},"message":{"operation":"publish"}}'
    value = signed(provider, legacy_body).header("X-Kontent-ai-Signature") or ""
    legacy = provider.verify(request(legacy_body, {"X-KC-Signature": value}))
    assert (legacy.event, legacy.content_type) == ("publish", "actor")
    assert "X-KC-Signature" in reason(
        provider, request(legacy_body + b" ", {"X-KC-Signature": value})
    )


def test_airtable_key_is_base64_decoded_and_checked() -> None:
    provider = make("airtable", AIRTABLE_SECRET)
    assert accepts(provider, signed(provider))
    assert Airtable.check(hook("airtable", AIRTABLE_SECRET)) == []
    for bad in ("not base64!", "", "YWJ", "=="):
        problems = Airtable.check(hook("airtable", bad, name="air"))
        assert len(problems) == 1
        assert problems[0].startswith(
            ("hooks.air.secret: not base64", "hooks.air.secret: is blank")
        )
    good = signed(provider)
    value = good.header("X-Airtable-Content-MAC") or ""
    for garbled in (value[len("hmac-sha256=") :], value.replace("hmac-sha256=", "sha256=")):
        assert reason(provider, replace_header(good, "X-Airtable-Content-MAC", garbled)).startswith(
            "malformed X-Airtable-Content-MAC"
        )


def test_notion_handshake_is_refused_with_an_explanation() -> None:
    provider = make("notion", "secret_x")
    text = reason(provider, request(b'{"verification_token":"secret_abc"}', {}))
    assert "verification" in text
    assert "secret_abc" not in text
    assert "missing X-Notion-Signature" in reason(provider, request(b'{"type":"x"}', {}))
