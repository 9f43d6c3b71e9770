"""The routing fields a provider reads from a verified JSON body (event, type, branch, id).

Only read after the signature has been checked; a body that is not JSON, or lacks the field,
simply yields `None` (verification does not depend on it).
"""

from __future__ import annotations

from typing import Any

import orjson


def json_body(body: bytes) -> Any:
    """The parsed body, or None when it is not JSON."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return None


def field(doc: Any, *path: str | int) -> str | None:
    """The string at `path` (keys of objects, indexes of arrays), else None."""
    for step in path:
        if isinstance(step, int) and isinstance(doc, list) and -len(doc) <= step < len(doc):
            doc = doc[step]
        elif isinstance(step, str) and isinstance(doc, dict):
            doc = doc.get(step)
        else:
            return None
    return doc if isinstance(doc, str) and doc else None


def branch_of(ref: str | None) -> str | None:
    """`refs/heads/main` → `main`; tags and anything else → None."""
    if ref and ref.startswith("refs/heads/") and len(ref) > len("refs/heads/"):
        return ref.removeprefix("refs/heads/")
    return None
