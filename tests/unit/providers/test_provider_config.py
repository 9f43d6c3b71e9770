"""Provider options, checks and warnings as relay.toml users meet them (through parse_settings)."""

from __future__ import annotations

from typing import Any

import pytest

from relay.core.config import parse_settings
from relay.core.exceptions import ConfigError
from relay.core.settings import Settings
from relay.web.providers.registry import PROVIDERS

CONTENTFUL_SECRET = "a" * 32 + "b" * 32


def settings(**hooks: dict[str, Any]) -> Settings:
    raw = {
        "targets": {"site": {"deploy_hook": "https://example.com/hook"}},
        "hooks": {name: {"targets": ["site"], **table} for name, table in hooks.items()},
    }
    return parse_settings(raw, {}, schemes=PROVIDERS)


def problems(**hooks: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as info:
        settings(**hooks)
    return info.value.problems


def test_tolerance_options_parse_as_durations() -> None:
    parsed = settings(
        cf={"provider": "contentful", "secret": CONTENTFUL_SECRET, "tolerance": "10m"},
        sanity={"provider": "sanity", "secret": "s", "tolerance": "5m"},
        ghost={"provider": "ghost", "secret": "g", "tolerance": 0},
        gl={"provider": "gitlab", "secret": "t", "tolerance": "90s"},
    )
    assert parsed.hooks["cf"].options == {"tolerance": 600.0}
    assert parsed.hooks["sanity"].options == {"tolerance": 300.0}
    assert parsed.hooks["ghost"].options == {"tolerance": 0.0}
    assert parsed.hooks["gl"].options == {"tolerance": 90.0}
    assert problems(s={"provider": "sanity", "secret": "s", "tolerance": "soon"})[0].startswith(
        "hooks.s.tolerance: "
    )


def test_provider_checks_surface_as_config_problems() -> None:
    found = problems(
        cf={"provider": "contentful", "secret": "too-short"},
        air={"provider": "airtable", "secret": "not base64!"},
        gl={"provider": "gitlab", "secrets": ["token", "whsec_!!"]},
        open={"provider": "none"},
    )
    assert len(found) == 4
    assert found[0].startswith("hooks.cf.secret: not a Contentful signing secret")
    assert found[1].startswith("hooks.air.secret: not base64")
    assert found[2].startswith("hooks.gl.secrets[1]: not a GitLab signing token")
    assert found[3].startswith("hooks.open.insecure: ")
    assert not any("too-short" in p or "whsec_!!" in p for p in found)


def test_unknown_options_and_missing_secrets_are_reported() -> None:
    found = problems(
        sb={"provider": "storyblok"},
        gh={"provider": "github", "secret": "x", "tolerance": "5m"},
    )
    assert "hooks.sb.secret: provider storyblok needs a secret" in found
    assert any(p.startswith("hooks.gh.tolerance: unknown key") for p in found)


def test_an_insecure_none_hook_starts_with_a_warning() -> None:
    parsed = settings(
        open={"provider": "none", "insecure": True},
        woo={"provider": "woocommerce", "secret": "w", "accept_ping": False},
    )
    assert any("hooks.open" in w and "without authentication" in w for w in parsed.warnings)
    assert parsed.hooks["woo"].options == {"accept_ping": False}
