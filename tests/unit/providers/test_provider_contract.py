"""What every authenticating provider must do, checked the same way for each of them.

sign() round-trips through verify(); a wrong secret, an altered body, a missing or garbled
header, an altered timestamp are refused with a reason that names the check and never carries a
secret or a signature; any of the hook's secrets is accepted (rotation). Property tests change
one byte of the body, of the signature or of the timestamp and expect a refusal.
"""

from __future__ import annotations

import dataclasses
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from relay.web.providers.base import IncomingRequest, Provider
from relay.web.providers.registry import PROVIDERS
from tests.helpers.provider_kit import (
    NOW,
    SPECS,
    Spec,
    accepts,
    at,
    reason,
    replace_header,
    signed,
    with_body,
)


def over(specs: list[Spec]) -> pytest.MarkDecorator:
    return pytest.mark.parametrize("spec", specs, ids=[s.id for s in specs])


BY_ID = over(SPECS)
#: the schemes that protect the body (token, basic and GitLab's token carry no body signature)
BODY_SIGNED = over([s for s in SPECS if s.body_signed])
TIMESTAMPED = over([s for s in SPECS if s.timestamp])
PROPERTY = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
#: printable ASCII without space: what a garbled header byte is replaced with
PRINTABLE = st.integers(min_value=0x21, max_value=0x7E).map(chr)


def secret_free(text: str, spec: Spec, req: IncomingRequest) -> None:
    """`text` carries neither secret nor any signature-bearing header value."""
    assert spec.secret not in text
    assert spec.other_secret not in text
    if spec.signature:
        value = req.header(spec.signature[0]) or ""
        part = re.fullmatch(spec.signature[1], value)
        assert part is not None
        assert part[1] not in text


def test_every_provider_is_registered() -> None:
    expected = {
        "standard-webhooks",
        "hmac-sha256",
        "token",
        "basic",
        "sanity",
        "contentful",
        "ghost",
        "storyblok",
        "hygraph",
        "github",
        "gitlab",
        "shopify",
        "woocommerce",
        "wp-webhooks",
        "kontent-ai",
        "netlify",
        "prismic",
        "airtable",
        "notion",
        "none",
    }
    assert set(PROVIDERS) == expected
    for name, cls in PROVIDERS.items():
        assert cls.name == name
        assert issubclass(cls, Provider)


@BY_ID
def test_sign_round_trips_through_verify(spec: Spec) -> None:
    provider = spec.provider_for(spec.secret)
    assert accepts(provider, signed(provider, spec.body))


@BY_ID
def test_a_wrong_secret_is_refused(spec: Spec) -> None:
    req = signed(spec.provider_for(spec.other_secret), spec.body)
    text = reason(spec.provider_for(spec.secret), req)
    secret_free(text, spec, signed(spec.provider_for(spec.secret), spec.body))
    secret_free(text, spec, req)


@BY_ID
def test_any_listed_secret_is_accepted(spec: Spec) -> None:
    """Rotation: a request signed with either secret passes a hook that lists both."""
    rotating = spec.provider_for(spec.other_secret, spec.secret)
    for secret in (spec.secret, spec.other_secret):
        assert accepts(rotating, signed(spec.provider_for(secret), spec.body))
    assert not accepts(
        spec.provider_for(spec.secret), signed(spec.provider_for(spec.other_secret), spec.body)
    )


@BY_ID
def test_a_missing_header_is_refused_by_name(spec: Spec) -> None:
    provider = spec.provider_for(spec.secret)
    req = replace_header(signed(provider, spec.body), spec.required_header, None)
    text = reason(provider, req)
    assert "missing" in text
    assert spec.required_header.lower() in text.lower()
    assert accepts(provider, signed(provider, spec.body))


@BY_ID
def test_an_empty_header_is_refused_by_name(spec: Spec) -> None:
    provider = spec.provider_for(spec.secret)
    req = replace_header(signed(provider, spec.body), spec.required_header, "  ")
    assert spec.required_header.lower() in reason(provider, req).lower()


@BY_ID
def test_a_garbled_header_is_refused(spec: Spec) -> None:
    provider = spec.provider_for(spec.secret)
    good = signed(provider, spec.body)
    for garbage in ("garbage", "sha256=", "t=1,v1=", "v1,", "Bearer", "Basic !!!", "a.b.c", "=="):
        req = replace_header(good, spec.required_header, garbage)
        text = reason(provider, req)
        secret_free(text, spec, good)


@BODY_SIGNED
def test_an_altered_body_is_refused(spec: Spec) -> None:
    provider = spec.provider_for(spec.secret)
    good = signed(provider, spec.body)
    text = reason(provider, with_body(good, spec.body.replace(b"}", b" }", 1)))
    assert "match" in text
    secret_free(text, spec, good)


@TIMESTAMPED
def test_an_old_timestamp_is_refused_and_tolerance_is_an_option(spec: Spec) -> None:
    provider = spec.provider_for(spec.secret)
    default = provider.options["tolerance"].default
    old = at(signed(provider, spec.body), NOW + 3600)
    if default:
        assert "too old" in reason(provider, old)
    else:  # the vendor checks no age: off unless configured
        assert accepts(provider, old)
    strict = dataclasses.replace(spec, options={**spec.options, "tolerance": 60.0})
    tight = strict.provider_for(spec.secret)
    assert "too old" in reason(tight, at(signed(tight, spec.body), NOW + 61))
    assert "future" in reason(tight, at(signed(tight, spec.body), NOW - 61))
    assert accepts(tight, at(signed(tight, spec.body), NOW + 59))
    loose = dataclasses.replace(spec, options={**spec.options, "tolerance": 7200.0})
    assert accepts(loose.provider_for(spec.secret), old)


# -- property tests -----------------------------------------------------------------------------


@BODY_SIGNED
@PROPERTY
@given(data=st.data())
def test_any_single_byte_change_of_the_body_is_refused(spec: Spec, data: st.DataObject) -> None:
    provider = spec.provider_for(spec.secret)
    good = signed(provider, spec.body)
    index = data.draw(st.integers(0, len(spec.body) - 1), label="index")
    new = data.draw(st.integers(0, 255).filter(lambda b: b != spec.body[index]), label="byte")
    old_byte, new_byte = spec.body[index : index + 1], bytes([new])
    if spec.equivalent and spec.equivalent(old_byte, new_byte):
        return
    changed = spec.body[:index] + new_byte + spec.body[index + 1 :]
    assert not accepts(provider, with_body(good, changed))


@BY_ID
@PROPERTY
@given(data=st.data())
def test_any_single_byte_change_of_the_signature_is_refused(
    spec: Spec, data: st.DataObject
) -> None:
    assert spec.signature is not None
    header, pattern = spec.signature
    provider = spec.provider_for(spec.secret)
    good = signed(provider, spec.body)
    value = good.header(header) or ""
    match = re.fullmatch(pattern, value)
    assert match is not None
    index = data.draw(st.integers(match.start(1), match.end(1) - 1), label="index")
    char = data.draw(PRINTABLE.filter(lambda c: c != value[index]), label="char")
    if spec.equivalent and spec.equivalent(value[index].encode(), char.encode()):
        return
    changed = value[:index] + char + value[index + 1 :]
    assert not accepts(provider, replace_header(good, header, changed))


@TIMESTAMPED
@PROPERTY
@given(data=st.data())
def test_any_single_digit_change_of_the_timestamp_is_refused(
    spec: Spec, data: st.DataObject
) -> None:
    assert spec.timestamp is not None
    header, pattern = spec.timestamp
    provider = spec.provider_for(spec.secret)
    good = signed(provider, spec.body)
    value = good.header(header) or ""
    match = re.search(pattern, value)
    assert match is not None
    index = data.draw(st.integers(match.start(1), match.end(1) - 1), label="index")
    digit = data.draw(st.sampled_from("0123456789").filter(lambda c: c != value[index]))
    changed = value[:index] + digit + value[index + 1 :]
    assert not accepts(provider, replace_header(good, header, changed))
