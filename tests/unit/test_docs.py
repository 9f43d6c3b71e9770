"""docs/configuration.md states every key with the default the code declares."""

from __future__ import annotations

import re

import pytest

from relay.core.build_settings import FilterSettings, HookSettings, TargetSettings
from relay.core.declare import declared, shown_default
from relay.core.settings import TABLES, NotifySettings
from tests.helpers import paths

DOC = (paths.DOCS / "configuration.md").read_text(encoding="utf-8")
SECTIONS = {
    **TABLES,
    "notify": NotifySettings,
    "targets.NAME": TargetSettings,
    "hooks.NAME": HookSettings,
    "hooks.NAME.filter": FilterSettings,
}


def documented(section: str) -> dict[str, str]:
    """key -> default cell of the table under `### `[section]``."""
    match = re.search(rf"^### `\[{re.escape(section)}\]`\n(.*?)(?=^### |\Z)", DOC, re.M | re.S)
    assert match, f"docs/configuration.md has no section for [{section}]"
    rows = re.findall(r"^\| `([a-z_]+)` \| ([^|]+) \|", match[1], re.M)
    return {key: default.strip() for key, default in rows}


@pytest.mark.parametrize("section", list(SECTIONS))
def test_every_key_is_documented_with_its_default(section: str) -> None:
    rows = documented(section)
    for key, default, meta in declared(SECTIONS[section]):
        assert key in rows, f"[{section}] {key} is not in docs/configuration.md"
        assert rows[key] == shown_default(default, meta), f"[{section}] {key}: default differs"
    declared_keys = {key for key, _, _ in declared(SECTIONS[section])}
    assert set(rows) <= declared_keys, f"[{section}] documents keys that do not exist"


def test_every_environment_override_is_documented() -> None:
    for cls in SECTIONS.values():
        for key, _, meta in declared(cls):
            if meta.env:
                assert f"`{meta.env}`" in DOC, f"{meta.env} ({key}) is not documented"
