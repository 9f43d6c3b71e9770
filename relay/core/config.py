"""Reading relay.toml: the file and the environment → `relay.core.settings.Settings`.

Every table is read against the declarations of its dataclass (`relay.core.declare`): the allowed
keys are the declared fields, each value is converted by its kind, an environment override wins
when set and non-empty. The reader never stops at the first problem: each one is collected as a
line that names its key (`targets.blog.debounce: '5 minutes' is not a duration …`) and all are
raised together as one `ConfigError`.
"""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any, ClassVar, Protocol

from croniter import croniter

from relay.core.budget import BuildBudget
from relay.core.build_settings import (
    FilterSettings,
    HookSettings,
    MatchRule,
    TargetKind,
    TargetSettings,
)
from relay.core.declare import Kind, Meta, OptionSpec, declared
from relay.core.duration import parse_duration
from relay.core.exceptions import ConfigError
from relay.core.secret import Secret
from relay.core.settings import NAME_PATTERN, TABLES, NotifySettings, RedisSettings, Settings

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
#: keys of a `[hooks.NAME]` table besides the declared ones and the provider's options
_HOOK_EXTRA = {"filter"}


class HookScheme(Protocol):
    """What the reader needs to know of a provider (`relay.web.providers.base.Provider`)."""

    options: ClassVar[Mapping[str, OptionSpec]]
    needs_secret: ClassVar[bool]

    @classmethod
    def check(cls, hook: HookSettings) -> list[str]: ...

    @classmethod
    def warnings(cls, hook: HookSettings) -> list[str]: ...


def default_config_path() -> Path:
    return Path(os.environ.get("RELAY_CONFIG") or "relay.toml")


def load_settings(
    path: Path | None = None,
    environ: Mapping[str, str] | None = None,
    *,
    schemes: Mapping[str, type[HookScheme]],
) -> Settings:
    """Read and validate `path` (default `$RELAY_CONFIG`, else ./relay.toml) and the environment.

    `schemes` are the hook providers the caller knows (`relay.web.providers.registry`): the core
    checks each hook against its provider's declared options without importing the web side.
    """
    env = os.environ if environ is None else environ
    path = path or default_config_path()
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError([f"{path}: no such file (copy relay.example.toml to start)"]) from None
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read: {exc.strerror}"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{path}: not valid TOML: {exc}"]) from None
    return parse_settings(raw, env, path=path, schemes=schemes)


def parse_settings(
    raw: Mapping[str, Any],
    environ: Mapping[str, str],
    *,
    schemes: Mapping[str, type[HookScheme]],
    path: Path | None = None,
) -> Settings:
    return SettingsReader(raw, environ, path, schemes).settings()


class SettingsReader:
    def __init__(
        self,
        raw: Mapping[str, Any],
        environ: Mapping[str, str],
        path: Path | None,
        schemes: Mapping[str, type[HookScheme]],
    ) -> None:
        self.raw = raw
        self.environ = environ
        self.path = path
        self.schemes = schemes
        self.problems: list[str] = []
        self.warnings: list[str] = []

    # -- entry point ---------------------------------------------------------------------------

    def settings(self) -> Settings:
        known = {*TABLES, "targets", "hooks", "notify"}
        for key in self.raw:
            if key not in known:
                self.problems.append(f"{key}: unknown table (expected one of {sorted(known)})")
        tables = {name: self.table(cls, self._table(name), name) for name, cls in TABLES.items()}
        redis = tables["redis"]
        assert isinstance(redis, RedisSettings)
        configured = "url" in self._table("redis") or bool(self.environ.get("REDIS_URL"))
        tables["redis"] = dataclasses.replace(redis, configured=configured)
        targets = self._targets()
        hooks = self._hooks(targets)
        notify = self._notify(targets)
        if self.problems:
            raise ConfigError(self.problems)
        settings = Settings(path=self.path, targets=targets, hooks=hooks, notify=notify, **tables)
        self._credential_warnings(settings)
        return dataclasses.replace(settings, warnings=tuple(self.warnings))

    def _credential_warnings(self, settings: Settings) -> None:
        if settings.cloudflare.has_credentials:
            return
        kinds = {t.kind for t in settings.targets.values()}
        if kinds & {TargetKind.PAGES, TargetKind.WORKERS}:
            self.warnings.append(
                "no Cloudflare credentials (CLOUDFLARE_ACCOUNT_ID, CLOUDFLARE_API_TOKEN): "
                "API targets run in dry-run and only record what they would deploy"
            )
        for name, target in settings.targets.items():
            if target.supersede and target.kind is TargetKind.WORKERS_HOOK:
                self.warnings.append(
                    f"targets.{name}.supersede: cancelling needs API credentials; without "
                    "them builds started by the deploy hook are not cancelled"
                )

    # -- tables --------------------------------------------------------------------------------

    def table(
        self,
        cls: type,
        table: Mapping[str, Any],
        key: str,
        *,
        extra: Collection[str] = (),
        **given: Any,
    ) -> Any:
        """`cls` built from `table` (every declared key read by its kind), checked by its
        `problems(key)`; unknown keys (beyond `extra`) are problems."""
        fields = list(declared(cls))
        self._unknown_keys(table, {name for name, _, _ in fields} | set(extra), key)
        values = dict(given)
        for name, default, meta in fields:
            values[name] = self.value(table, name, f"{key}.{name}", meta, default)
        built = cls(**values)
        check = getattr(built, "problems", None)
        if check is not None:
            self.problems.extend(check(key))
        return built

    def _targets(self) -> dict[str, TargetSettings]:
        return {
            name: self.table(TargetSettings, table, f"targets.{name}", name=name)
            for name, table in self._named_tables("targets").items()
        }

    def _hooks(self, targets: Mapping[str, TargetSettings]) -> dict[str, HookSettings]:
        out: dict[str, HookSettings] = {}
        for name, table in self._named_tables("hooks").items():
            key = f"hooks.{name}"
            provider_name = table.get("provider")
            if not isinstance(provider_name, str) or not provider_name:
                self.problems.append(f"{key}.provider: missing (one of {', '.join(self.schemes)})")
                continue
            scheme = self.schemes.get(provider_name)
            if scheme is None:
                self.problems.append(
                    f"{key}.provider: unknown provider {provider_name!r} "
                    f"(known: {', '.join(sorted(self.schemes))})"
                )
                continue
            options = {
                option: self.value(table, option, f"{key}.{option}", spec.meta, spec.default)
                for option, spec in scheme.options.items()
                if option in table
            }
            hook = self.table(
                HookSettings,
                table,
                key,
                extra=_HOOK_EXTRA | set(scheme.options),
                name=name,
                filters=self._filters(table.get("filter"), f"{key}.filter"),
                options=options,
            )
            single = (hook.secret,) if hook.secret is not None else ()
            hook = dataclasses.replace(hook, secrets=single + hook.secrets)
            if not hook.targets:
                self.problems.append(f"{key}.targets: lists no target")
            for target in hook.targets:
                if target not in targets:
                    self.problems.append(f"{key}.targets: {target!r} is not a defined target")
            if scheme.needs_secret and not hook.secrets:
                self.problems.append(f"{key}.secret: provider {provider_name} needs a secret")
            self.problems.extend(scheme.check(hook))
            self.warnings.extend(scheme.warnings(hook))
            out[name] = hook
        return out

    def _notify(self, targets: Mapping[str, TargetSettings]) -> tuple[NotifySettings, ...]:
        """`[notify]` (one channel) or `[[notify]]` (several)."""
        raw = self.raw.get("notify")
        if raw is None:
            return ()
        tables: list[tuple[str, object]]
        if isinstance(raw, Mapping):
            tables = [("notify", raw)]
        elif isinstance(raw, list):
            tables = [(f"notify[{index}]", item) for index, item in enumerate(raw)]
        else:
            self.problems.append("notify: must be a table ([notify]) or tables ([[notify]])")
            return ()
        out = []
        for key, table in tables:
            if not isinstance(table, Mapping):
                self.problems.append(f"{key}: must be a table")
                continue
            channel = self.table(NotifySettings, table, key)
            for target in channel.targets or ():
                if target not in targets:
                    self.problems.append(f"{key}.targets: {target!r} is not a defined target")
            out.append(channel)
        return tuple(out)

    def _filters(self, raw: object, key: str) -> FilterSettings:
        if raw is None:
            return FilterSettings()
        if not isinstance(raw, Mapping):
            self.problems.append(f"{key}: must be a table")
            return FilterSettings()
        rules: list[MatchRule] = []
        match = raw.get("match", [])
        if not isinstance(match, list):
            self.problems.append(f"{key}.match: must be a list of tables")
            match = []
        for index, item in enumerate(match):
            rule = self._match_rule(item, f"{key}.match[{index}]")
            if rule is not None:
                rules.append(rule)
        filters = self.table(FilterSettings, raw, key, extra={"match"})
        assert isinstance(filters, FilterSettings)
        return dataclasses.replace(filters, match=tuple(rules))

    def _match_rule(self, item: object, key: str) -> MatchRule | None:
        if not isinstance(item, Mapping):
            self.problems.append(f"{key}: must be a table")
            return None
        self._unknown_keys(item, {"header", "json", "values"}, key)
        sources = [s for s in ("header", "json") if s in item]
        if len(sources) != 1 or not isinstance(item[sources[0]], str):
            self.problems.append(f'{key}: needs exactly one of header = "…" or json = "…"')
            return None
        values = self.value(item, "values", f"{key}.values", Meta(Kind.STRINGS, ""), ())
        return MatchRule(source=sources[0], key=item[sources[0]], values=values)

    # -- values --------------------------------------------------------------------------------

    def value(self, table: Mapping[str, Any], name: str, key: str, meta: Meta, default: Any) -> Any:
        """The value of `name` in `table` (or its environment override) read as `meta.kind`;
        `default` when absent or wrong (the problem is recorded)."""
        raw: Any
        if meta.env and self.environ.get(meta.env):
            raw = self.environ[meta.env]
        elif name in table:
            raw = table[name]
        else:
            return default
        try:
            value = _READERS[meta.kind](self, raw, key)
        except ValueError as exc:
            self.problems.append(f"{key}: {exc}")
            return default
        if meta.choices and value not in meta.choices:
            self.problems.append(f"{key}: {value!r} is not one of {', '.join(meta.choices)}")
            return default
        if meta.minimum is not None and isinstance(value, int | float) and value < meta.minimum:
            self.problems.append(f"{key}: must be at least {meta.minimum:g}")
            return default
        return value

    def interpolate(self, value: str, key: str) -> str:
        """Replace each ${NAME} in `value`; a missing variable is a problem naming key and NAME."""

        def replace(match: re.Match[str]) -> str:
            name = match[1]
            if name not in self.environ:
                self.problems.append(f"{key}: environment variable {name} is not set")
                return ""
            return self.environ[name]

        return _ENV_REF.sub(replace, value)

    def _string(self, raw: Any, key: str) -> str | None:
        if not isinstance(raw, str):
            raise ValueError("must be a string")
        return self.interpolate(raw, key)

    def _secret(self, raw: Any, key: str) -> Secret | None:
        text = self._string(raw, key)
        return Secret(text) if text else None

    def _secrets(self, raw: Any, key: str) -> tuple[Secret, ...]:
        texts = self._strings(raw, key)
        for index, text in enumerate(texts):
            if not text:
                self.problems.append(f"{key}[{index}]: is empty")
        return tuple(Secret(text) for text in texts if text)

    def _strings(self, raw: Any, key: str) -> tuple[str, ...]:
        items = [raw] if isinstance(raw, str) else raw
        if not isinstance(items, list) or not all(isinstance(v, str) for v in items):
            raise ValueError("must be a list of strings")
        return tuple(self.interpolate(v, key) for v in items)

    def _typed(self, raw: Any, kind: type, name: str) -> Any:
        if (kind in (int, float) and isinstance(raw, bool)) or not isinstance(raw, kind):
            raise ValueError(f"must be {name}, not {raw!r}")
        return raw

    def _duration(self, raw: Any, key: str) -> float:
        return parse_duration(self.interpolate(raw, key) if isinstance(raw, str) else raw)

    def _budget(self, raw: Any, key: str) -> BuildBudget | None:
        text = self._string(raw, key)
        return BuildBudget.parse(text) if text else None

    def _cron(self, raw: Any, key: str) -> str | None:
        text = self._string(raw, key)
        if text is None or not croniter.is_valid(text) or len(text.split()) != 5:
            raise ValueError(f'{text!r} is not a cron expression (five fields, e.g. "0 * * * *")')
        return text

    # -- structure -----------------------------------------------------------------------------

    def _table(self, name: str) -> Mapping[str, Any]:
        value = self.raw.get(name, {})
        if not isinstance(value, Mapping):
            self.problems.append(f"{name}: must be a table ([{name}])")
            return {}
        return value

    def _named_tables(self, name: str) -> dict[str, Mapping[str, Any]]:
        out: dict[str, Mapping[str, Any]] = {}
        for item, table in self._table(name).items():
            if not NAME_PATTERN.match(item):
                self.problems.append(
                    f"{name}.{item}: names may use letters, digits, - and _ (at most 64)"
                )
            elif not isinstance(table, Mapping):
                self.problems.append(f"{name}.{item}: must be a table ([{name}.{item}])")
            else:
                out[item] = table
        return out

    def _unknown_keys(self, table: Mapping[str, Any], allowed: set[str], key: str) -> None:
        for name in table:
            if name not in allowed:
                self.problems.append(
                    f"{key}.{name}: unknown key (allowed: {', '.join(sorted(allowed))})"
                )


_READERS: dict[Kind, Any] = {
    Kind.STRING: SettingsReader._string,
    Kind.SECRET: SettingsReader._secret,
    Kind.STRINGS: SettingsReader._strings,
    Kind.SECRETS: SettingsReader._secrets,
    Kind.DURATION: SettingsReader._duration,
    Kind.CRON: SettingsReader._cron,
    Kind.BUDGET: SettingsReader._budget,
    Kind.INT: lambda self, raw, key: self._typed(raw, int, "a whole number"),
    Kind.FLOAT: lambda self, raw, key: float(self._typed(raw, float | int, "a number")),
    Kind.BOOL: lambda self, raw, key: self._typed(raw, bool, "true or false"),
}
