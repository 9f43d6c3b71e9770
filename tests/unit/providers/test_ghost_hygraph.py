"""Ghost and Hygraph specifics: their header formats and Hygraph's JSON.stringify construction."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from relay.web.providers.hygraph import signed_message
from tests.helpers.provider_kit import (
    NOW,
    accepts,
    at,
    make,
    reason,
    replace_header,
    request,
    signed,
)

GHOST = "X-Ghost-Signature"
HYGRAPH = "gcms-signature"


def test_ghost_reports_the_resource_and_an_event_field_when_present() -> None:
    provider = make("ghost", "g")
    body = b'{"event":"post.published","post":{"current":{"id":"1"}}}'
    result = provider.verify(signed(provider, body))
    assert (result.event, result.content_type, result.delivery_id) == (
        "post.published",
        "post",
        None,
    )
    assert provider.verify(signed(provider, b'{"member":{}}')).content_type == "member"


def test_ghost_header_forms() -> None:
    provider = make("ghost", "g")
    good = signed(provider)
    value = good.header(GHOST) or ""
    assert accepts(provider, replace_header(good, GHOST, value.replace(", t=", ",t=")))
    assert "does not match" in reason(
        provider,
        replace_header(good, GHOST, value.upper().replace("SHA256", "sha256").replace("T=", "t=")),
    )
    for garbled in (
        value.split(",")[0],
        value.replace("sha256=", "sha1="),
        "t=1, sha256=ab",
        value.replace(", t=", "; t="),
    ):
        assert reason(provider, replace_header(good, GHOST, garbled)).startswith(
            f"malformed {GHOST}"
        )


def test_ghost_refuses_old_timestamps_by_default_and_tolerance_0_turns_it_off() -> None:
    provider = make("ghost", "g")
    assert accepts(provider, at(signed(provider), NOW + 299))
    assert "too old" in reason(provider, at(signed(provider), NOW + 301))
    assert accepts(make("ghost", "g", tolerance=0.0), at(signed(provider), NOW + 86400))


def _quote(text: str) -> str:
    """ECMA-262 QuoteJSONString, written out from the spec."""
    short = {
        0x08: "\\b",
        0x09: "\\t",
        0x0A: "\\n",
        0x0C: "\\f",
        0x0D: "\\r",
        0x22: '\\"',
        0x5C: "\\\\",
    }
    out = []
    for char in text:
        code = ord(char)
        if code in short:
            out.append(short[code])
        elif code < 0x20 or 0xD800 <= code <= 0xDFFF:
            out.append(f"\\u{code:04x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


@settings(max_examples=150, deadline=None)
@given(body=st.text(), env=st.text(min_size=1), timestamp=st.integers(0, 2**53))
def test_hygraph_message_is_what_json_stringify_produces(
    body: str, env: str, timestamp: int
) -> None:
    expected = f'{{"Body":{_quote(body)},"EnvironmentName":{_quote(env)},"TimeStamp":{timestamp}}}'
    assert signed_message(body, env, timestamp) == expected.encode()


def test_hygraph_environment_is_signed_and_reported_fields() -> None:
    provider = make("hygraph", "h")
    good = signed(provider)
    value = good.header(HYGRAPH) or ""
    assert "env=master" in value
    assert not accepts(
        provider, replace_header(good, HYGRAPH, value.replace("env=master", "env=staging"))
    )
    result = provider.verify(good)
    assert (result.event, result.content_type, result.delivery_id) == ("publish", "Post", None)


def test_hygraph_malformed_headers() -> None:
    provider = make("hygraph", "h")
    good = signed(provider)
    value = good.header(HYGRAPH) or ""
    sign, env, t = value.split(", ")
    for garbled in (
        f"{sign},{env},{t}",
        f"{env}, {sign}, {t}",
        f"{sign}, {env}",
        f"{sign}, {env}, {t}, x=1",
        f"{sign}, {env}, t=abc",
    ):
        assert reason(provider, replace_header(good, HYGRAPH, garbled)).startswith(
            f"malformed {HYGRAPH}"
        )


def test_hygraph_refuses_a_body_that_is_not_utf8() -> None:
    provider = make("hygraph", "h")
    good = signed(provider)
    assert "UTF-8" in reason(provider, request(b'{"x":"\xff"}', good.headers))
