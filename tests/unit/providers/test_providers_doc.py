"""docs/providers.md stays true: every relay.toml snippet in it is a valid configuration."""

from __future__ import annotations

import re
import tomllib

import pytest

from relay.core.config import parse_settings
from relay.web.providers.registry import PROVIDERS
from tests.helpers import paths

DOC = paths.DOCS / "providers.md"
TEXT = DOC.read_text(encoding="utf-8")
SNIPPETS = re.findall(r"```toml\n(.*?)```", TEXT, flags=re.S)
#: a value for every ${NAME} the snippets use, shaped the way each provider's check wants
ENVIRON = {
    name: "a" * 32 + "b" * 32
    if "CONTENTFUL" in name
    else "bWFjLXNlY3JldC1mb3ItdGhlLWRvY3MtdGVzdA=="
    if "AIRTABLE" in name
    else "whsec_bWFjLXNlY3JldC1mb3ItdGhlLWRvY3MtdGVzdA=="
    if "CLERK" in name
    else "docs-test-secret"
    for name in re.findall(r"\$\{([A-Z0-9_]+)\}", TEXT)
}


@pytest.mark.parametrize("snippet", SNIPPETS, ids=[f"snippet{i}" for i in range(len(SNIPPETS))])
def test_every_snippet_is_a_valid_hook(snippet: str) -> None:
    raw = tomllib.loads(snippet)
    raw["targets"] = {"site": {"deploy_hook": "https://example.com/hook"}}
    settings = parse_settings(raw, ENVIRON, schemes=PROVIDERS)
    assert settings.hooks
    for hook in settings.hooks.values():
        assert hook.provider in PROVIDERS


def test_every_provider_is_documented() -> None:
    for name in PROVIDERS:
        assert f"`{name}`" in TEXT, name
