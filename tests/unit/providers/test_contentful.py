"""Contentful specifics: the canonical request, signed headers, TTL, secrets and topics."""

from __future__ import annotations

from fnmatch import fnmatchcase

import pytest

from relay.web.providers.contentful import Contentful, canonical_path
from tests.helpers.provider_kit import (
    NOW,
    accepts,
    at,
    hook,
    make,
    reason,
    replace_header,
    request,
    signed,
)

SECRET = "a" * 32 + "b" * 32


@pytest.mark.parametrize(
    ("path", "canonical"),
    [
        ("/hooks/cf", "/hooks/cf"),
        ("/hooks/cf?env=master&x=1", "/hooks/cf?env%253Dmaster%2526x%253D1"),
        ("/hooks/cf?", "/hooks/cf"),
        ("/hooks/cf?a=1?b=2", "/hooks/cf?a%253D1"),  # JS split("?") keeps one part only
        ("/hooks/a b/ü", "/hooks/a%20b/%C3%BC"),
        ("/hooks/x;y,z@:$+!*'()#~", "/hooks/x;y,z@:$+!*'()#~"),
        ("/hooks/x?q=a b!~*'()", "/hooks/x?q%253Da%2520b!~*'()"),
        ("/hooks/%41", "/hooks/%2541"),
    ],
)
def test_the_path_is_normalised_like_javascript(path: str, canonical: str) -> None:
    assert canonical_path(path) == canonical


def test_routing_fields() -> None:
    provider = make("contentful", SECRET)
    body = b'{"sys":{"id":"e1","contentType":{"sys":{"id":"blogPost"}}}}'
    result = provider.verify(signed(provider, body))
    assert result.event == "ContentManagement.Entry.publish"
    assert result.content_type == "blogPost"
    assert result.hint_id and len(result.hint_id) == 64, "not among the signed headers: a hint"
    assert result.replay_token and result.replay_window > 0


@pytest.mark.parametrize(
    ("topic", "builds"),
    [
        ("ContentManagement.Entry.publish", True),
        ("ContentManagement.Asset.publish", True),
        ("ContentManagement.Entry.unpublish", True),
        ("ContentManagement.Entry.delete", True),
        ("ContentManagement.Entry.archive", True),
        ("ContentManagement.Asset.unarchive", True),
        ("ContentManagement.Entry.auto_save", False),
        ("ContentManagement.Entry.save", False),
        ("ContentManagement.Entry.create", False),
    ],
)
def test_default_events_are_the_publishing_topics(topic: str, builds: bool) -> None:
    assert Contentful.default_events is not None
    assert any(fnmatchcase(topic, g) for g in Contentful.default_events) is builds


def test_the_default_tolerance_is_five_minutes_and_zero_turns_it_off() -> None:
    provider = make("contentful", SECRET)
    assert accepts(provider, at(signed(provider), NOW + 299))
    assert "x-contentful-timestamp timestamp is too old" in reason(
        provider, at(signed(provider), NOW + 301)
    )
    assert accepts(make("contentful", SECRET, tolerance=0.0), at(signed(provider), NOW + 86400))


def test_a_signed_header_that_is_missing_or_changed_breaks_the_signature() -> None:
    provider = make("contentful", SECRET)
    good = signed(provider)
    assert not accepts(provider, replace_header(good, "x-contentful-topic", None))
    assert not accepts(provider, replace_header(good, "content-type", "application/json"))
    # unsigned headers may change; the listed names may come in any order (the toolkit sorts)
    assert accepts(provider, replace_header(good, "x-contentful-idempotency-key", "other"))
    order = "x-contentful-topic,content-type,x-contentful-timestamp,x-contentful-signed-headers"
    assert accepts(provider, replace_header(good, "x-contentful-signed-headers", order))
    assert not accepts(
        provider,
        replace_header(
            good,
            "x-contentful-signed-headers",
            "x-contentful-signed-headers,x-contentful-timestamp",
        ),
    )


def test_header_values_are_trimmed_and_names_case_insensitive() -> None:
    provider = make("contentful", SECRET)
    good = signed(provider)
    padded = replace_header(good, "x-contentful-topic", "  ContentManagement.Entry.publish ")
    assert accepts(provider, padded)


def test_the_method_and_path_are_signed() -> None:
    provider = make("contentful", SECRET)
    good = signed(provider)
    assert not accepts(
        provider, request(good.body, good.headers, method="PUT", received_at=good.received_at)
    )
    assert not accepts(
        provider,
        request(good.body, good.headers, path="/hooks/other", received_at=good.received_at),
    )


def test_the_path_option_is_for_a_proxy_that_rewrites_paths() -> None:
    public = make("contentful", SECRET, path="/relay/hooks/cf")
    req = signed(public, path="/relay/hooks/cf")
    behind_proxy = request(req.body, req.headers, path="/hooks/cf", received_at=req.received_at)
    assert accepts(public, behind_proxy)
    assert not accepts(make("contentful", SECRET), behind_proxy)


@pytest.mark.parametrize(
    ("header", "value", "expected"),
    [
        ("x-contentful-signature", "ABC", "malformed x-contentful-signature"),
        ("x-contentful-signature", "A" * 64, "malformed x-contentful-signature"),
        ("x-contentful-timestamp", "1500000000000", "malformed x-contentful-timestamp"),
        ("x-contentful-timestamp", "17e11", "malformed x-contentful-timestamp"),
        ("x-contentful-signed-headers", "content-type", "malformed x-contentful-signed-headers"),
    ],
)
def test_malformed_headers_are_named(header: str, value: str, expected: str) -> None:
    provider = make("contentful", SECRET)
    assert reason(provider, replace_header(signed(provider), header, value)).startswith(expected)


def test_check_wants_64_characters_of_the_secret_alphabet() -> None:
    assert Contentful.check(hook("contentful", SECRET)) == []
    assert Contentful.check(hook("contentful", "0123456789+/=_-" + "x" * 49)) == []
    for bad in ("short", "a" * 63, "a" * 65, "a" * 63 + "!", "a" * 63 + "é"):
        problems = Contentful.check(hook("contentful", bad, name="cf"))
        assert len(problems) == 1
        assert problems[0].startswith("hooks.cf.secret: ")
        assert bad not in problems[0]
    problems = Contentful.check(hook("contentful", SECRET, "bad", name="cf"))
    assert problems == [problems[0]]
    assert problems[0].startswith("hooks.cf.secrets[1]: ")
