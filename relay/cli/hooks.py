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

from relay.cli.options import Options, pass_options
from relay.core.connections import describe_url, sync_client
from relay.core.duration import format_duration
from relay.core.exceptions import ConfigError, RelayError
from relay.core.settings import Settings
from relay.core.store import Store
from relay.web.providers.base import Provider
from relay.web.providers.registry import PROVIDERS

#: what `relay send-test` and the banner's curl send when given no body
SAMPLE_BODY = b'{"event":"entry.publish","entry":{"id":"hello-world"}}'


@click.command(short_help="Validate relay.toml and reach Redis.")
@click.option(
    "--offline", is_flag=True, help="check the file only; do not contact Redis or Cloudflare"
)
@pass_options
def check(options: Options, offline: bool) -> None:
    """Validate relay.toml and the environment it names, and print what was found.
    Exit 0 when usable, 1 otherwise (each problem on one line, naming its key)."""
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
    for warning in settings.warnings:
        click.secho(f"warning: {warning}", fg="yellow", err=True)
    if not ok:
        raise SystemExit(1)


def _check_services(settings: Settings) -> bool:
    client = sync_client(settings, timeout=2.0)
    try:
        client.ping()
        click.echo(f"redis: {describe_url(settings)} (reachable)")
        _check_workers(Store(client))
    except (redis.RedisError, OSError):
        click.echo(f"error: redis: {describe_url(settings)} is unreachable", err=True)
        return False
    return True


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
    """A curl command that sends a correctly signed sample delivery to a hook (the first one)."""
    if not settings.hooks:
        return None
    hook = settings.hooks[hook_name] if hook_name else next(iter(settings.hooks.values()))
    provider = PROVIDERS[hook.provider](hook)
    path = f"/hooks/{hook.name}"
    headers = provider.sign(SAMPLE_BODY, path=path, now=time.time())
    parts = ["curl", "-i", "-X", "POST", base_url.rstrip("/") + path]
    for name, value in headers.items():
        parts += ["-H", f"{name}: {value}"]
    parts += ["--data-raw", SAMPLE_BODY.decode()]
    return " ".join(shlex.quote(p) for p in parts)


COMMANDS = [check, sign, send_test]
