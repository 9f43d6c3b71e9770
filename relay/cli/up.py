"""`relay up`: everything on one machine for a first run.

A starter relay.toml (one target, one hook with a fresh secret, an admin token) when there is
none, an embedded redis-server when none is configured or reachable (`embedded_redis.py`), a
worker process beside the receiver, and a banner with a ready-to-paste signed curl.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
from pathlib import Path

import click
import redis

from relay.cli.embedded_redis import RedisServer, embedded_password
from relay.cli.hooks import signed_curl
from relay.cli.options import EMBEDDED_DIR, Options, pass_options, setup_logging
from relay.cli.run import print_warnings, serve_app
from relay.core.config import load_settings
from relay.core.connections import describe_url, sync_client
from relay.core.exceptions import ConfigError
from relay.core.redis_url import embedded_password_path
from relay.core.settings import Settings
from relay.web.providers.registry import PROVIDERS

STARTER = """\
# Written by `relay up` because no relay.toml was found. Edit freely; see relay.example.toml
# and docs/configuration.md for every option.

[admin]
token = "{admin}"              # sign in to the dashboard with this

[targets.site]                 # a Cloudflare Pages project and branch to build
project  = "my-site"
branch   = "main"
debounce = "10s"               # build 10 s after the last webhook of a burst ...
max_wait = "2m"                # ... but never later than 2 min after its first

[hooks.example]                # receives POST /hooks/example
provider = "hmac-sha256"       # a hex HMAC-SHA256 of the body, in this header:
header   = "X-Hub-Signature-256"
prefix   = "sha256="
secret   = "{secret}"
targets  = ["site"]

# Set CLOUDFLARE_ACCOUNT_ID and CLOUDFLARE_API_TOKEN (a token with Pages Edit) to really build;
# without them the relay runs in dry-run and records what it would deploy.
"""


def write_starter_config(path: Path) -> None:
    text = STARTER.replace("{secret}", secrets.token_urlsafe(24))
    text = text.replace("{admin}", secrets.token_urlsafe(18))
    # it holds secrets: readable by its owner only from its first byte (O_EXCL: never over
    # a file someone else put there since we looked)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)


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
        # durable and private: fsync before each answer, and a password (generated once, kept
        # 0600 beside the data, where the other commands run here find it; never printed)
        data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        embedded = RedisServer(
            data_dir,
            port=_embedded_port(data_dir),
            appendfsync="always",
            password=embedded_password(embedded_password_path(options.config)),
        )
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
        print_warnings(settings)
        serve_app(settings, host, port)
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
        f"embedded, data in {embedded.data_dir}/ ({embedded.url_for_display})"
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


COMMANDS = [up]
