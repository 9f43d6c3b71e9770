"""Where the OpenAPI subsets the fake follows are, for the tests that hold it to them.

The shared references sit beside the checkout (`../shared/cloudflare/` from the repository
root, `tests.helpers.paths.SHARED`); without them the copies in `tests/fixtures/cloudflare/`
are used. No absolute machine paths.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.helpers.paths import FIXTURES, SHARED

SHARED_DIR = SHARED / "cloudflare"
FIXTURE_DIR = FIXTURES / "cloudflare"
PAGES_SCHEMA = "pages-openapi.json"
BUILDS_SCHEMA = "workers-builds-openapi.json"
PAGES_REFERENCE = SHARED / "reference" / "cloudflare-pages-api.md"


def schema_dir() -> Path:
    """`../shared/cloudflare` when it exists, else the fixture copies."""
    return SHARED_DIR if SHARED_DIR.is_dir() else FIXTURE_DIR


def load_schema(name: str) -> Any:
    """One of `PAGES_SCHEMA`, `BUILDS_SCHEMA`, parsed."""
    return json.loads((schema_dir() / name).read_text(encoding="utf-8"))
