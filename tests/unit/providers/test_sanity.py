"""Sanity specifics: header parsing, routing fields, the off-by-default tolerance."""

from __future__ import annotations

from tests.helpers.provider_kit import (
    BODY,
    NOW,
    accepts,
    at,
    make,
    reason,
    replace_header,
    request,
    signed,
)

HEADER = "sanity-webhook-signature"


def test_routing_fields_come_from_the_headers_and_the_projection() -> None:
    provider = make("sanity", "s")
    req = signed(provider)
    req = replace_header(replace_header(req, "sanity-operation", "update"), "idempotency-key", "k1")
    result = provider.verify(req)
    assert (result.hint_id, result.event, result.content_type) == ("k1", "update", "post")


def test_a_body_that_is_not_a_document_still_verifies() -> None:
    provider = make("sanity", "s")
    for body in (b"[1,2]", b'"text"', b"not json"):
        result = provider.verify(signed(provider, body))
        assert result.content_type is None
        assert result.hint_id is not None  # sign() sends an idempotency-key


def test_malformed_headers_are_named() -> None:
    provider = make("sanity", "s")
    good = signed(provider)
    value = good.header(HEADER) or ""
    t, v1 = value.split(",")
    for garbled in (v1, t, f"{v1},{t}", f"t=abc,{v1}", f"{t};{v1}", f"{t},v1=a,b", f"{t},v2=x"):
        assert reason(provider, replace_header(good, HEADER, garbled)).startswith(
            f"malformed {HEADER}"
        )


def test_a_timestamp_in_seconds_is_refused_as_the_library_does() -> None:
    provider = make("sanity", "s")
    req = signed(provider)
    value = (req.header(HEADER) or "").replace(f"t={round(NOW * 1000)}", f"t={int(NOW)}")
    assert "Unix milliseconds" in reason(provider, replace_header(req, HEADER, value))


def test_five_minutes_of_tolerance_by_default_and_0_turns_it_off() -> None:
    """A captured request replayed days later is refused (it used to pass: no age limit)."""
    provider = make("sanity", "s")
    assert "too old" in reason(provider, at(signed(provider), NOW + 86400 * 30))
    assert accepts(provider, at(signed(provider), NOW + 299))
    assert accepts(make("sanity", "s", tolerance=0.0), at(signed(provider), NOW + 86400))


def test_the_signature_covers_the_timestamp_and_the_body() -> None:
    provider = make("sanity", "s")
    good = signed(provider)
    value = good.header(HEADER) or ""
    later = signed(provider, now=NOW + 1).header(HEADER) or ""
    mixed = later.split(",")[0] + "," + value.split(",")[1]
    assert "does not match" in reason(provider, replace_header(good, HEADER, mixed))
    assert not accepts(provider, request(BODY + b" ", good.headers))
