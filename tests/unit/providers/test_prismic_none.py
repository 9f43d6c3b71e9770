"""Prismic (secret in the body) and `none` (no authentication)."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from relay.web.providers.none import NoAuth
from relay.web.providers.prismic import Prismic
from tests.helpers.provider_kit import accepts, hook, make, reason, request

SECRET = "prismic-secret"


def body(secret: object, kind: str = "api-update") -> bytes:
    return json.dumps(
        {"type": kind, "domain": "repo", "secret": secret, "documents": ["X1"]}
    ).encode()


def test_prismic_secret_field() -> None:
    provider = make("prismic", SECRET)
    assert provider.verify(request(body(SECRET), {})).event == "api-update"
    assert Prismic.default_events == ("api-update",)
    assert "not the hook's secret" in reason(provider, request(body("other"), {}))
    for missing in (body(None), body(""), body(5), b'{"type":"api-update"}'):
        assert "missing secret field" in reason(provider, request(missing, {}))
    for not_object in (b"[]", b"nope", b""):
        assert "not a JSON object" in reason(provider, request(not_object, {}))
    rotating = make("prismic", "old", SECRET)
    assert accepts(rotating, request(body(SECRET), {}))
    assert accepts(rotating, request(body("old"), {}))


def test_prismic_reasons_never_carry_the_secret() -> None:
    provider = make("prismic", SECRET)
    for sent in (body("prismic-secreT"), body(None), b"nope"):
        text = reason(provider, request(sent, {}))
        assert SECRET not in text
        assert "prismic-secreT" not in text


@settings(max_examples=50, deadline=None)
@given(
    index=st.integers(0, len(SECRET) - 1),
    char=st.characters(min_codepoint=0x21, max_codepoint=0x7E),
)
def test_prismic_any_single_byte_change_of_the_secret_is_refused(index: int, char: str) -> None:
    changed = SECRET[:index] + char + SECRET[index + 1 :]
    assert accepts(make("prismic", SECRET), request(body(changed), {})) is (changed == SECRET)


def test_none_needs_insecure_and_always_warns() -> None:
    assert NoAuth.needs_secret is False
    problems = NoAuth.check(hook("none", name="open"))
    assert len(problems) == 1
    assert problems[0].startswith("hooks.open.insecure: ")
    assert NoAuth.check(hook("none", name="open", insecure=True)) == []
    for insecure in (True, False):
        warnings = NoAuth.warnings(hook("none", name="open", insecure=insecure))
        assert len(warnings) == 1
        assert "hooks.open" in warnings[0]
        assert "without authentication" in warnings[0]


def test_none_accepts_anything_and_reads_optional_headers() -> None:
    provider = make("none", insecure=True, id_header="X-Id", event_header="X-Event")
    result = provider.verify(request(b"anything", {"X-Id": "d1", "X-Event": "build"}))
    assert (result.hint_id, result.event) == ("d1", "build")
    assert make("none").verify(request(b"", {})).delivery_id is None
    assert make("none").sign(b"x", path="/", now=0) == {"content-type": "application/json"}
