"""`relay check`, `relay sign`, `relay send-test`: set-up and its verification."""

from __future__ import annotations

import shlex
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
import httpx
import redis
from redis.sentinel import SentinelConnectionPool

from relay.cli.options import Options, pass_options
from relay.cli.platform import cli_platform
from relay.core.budget import BuildBudget, usage
from relay.core.clock import iso_time, server_ms
from relay.core.connections import describe_url, sync_client
from relay.core.controls import pauses
from relay.core.duration import format_duration
from relay.core.exceptions import ConfigError, RelayError
from relay.core.redis_health import durability, findings, read_facts
from relay.core.settings import Settings
from relay.core.store import Store
from relay.core.targets import target_for
from relay.web.providers.base import Provider
from relay.web.providers.registry import PROVIDERS

#: what `relay send-test` and the banner's curl send when given no body
SAMPLE_BODY = b'{"event":"entry.publish","entry":{"id":"hello-world"}}'


@click.command(short_help="Validate relay.toml, Redis's durability and the targets.")
@click.option(
    "--offline", is_flag=True, help="check the file only; do not contact Redis or Cloudflare"
)
@pass_options
def check(options: Options, offline: bool) -> None:
    """Validate relay.toml and the environment it names, and print what was found.

    Redis: what a 2xx survives there (AOF, fsync policy, replicas, [redis] ack) in one line;
    Redis Cluster, an evicting maxmemory-policy, AOF off and too few replicas for the ack are
    refused. Targets are asked of Cloudflare (with credentials). Exit 0 when usable, 1
    otherwise (each problem on one line, naming its key)."""
    try:
        settings = options.settings()
    except ConfigError as exc:
        for line in exc.problems:
            click.echo(f"error: {line}", err=True)
        raise SystemExit(1) from None
    click.echo(f"config: {options.config}")
    ok = _check_services(settings) if not offline else True
    cf = settings.cloudflare
    mode = (
        "dry-run (relay.dry_run)"
        if settings.dry_run
        else (
            f"account {cf.account_id}, token set"
            if cf.has_credentials
            else "no credentials: Pages API targets run in dry-run"
        )
    )
    click.echo(f"cloudflare: {cf.api_base} ({mode})")
    click.echo(
        f"retry: {settings.retry.attempts} attempts, backoff "
        f"{format_duration(settings.retry.initial)}..{format_duration(settings.retry.max)}"
    )
    click.echo(f"targets ({len(settings.targets)}):")
    for target in settings.targets.values():
        extra = [
            f"debounce {format_duration(target.debounce)}",
            f"max_wait {format_duration(target.max_wait)}",
        ]
        if target.schedule:
            extra.append(f"schedule {target.schedule!r}")
        if target.keep is not None:
            extra.append(f"keep {format_duration(target.keep)}")
        click.echo(f"  {target.name}: {target.describe()}; {', '.join(extra)}")
    click.echo(f"hooks ({len(settings.hooks)}):")
    for hook in settings.hooks.values():
        secrets = f"{len(hook.secrets)} secret{'s' if len(hook.secrets) != 1 else ''}"
        click.echo(
            f"  /hooks/{hook.name}: {hook.provider} ({secrets}) -> {', '.join(hook.targets)}"
        )
    ok = _check_targets(settings, online=not offline) and ok
    for warning in settings.warnings:
        click.secho(f"warning: {warning}", fg="yellow", err=True)
    if not ok:
        raise SystemExit(1)


def _check_services(settings: Settings) -> bool:
    client = sync_client(settings, timeout=2.0)
    try:
        client.ping()
        click.echo(f"redis: {describe_url(settings)} (reachable{_primary(client)})")
        ok, usable = _check_redis(client, settings)
        if usable:  # on Cluster even the heartbeats cannot be read: nothing more to say
            _check_workers(Store(client))
    except redis.AuthenticationError:
        click.echo(
            f"error: redis: {describe_url(settings)} refused the credentials (the user or "
            "password in [redis] url / REDIS_URL)",
            err=True,
        )
        return False
    except (redis.RedisError, OSError):
        click.echo(f"error: redis: {describe_url(settings)} is unreachable", err=True)
        return False
    return ok


def _primary(client: redis.Redis) -> str:
    """`; primary HOST:PORT` when the sentinels chose it (where `[redis] url` leads to)."""
    pool = client.connection_pool
    if isinstance(pool, SentinelConnectionPool) and pool.master_address:
        host, port = pool.master_address
        return f"; primary {host}:{port} via Sentinel"
    return ""


def _check_redis(client: redis.Redis, settings: Settings) -> tuple[bool, bool]:
    """The durability found, in one line, then each thing that breaks the relay's promises:
    an error (exit 1) for Cluster, an evicting policy, AOF off, an ack the server cannot give;
    a warning for a setting the server will not show (managed services forbid CONFIG).
    Returns (no error, usable at all: no fatal finding such as Cluster)."""
    facts = read_facts(client)
    click.echo(f"redis: {durability(facts, settings)}")
    ok = usable = True
    for finding in findings(facts, settings):
        if finding.level == "error":
            click.echo(f"error: {finding.text}", err=True)
            ok = False
            usable = usable and not finding.fatal
        else:
            click.secho(f"warning: {finding.text}", fg="yellow", err=True)
    return ok, usable


def _check_workers(store: Store) -> None:
    """Each worker's claimer, from its heartbeat: one that stopped beating claims nothing."""
    now = store.server_ms()
    beats = store.workers()
    if not beats:
        click.secho(
            "warning: no worker is running: nothing will be deployed", fg="yellow", err=True
        )
        return
    click.echo(f"workers ({len(beats)}):")
    for beat in beats:
        age = beat.age(now)
        errors = f", {beat.claimer_errors} claimer error(s)" if beat.claimer_errors else ""
        if beat.claiming(now):
            click.echo(
                f"  {beat.name}: claiming (beat {age:.1f}s ago, {beat.steps} running{errors})"
            )
        else:
            click.secho(
                f"warning: worker {beat.name}: its claimer has not run for {age:.0f}s "
                "(stopped, or the worker is gone)",
                fg="yellow",
                err=True,
            )


def _check_targets(settings: Settings, *, online: bool) -> bool:
    """Each target's kind and, online with API credentials, the problems its platform shows
    (`Target.check`: an error each, exit 1); then the build budgets' use and the pauses in
    force (warnings). Redis or Cloudflare out of reach: what needs them is left out (Redis's
    own line said why). Returns whether no error was found."""
    problems: dict[str, list[str]] = {}
    client = sync_client(settings, timeout=2.0) if online else None
    try:
        if client is not None and settings.cloudflare.has_credentials:
            with cli_platform(settings, client) as platform:
                for config in settings.targets.values():
                    try:
                        problems[config.name] = target_for(config, platform).check()
                    except RelayError as exc:  # the API budget full, a target it cannot read
                        problems[config.name] = [f"targets.{config.name}: {exc}"]
    except (redis.RedisError, OSError):  # the API budget lives in Redis
        problems.clear()
        if client is not None:
            client.close()
        client = None
    click.echo("target platforms:")
    for config in settings.targets.values():
        found = problems.get(config.name)
        if found is not None:
            state = "checked on Cloudflare" + (f", {len(found)} problem(s)" if found else ": ok")
        elif not online:
            state = "not checked (--offline)"
        elif not settings.cloudflare.has_credentials:
            state = "not checked (no API credentials)"
        else:
            state = "not checked"
        click.echo(f"  {config.name}: {config.kind.value}, {config.describe()}; {state}")
    for lines in problems.values():
        for line in lines:
            click.echo(f"error: {line}", err=True)
    if client is not None:
        try:
            _check_budgets(client, settings)
            for paused in pauses(client).values():
                click.secho(
                    f"warning: {paused.describe()}: its builds wait (relay resume {paused.target})",
                    fg="yellow",
                    err=True,
                )
        except (redis.RedisError, OSError):
            pass
        finally:
            client.close()
    return not any(problems.values())


def _check_budgets(client: redis.Redis, settings: Settings) -> None:
    """One line per build budget: how much of it is used; a warning once it is used up."""
    budgets: list[tuple[str, str, BuildBudget]] = [
        (t.name, t.name, t.budget) for t in settings.targets.values() if t.budget is not None
    ]
    if settings.cloudflare.budget_builds is not None:
        budgets.append(("*", "all targets", settings.cloudflare.budget_builds))
    if not budgets:
        return
    now = server_ms(client)
    click.echo("build budgets:")
    for scope, label, budget in budgets:
        used = usage(client, scope, budget, now)
        click.echo(f"  {label}: {used.used} of {budget} builds used")
        if used.exhausted:
            frees = f" until {iso_time(used.frees_at)}" if used.frees_at else ""
            click.secho(
                f"warning: {label}: build budget {budget} used up: bursts are held{frees} "
                "(relay deploy TARGET --now --ignore-budget builds anyway)",
                fg="yellow",
                err=True,
            )


def _provider(settings: Settings, hook_name: str) -> Provider:
    hook = settings.hooks.get(hook_name)
    if hook is None:
        raise ConfigError(
            [f"unknown hook {hook_name!r} (known: {', '.join(settings.hooks) or 'none'})"]
        )
    return PROVIDERS[hook.provider](hook)


def _body(body_file: Path | None) -> bytes:
    if body_file is None:
        return SAMPLE_BODY
    try:
        return body_file.read_bytes()
    except OSError as exc:
        raise RelayError(f"{body_file}: cannot read: {exc.strerror}") from None


F = TypeVar("F", bound=Callable[..., Any])


def body_option(*, required: bool, help: str) -> Callable[[F], F]:
    """`--body FILE`: the body to sign or send."""
    return click.option(
        "--body", "body_file", type=click.Path(path_type=Path), required=required, help=help
    )


@click.command(short_help="Print the headers a hook's sender would send.")
@click.argument("hook")
@body_option(required=True, help="file with the exact body to sign")
@pass_options
def sign(options: Options, hook: str, body_file: Path) -> None:
    """Print the headers HOOK's sender would send with this body (one `Name: value` per
    line), e.g. to build your own curl or test a proxy."""
    provider = _provider(options.settings(), hook)
    for name, value in provider.sign(
        _body(body_file), path=f"/hooks/{hook}", now=time.time()
    ).items():
        click.echo(f"{name}: {value}")


@click.command("send-test", short_help="Send a signed sample request to a running relay.")
@click.argument("hook")
@body_option(required=False, help="file with the body to send [default: a small sample]")
@click.option(
    "--url", default="http://127.0.0.1:8000", show_default=True, help="the running relay's base URL"
)
@pass_options
def send_test(options: Options, hook: str, body_file: Path | None, url: str) -> None:
    """Send a correctly signed sample request to a running relay and show its answer:
    the quickest end-to-end check of a hook's setup."""
    provider = _provider(options.settings(), hook)
    body = _body(body_file)
    path = f"/hooks/{hook}"
    headers = provider.sign(body, path=path, now=time.time())
    try:
        response = httpx.post(url.rstrip("/") + path, content=body, headers=headers, timeout=10)
    except httpx.HTTPError as exc:
        raise RelayError(f"cannot reach {url}: {type(exc).__name__}") from None
    click.echo(f"{response.status_code} {response.text}")
    if response.status_code >= 300:
        raise SystemExit(1)


def signed_curl(settings: Settings, base_url: str, hook_name: str | None = None) -> str | None:
    """A curl command that sends a correctly signed sample delivery to a hook (the first one).
    It is printed on a terminal, so a secret the sender sends as-is (a token, a password) is a
    placeholder to fill in; a signature covers the sample body only and is shown."""
    if not settings.hooks:
        return None
    hook = settings.hooks[hook_name] if hook_name else next(iter(settings.hooks.values()))
    provider = PROVIDERS[hook.provider](hook)
    path = f"/hooks/{hook.name}"
    parts = ["curl", "-i", "-X", "POST", base_url.rstrip("/") + path]
    parts += provider.curl_args(SAMPLE_BODY, path=path, now=time.time())
    parts += ["--data-raw", SAMPLE_BODY.decode()]
    return " ".join(shlex.quote(p) for p in parts)


COMMANDS = [check, sign, send_test]
