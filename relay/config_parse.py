"""The table-by-table parser behind `relay.settings.parse_settings`.

It never stops at the first problem: each one is collected as a line that names its key
(`targets.blog.debounce: "5 minutes" is not a duration …`) and all are raised together.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from croniter import croniter

from relay.duration import parse_duration
from relay.exceptions import ConfigError
from relay.secret import Secret
from relay.settings import (
    DEFAULT_API_BASE,
    DEFAULT_REDIS_URL,
    NAME_PATTERN,
    PROJECT_PATTERN,
    CloudflareSettings,
    FilterSettings,
    HookSettings,
    MatchRule,
    NotifySettings,
    RetrySettings,
    ServerSettings,
    Settings,
    TargetSettings,
    interpolate,
)

T = TypeVar("T")

_TOP = {"redis", "cloudflare", "admin", "retry", "server", "notify", "targets", "hooks", "relay"}
_TABLE_KEYS = {
    "redis": {"url"},
    "cloudflare": {
        "account_id",
        "api_token",
        "api_base",
        "budget",
        "budget_window",
        "timeout",
        "poll_interval",
    },
    "admin": {"token"},
    "retry": {"attempts", "initial", "max"},
    "server": {
        "max_body",
        "dedupe_window",
        "digest_window",
        "keep_deliveries",
        "keep_deployments",
    },
    "notify": {"url"},
    "relay": {"dry_run"},
}
_TARGET_KEYS = {
    "project",
    "branch",
    "deploy_hook",
    "debounce",
    "max_wait",
    "schedule",
    "keep",
    "prune_schedule",
    "stuck_after",
    "status_token",
}
_HOOK_KEYS = {"provider", "secret", "secrets", "targets", "filter", "insecure"}
_FILTER_KEYS = {"events", "branches", "types", "match"}


class Parser:
    def __init__(self, raw: Mapping[str, Any], environ: Mapping[str, str], path: Path | None):
        self.raw = raw
        self.environ = environ
        self.path = path
        self.problems: list[str] = []
        self.warnings: list[str] = []

    # -- entry point ---------------------------------------------------------------------------

    def settings(self) -> Settings:
        for key in self.raw:
            if key not in _TOP:
                self.problems.append(f"{key}: unknown table (expected one of {sorted(_TOP)})")
        for table, keys in _TABLE_KEYS.items():
            self._unknown_keys(self._table(table), keys, table)
        redis_url, redis_configured = self._redis()
        cloudflare = self._cloudflare()
        admin = self._secret(self._table("admin"), "token", "admin.token", env="RELAY_ADMIN_TOKEN")
        retry = self._retry()
        server = self._server()
        notify = NotifySettings(url=self._secret(self._table("notify"), "url", "notify.url"))
        targets = self._targets()
        hooks = self._hooks(targets)
        dry_run = self._get(self._table("relay"), "dry_run", "relay.dry_run", bool, False)
        if self.problems:
            raise ConfigError(self.problems)
        if not cloudflare.has_credentials and any(t.kind == "api" for t in targets.values()):
            self.warnings.append(
                "no Cloudflare credentials (CLOUDFLARE_ACCOUNT_ID, CLOUDFLARE_API_TOKEN): "
                "Pages API targets run in dry-run and only record what they would deploy"
            )
        return Settings(
            path=self.path,
            redis_url=redis_url,
            redis_configured=redis_configured,
            cloudflare=cloudflare,
            admin_token=admin,
            retry=retry,
            server=server,
            notify=notify,
            targets=targets,
            hooks=hooks,
            warnings=tuple(self.warnings),
            dry_run=dry_run,
        )

    # -- tables --------------------------------------------------------------------------------

    def _redis(self) -> tuple[Secret, bool]:
        table = self._table("redis")
        url = self._string(table, "url", "redis.url", env="REDIS_URL")
        if url and not url.startswith(("redis://", "rediss://", "unix://")):
            self.problems.append("redis.url: must start with redis://, rediss:// or unix://")
        return Secret(url or DEFAULT_REDIS_URL), url is not None

    def _cloudflare(self) -> CloudflareSettings:
        table = self._table("cloudflare")
        account = self._string(
            table, "account_id", "cloudflare.account_id", env="CLOUDFLARE_ACCOUNT_ID"
        )
        token = self._secret(table, "api_token", "cloudflare.api_token", env="CLOUDFLARE_API_TOKEN")
        base = self._string(table, "api_base", "cloudflare.api_base", env="CLOUDFLARE_API_BASE")
        if base and not base.startswith(("http://", "https://")):
            self.problems.append("cloudflare.api_base: must be an http:// or https:// URL")
        budget = self._get(table, "budget", "cloudflare.budget", int, 1200)
        if budget < 1:
            self.problems.append("cloudflare.budget: must be at least 1")
        return CloudflareSettings(
            account_id=account or None,
            api_token=token,
            api_base=(base or DEFAULT_API_BASE).rstrip("/"),
            budget=budget,
            budget_window=self._duration(table, "budget_window", "cloudflare.budget_window", 300),
            timeout=self._duration(table, "timeout", "cloudflare.timeout", 30),
            poll_interval=self._duration(table, "poll_interval", "cloudflare.poll_interval", 10),
        )

    def _retry(self) -> RetrySettings:
        table = self._table("retry")
        attempts = self._get(table, "attempts", "retry.attempts", int, 5)
        if attempts < 1:
            self.problems.append("retry.attempts: must be at least 1 (the first try counts)")
        initial = self._duration(table, "initial", "retry.initial", 10)
        maximum = self._duration(table, "max", "retry.max", 600)
        if maximum < initial:
            self.problems.append("retry.max: must not be shorter than retry.initial")
        return RetrySettings(attempts=attempts, initial=initial, max=maximum)

    def _server(self) -> ServerSettings:
        table = self._table("server")
        max_body = self._get(table, "max_body", "server.max_body", int, 1024 * 1024)
        if max_body < 1:
            self.problems.append("server.max_body: must be a positive number of bytes")
        return ServerSettings(
            max_body=max_body,
            dedupe_window=self._duration(table, "dedupe_window", "server.dedupe_window", 86400),
            digest_window=self._duration(table, "digest_window", "server.digest_window", 300),
            keep_deliveries=self._get(
                table, "keep_deliveries", "server.keep_deliveries", int, 100_000
            ),
            keep_deployments=self._get(
                table, "keep_deployments", "server.keep_deployments", int, 10_000
            ),
        )

    def _targets(self) -> dict[str, TargetSettings]:
        out: dict[str, TargetSettings] = {}
        for name, table in self._named_tables("targets").items():
            key = f"targets.{name}"
            self._unknown_keys(table, _TARGET_KEYS, key)
            project = self._string(table, "project", f"{key}.project")
            hook = self._secret(table, "deploy_hook", f"{key}.deploy_hook")
            if project is None and hook is None:
                self.problems.append(f"{key}: needs either project (+ branch) or deploy_hook")
            if project is not None and not PROJECT_PATTERN.match(project):
                self.problems.append(
                    f"{key}.project: {project!r} is not a Pages project name "
                    "(lower-case letters, digits and -)"
                )
            if hook is not None and not hook.reveal().startswith(("https://", "http://")):
                self.problems.append(f"{key}.deploy_hook: must be an https:// URL")
            debounce = self._duration(table, "debounce", f"{key}.debounce", 30)
            max_wait = self._duration(table, "max_wait", f"{key}.max_wait", 300)
            if max_wait < debounce:
                self.problems.append(
                    f"{key}.max_wait: must not be shorter than debounce ({table.get('debounce')})"
                )
            keep = table.get("keep")
            out[name] = TargetSettings(
                name=name,
                project=project,
                branch=self._string(table, "branch", f"{key}.branch"),
                deploy_hook=hook,
                debounce=debounce,
                max_wait=max_wait,
                schedule=self._cron(table, "schedule", f"{key}.schedule"),
                keep=None if keep is None else self._duration(table, "keep", f"{key}.keep", 0),
                prune_schedule=self._cron(table, "prune_schedule", f"{key}.prune_schedule"),
                stuck_after=self._duration(table, "stuck_after", f"{key}.stuck_after", 1800),
                status_token=self._secret(table, "status_token", f"{key}.status_token"),
            )
            if out[name].keep is None and out[name].prune_schedule:
                self.problems.append(f"{key}.prune_schedule: needs keep")
        return out

    def _hooks(self, targets: Mapping[str, TargetSettings]) -> dict[str, HookSettings]:
        from relay.providers.registry import PROVIDERS

        out: dict[str, HookSettings] = {}
        for name, table in self._named_tables("hooks").items():
            key = f"hooks.{name}"
            provider_name = self._string(table, "provider", f"{key}.provider")
            if provider_name is None:
                self.problems.append(f"{key}.provider: missing (one of {', '.join(PROVIDERS)})")
                continue
            provider = PROVIDERS.get(provider_name)
            if provider is None:
                self.problems.append(
                    f"{key}.provider: unknown provider {provider_name!r} "
                    f"(known: {', '.join(sorted(PROVIDERS))})"
                )
                continue
            self._unknown_keys(table, _HOOK_KEYS | set(provider.options), key)
            hook_targets = self._string_list(table, "targets", f"{key}.targets")
            if not hook_targets:
                self.problems.append(f"{key}.targets: lists no target")
            for target in hook_targets:
                if target not in targets:
                    self.problems.append(f"{key}.targets: {target!r} is not a defined target")
            secrets = self._hook_secrets(table, key)
            if provider.needs_secret and not secrets:
                self.problems.append(f"{key}.secret: provider {provider_name} needs a secret")
            options: dict[str, Any] = {}
            for option, spec in provider.options.items():
                if option in table:
                    options[option] = self._option(
                        table, option, f"{key}.{option}", spec.kind, spec.choices
                    )
            insecure = self._get(table, "insecure", f"{key}.insecure", bool, False)
            hook = HookSettings(
                name=name,
                provider=provider_name,
                targets=tuple(hook_targets),
                secrets=secrets,
                options=options,
                filters=self._filters(table.get("filter"), f"{key}.filter"),
                insecure=insecure,
            )
            self.problems.extend(provider.check(hook))
            self.warnings.extend(provider.warnings(hook))
            out[name] = hook
        return out

    def _hook_secrets(self, table: Mapping[str, Any], key: str) -> tuple[Secret, ...]:
        secrets: list[Secret] = []
        single = self._secret(table, "secret", f"{key}.secret")
        if single is not None:
            secrets.append(single)
        for index, value in enumerate(self._string_list(table, "secrets", f"{key}.secrets")):
            secrets.append(Secret(value))
            if not value:
                self.problems.append(f"{key}.secrets[{index}]: is empty")
        return tuple(secrets)

    def _filters(self, raw: object, key: str) -> FilterSettings:
        if raw is None:
            return FilterSettings()
        if not isinstance(raw, Mapping):
            self.problems.append(f"{key}: must be a table")
            return FilterSettings()
        self._unknown_keys(raw, _FILTER_KEYS, key)
        events = self._string_list(raw, "events", f"{key}.events") if "events" in raw else None
        rules: list[MatchRule] = []
        match = raw.get("match", [])
        if not isinstance(match, list):
            self.problems.append(f"{key}.match: must be a list of tables")
            match = []
        for index, item in enumerate(match):
            rule_key = f"{key}.match[{index}]"
            if not isinstance(item, Mapping):
                self.problems.append(f"{rule_key}: must be a table")
                continue
            self._unknown_keys(item, {"header", "json", "values"}, rule_key)
            sources = [s for s in ("header", "json") if s in item]
            if len(sources) != 1 or not isinstance(item[sources[0]], str):
                self.problems.append(f'{rule_key}: needs exactly one of header = "…" or json = "…"')
                continue
            rules.append(
                MatchRule(
                    source=sources[0],
                    key=item[sources[0]],
                    values=tuple(self._string_list(item, "values", f"{rule_key}.values")),
                )
            )
        return FilterSettings(
            events=None if events is None else tuple(events),
            branches=tuple(self._string_list(raw, "branches", f"{key}.branches")),
            types=tuple(self._string_list(raw, "types", f"{key}.types")),
            match=tuple(rules),
        )

    # -- values --------------------------------------------------------------------------------

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

    def _raw_string(
        self, table: Mapping[str, Any], name: str, key: str, env: str | None
    ) -> str | None:
        if env is not None and env in self.environ and self.environ[env] != "":
            return self.environ[env]
        if name not in table:
            return None
        value = table[name]
        if not isinstance(value, str):
            self.problems.append(f"{key}: must be a string")
            return None
        return interpolate(value, self.environ, key, self.problems)

    def _string(
        self, table: Mapping[str, Any], name: str, key: str, env: str | None = None
    ) -> str | None:
        return self._raw_string(table, name, key, env)

    def _secret(
        self, table: Mapping[str, Any], name: str, key: str, env: str | None = None
    ) -> Secret | None:
        value = self._raw_string(table, name, key, env)
        if value is None or value == "":
            return None
        return Secret(value)

    def _string_list(self, table: Mapping[str, Any], name: str, key: str) -> list[str]:
        value = table.get(name, [])
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.problems.append(f"{key}: must be a list of strings")
            return []
        return [interpolate(v, self.environ, key, self.problems) for v in value]

    def _get(self, table: Mapping[str, Any], name: str, key: str, kind: type[T], default: T) -> T:
        if name not in table:
            return default
        value = table[name]
        if (kind is int and isinstance(value, bool)) or not isinstance(value, kind):
            self.problems.append(
                f"{key}: must be {_KIND_NAMES.get(kind, kind.__name__)}, not {value!r}"
            )
            return default
        return value

    def _duration(self, table: Mapping[str, Any], name: str, key: str, default: float) -> float:
        if name not in table:
            return float(default)
        value = table[name]
        if isinstance(value, str):
            value = interpolate(value, self.environ, key, self.problems)
        try:
            return parse_duration(value)
        except ValueError as exc:
            self.problems.append(f"{key}: {exc}")
            return float(default)

    def _cron(self, table: Mapping[str, Any], name: str, key: str) -> str | None:
        value = self._string(table, name, key)
        if value is None:
            return None
        if not croniter.is_valid(value) or len(value.split()) != 5:
            self.problems.append(
                f'{key}: {value!r} is not a cron expression (five fields, e.g. "0 * * * *")'
            )
            return None
        return value

    def _option(
        self,
        table: Mapping[str, Any],
        name: str,
        key: str,
        kind: type | str,
        choices: tuple[str, ...],
    ) -> Any:
        converters: dict[Any, Callable[[], Any]] = {
            "duration": lambda: self._duration(table, name, key, 0),
            "secret": lambda: self._secret(table, name, key),
            str: lambda: self._string(table, name, key),
        }
        convert = converters.get(kind)
        value = convert() if convert else self._get(table, name, key, kind, None)  # type: ignore[arg-type]
        if choices and value not in choices:
            self.problems.append(f"{key}: {value!r} is not one of {', '.join(choices)}")
        return value


_KIND_NAMES = {int: "a whole number", bool: "true or false", float: "a number", str: "a string"}
