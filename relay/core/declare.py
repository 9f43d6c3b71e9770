"""How a setting is declared: once, as a field of a settings dataclass.

Each field carries its key's kind, help text and environment override next to its default::

    @dataclass(frozen=True)
    class RetrySettings:
        attempts: int = setting(5, "tries in all, the first included", kind=Kind.INT, minimum=1)

`relay.core.settings_reader` derives the allowed keys of a table from these fields and reads
each value by its kind; `relay.core.settings.reference` renders them for the docs (a test
holds docs/configuration.md to them). A provider declares its extra hook keys the same way,
with `OptionSpec`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from relay.core.duration import format_duration

METADATA_KEY = "relay"


class Kind(StrEnum):
    """How a key's value is written in relay.toml and what it becomes."""

    STRING = "string"
    SECRET = "secret"  # noqa: S105 (a kind name) -- a string wrapped in `Secret` as soon as it is read
    INT = "whole number"
    FLOAT = "number"
    BOOL = "true or false"
    DURATION = "duration"  # "90s", "5m", … or seconds; read as float seconds
    CRON = "cron"  # five fields, UTC
    STRINGS = "list of strings"  # a lone string is a list of one
    SECRETS = "list of secrets"
    BUDGET = "budget"  # "N/day" (rolling 24 h) or "N/month" (calendar month, UTC)


@dataclass(frozen=True)
class Meta:
    """What is declared about one key besides its default."""

    kind: Kind
    help: str
    env: str | None = None  # an environment variable that wins over the file when non-empty
    minimum: float | None = None
    choices: tuple[str, ...] = ()
    #: how the docs show the default when it is not a plain value ("the production branch")
    shown: str | None = None


def setting(
    default: Any,
    help: str,
    *,
    kind: Kind,
    env: str | None = None,
    minimum: float | None = None,
    choices: tuple[str, ...] = (),
    shown: str | None = None,
) -> Any:
    """A dataclass field that is a relay.toml key (typed `Any` so that it fits any annotation)."""
    meta = Meta(kind, help, env, minimum, choices, shown)
    if isinstance(default, list | dict):
        raise TypeError("settings are immutable: use a tuple default")
    return dataclasses.field(default=default, metadata={METADATA_KEY: meta})


def declared(cls: type) -> Iterator[tuple[str, Any, Meta]]:
    """(key, default, meta) of each declared key of a settings dataclass, in order."""
    for item in dataclasses.fields(cls):
        meta = item.metadata.get(METADATA_KEY)
        if isinstance(meta, Meta):
            yield item.name, item.default, meta


@dataclass(frozen=True)
class OptionSpec:
    """An extra key a hook's provider accepts in its `[hooks.NAME]` table."""

    kind: Kind
    default: object = None
    help: str = ""
    choices: tuple[str, ...] = ()

    @property
    def meta(self) -> Meta:
        return Meta(self.kind, self.help, choices=self.choices)


def shown_default(default: Any, meta: Meta) -> str:
    """How docs/configuration.md writes a key's default (a test holds the docs to it)."""
    if meta.shown is not None:
        return meta.shown
    if default is None or default == ():
        return "\N{EN DASH}"
    if isinstance(default, bool):
        return "true" if default else "false"
    if meta.kind is Kind.DURATION:
        return f'"{format_duration(float(default))}"'
    if isinstance(default, int | float):
        return str(default)
    return f'"{default}"'
