"""Where the tests find things: relative to the repository, never to one machine."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TESTS = ROOT / "tests"
FIXTURES = TESTS / "fixtures"
ARTIFACTS = TESTS / "artifacts"  # screenshots of the browser tests (git-ignored)
DOCS = ROOT / "docs"
#: the team's shared folder beside the checkout, when there is one (the schema subsets, the
#: reference); tests fall back to the copies in tests/fixtures/ without it
SHARED = ROOT.parent / "shared"
