"""`relay up`, `relay serve`, `relay worker`: the long-running processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import click
import redis
import uvicorn

from relay.cli.embedded_redis import RedisServer
from relay.cli.options import EMBEDDED_DIR, Options, pass_options, setup_logging
from relay.cli.starter import signed_curl, write_starter_config
from relay.core.config import load_settings
from relay.core.connections import describe_url, sync_client
from relay.core.exceptions import ConfigError
from relay.core.settings import Settings
from relay.web.providers.registry import PROVIDERS


def _print_warnings(settings: Settings) -> None:
    for warning in settings.warnings:
        click.secho(f"warning: {warning}", fg="yellow", err=True)


def _serve(
    settings: Settings, host: str, port: int, *, workers: int = 1, access_log: bool = False
) -> None:
    options: dict[str, Any] = {
        "host": host,
        "port": port,
        "log_level": "info",
        "proxy_headers": True,
        "server_header": False,
        "access_log": access_log,
    }
    if workers > 1:
        # each uvicorn worker process builds its own app from the same relay.toml
        if settings.path is not None:
            os.environ["RELAY_CONFIG"] = str(settings.path.resolve())
        os.environ["REDIS_URL"] = settings.redis.url.reveal()
        uvicorn.run("relay.web.app:app_from_environment", factory=True, workers=workers, **options)
        return
    from relay.web.app import create_app

    uvicorn.run(create_app(settings), **options)


@click.command(short_help="Run the receiver, dashboard, API and /metrics.")
@click.option("--host", default="127.0.0.1", show_default=True, help="address to listen on")
@click.option("--port", default=8000, show_default=True, help="port to listen on")
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="server processes sharing the port (use one per core under heavy load)",
)
@click.option("--access-log", is_flag=True, help="log every HTTP request")
@pass_options
def serve(options: Options, host: str, port: int, workers: int, access_log: bool) -> None:
    """Run the HTTP receiver (POST /hooks/NAME), dashboard, JSON API and /metrics.

    Stateless: run as many as you like behind a load balancer; they share Redis.
    """
    setup_logging()
    settings = options.settings()
    _print_warnings(settings)
    _serve(settings, host, port, workers=workers, access_log=access_log)


@click.command(short_help="Run a worker: claim bursts, deploy, retry, watch.")
@click.option("--burst", is_flag=True, help="drain what is due now, then exit")
@click.option("--name", default=None, help="worker name shown on the dashboard")
@pass_options
def worker(options: Options, burst: bool, name: str | None) -> None:
    """Run a worker: claims due bursts, triggers Cloudflare, retries and watches builds.

    An RQ worker with its scheduler, plus the claimer loop. Run one or more; each burst
    becomes exactly one build however many run. SIGTERM lets the job in hand finish.
    """
    from workers.worker import run_worker

    setup_logging()
    settings = options.settings()
    _print_warnings(settings)
    sync_client(settings).ping()
    run_worker(settings, burst=burst, name=name)


def _redis_reachable(settings: Settings) -> bool:
    try:
        return bool(sync_client(settings, timeout=1.0).ping())
    except (redis.RedisError, OSError):
        return False


@click.command(short_help="Receiver + worker + embedded Redis, for a first run.")
@click.option("--host", default="127.0.0.1", show_default=True, help="address to listen on")
@click.option("--port", default=8000, show_default=True, help="port to listen on")
@pass_options
def up(options: Options, host: str, port: int) -> None:
    """Everything on one machine for a first run: receiver + worker in one command.

    Writes a starter relay.toml if there is none. Starts an embedded Redis (data under
    ./.relay/) when none is configured or reachable. Without Cloudflare credentials it runs
    in dry-run: deployments are recorded, not triggered. Prints a signed curl to try it.
    """
    setup_logging()
    wrote = False
    if not options.config.exists():
        if "RELAY_CONFIG" in os.environ:
            raise ConfigError([f"{options.config}: no such file"])
        write_starter_config(options.config)
        wrote = True
    settings = load_settings(options.config, schemes=PROVIDERS)
    data_dir = options.config.resolve().parent / EMBEDDED_DIR
    embedded: RedisServer | None = None
    if not settings.redis.configured or not _redis_reachable(settings):
        if settings.redis.configured:
            click.secho(
                f"Redis at {describe_url(settings)} is unreachable: starting an "
                "embedded one instead",
                fg="yellow",
                err=True,
            )
        embedded = RedisServer(data_dir, port=_embedded_port(data_dir))
        embedded.start()
        (data_dir / "port").write_text(str(embedded.port))
        settings = settings.using_redis(embedded.url)
    env = dict(os.environ, RELAY_CONFIG=str(options.config.resolve()))
    if embedded is not None:
        env["REDIS_URL"] = embedded.url
    child = subprocess.Popen(
        [sys.executable, "-m", "relay", "worker", "--name", f"up-{os.getpid()}"], env=env
    )
    try:
        _banner(settings, options.config, wrote, embedded, host, port)
        _print_warnings(settings)
        _serve(settings, host, port)
    finally:
        child.send_signal(signal.SIGTERM)
        try:
            child.wait(timeout=30)
        except subprocess.TimeoutExpired:
            child.kill()
        if embedded is not None:
            embedded.stop()


def _embedded_port(data_dir: Path) -> int | None:
    """Reuse the port of the last run, so REDIS_URL printed before stays right."""
    try:
        return int((data_dir / "port").read_text())
    except (OSError, ValueError):
        return None


def _banner(
    settings: Settings,
    config: Path,
    wrote: bool,
    embedded: RedisServer | None,
    host: str,
    port: int,
) -> None:
    base = f"http://{host}:{port}"
    dry = settings.dry_run or not settings.cloudflare.has_credentials
    click.secho("relay is up", bold=True)
    click.echo(f"  receiver, dashboard: {base}/   (webhooks: {base}/hooks/NAME)")
    if settings.admin.token is None:
        click.echo("  dashboard sign-in:   set [admin] token or RELAY_ADMIN_TOKEN to enable it")
    elif wrote:
        click.echo(f"  dashboard sign-in:   the [admin] token in {config}")
    click.echo(f"  config:              {config}" + ("   (written just now)" if wrote else ""))
    redis_where = (
        f"embedded, data in {embedded.data_dir}/ ({embedded.url})"
        if embedded
        else (describe_url(settings))
    )
    click.echo(f"  redis:               {redis_where}")
    if dry:
        click.secho(
            "  mode:                dry-run (no Cloudflare credentials): deployments "
            "are recorded, not triggered",
            fg="yellow",
        )
    curl = signed_curl(settings, base)
    if curl:
        click.echo("\nSend a signed test webhook:\n  " + curl)
        click.echo("Then see it:  relay deliveries   and, after the debounce:  relay deployments\n")


COMMANDS = [up, serve, worker]
