"""How the control and build commands print: one JSON document, and times in UTC."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime

import click


def emit_json(doc: object) -> None:
    """`--json`: one document on stdout, nothing else there."""
    click.echo(json.dumps(doc, indent=2, sort_keys=True))


def utc_second(ms: int) -> str:
    """A moment for people, to the second: "2026-12-02 18:00:05 UTC"."""
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def iso_utc(seconds: float | None) -> str:
    """A log line's time: "2026-12-02T18:00:05.123Z", or "-" when the platform gave none."""
    if seconds is None:
        return "-"
    moment = datetime.fromtimestamp(seconds, tz=UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def table(rows: Sequence[Sequence[str]], headers: Sequence[str]) -> None:
    """Columns under upper-case headers, as `relay deployments` prints them; "(none)" if empty."""
    if not rows:
        click.echo("(none)")
        return
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    click.echo("  ".join(h.upper().ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip())
    for row in rows:
        click.echo("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
