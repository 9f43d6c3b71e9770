"""The relay agrees with the vendors' own code on every recorded request.

`tests/fixtures/signatures/*.json` were written by `generate.mjs` (npm: @sanity/webhook,
@contentful/node-apps-toolkit, @octokit/webhooks-methods, standardwebhooks, svix, @hygraph/utils,
@kontent-ai/webhook-helper, @shopify/shopify-api, jsonwebtoken) and `generate_pypi.py` (PyPI:
standardwebhooks, svix): each case is a request and what the vendor's verifier said about it.
"""

from __future__ import annotations

import pytest

from tests.helpers.provider_kit import FIXTURES, Case, accepts, at, fixture_cases, make, reason

CASES = fixture_cases()
FILES = sorted(p.name for p in FIXTURES.glob("*.json") if not p.name.startswith("package"))


def test_there_is_a_fixture_for_every_signed_provider() -> None:
    providers = {case.provider for case in CASES}
    assert providers >= {
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
        "standard-webhooks",
    }
    for name in FILES:
        cases = [c for c in CASES if c.file == name]
        assert any(c.valid for c in cases), name
        assert any(not c.valid for c in cases), name


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_the_relay_agrees_with_the_vendor(case: Case) -> None:
    provider = case.verifier()
    if case.valid:
        result = provider.verify(case.request)
        if "event" in case.extra:
            assert result.event == case.extra["event"]
    else:
        text = reason(provider, case.request)
        assert case.secret not in text
        for value in case.request.headers.values():
            if len(value) >= 16:
                assert value not in text


def _timestamped(case: Case) -> bool:
    stamps = {"webhook-timestamp", "svix-timestamp"}
    return case.valid and (
        case.provider in {"sanity", "contentful", "ghost", "hygraph"}
        or bool(stamps & set(case.request.headers))
    )


TIMESTAMPED = [c for c in CASES if _timestamped(c)]


@pytest.mark.parametrize("case", TIMESTAMPED, ids=[c.id for c in TIMESTAMPED])
def test_the_signed_timestamp_is_the_one_checked(case: Case) -> None:
    """With a 5 s tolerance the vendor's request passes as recorded and fails an hour late."""
    strict = make(case.provider, case.secret, tolerance=5.0)
    assert accepts(strict, case.request)
    text = reason(strict, at(case.request, case.request.received_at + 3600))
    assert "too old" in text
