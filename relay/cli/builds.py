"""`relay logs` and `relay rollback`: a build's log, and making an earlier deployment live."""

from __future__ import annotations

import click

from relay.cli.options import Options, pass_options
from relay.cli.output import emit_json, iso_utc
from relay.cli.platform import cli_platform
from relay.core.build_logs import build_log
from relay.core.connections import sync_client
from relay.core.exceptions import CloudflareError, ConfigError, RelayError
from relay.core.rollback import rollback as roll_back
from relay.core.settings import Settings


def _needs_credentials(settings: Settings, command: str) -> None:
    if not settings.cloudflare.has_credentials:
        raise ConfigError(
            [f"relay {command} needs CLOUDFLARE_ACCOUNT_ID and CLOUDFLARE_API_TOKEN (it asks the "
             "Cloudflare API)"]
        )  # fmt: skip


@click.command(short_help="A build's log, Pages or Workers Builds.")
@click.argument("ident", metavar="DEPLOYMENT_OR_TRIGGER")
@click.option(
    "--target",
    default=None,
    metavar="TARGET",
    help="the target the deployment belongs to (needed when several targets could have it)",
)
@click.option("--json", "as_json", is_flag=True, help="print one JSON document")
@pass_options
def logs(options: Options, ident: str, target: str | None, as_json: bool) -> None:
    """Print the build log of DEPLOYMENT_OR_TRIGGER, one line each: its time (UTC) and text.

    DEPLOYMENT_OR_TRIGGER is a trigger id from `relay deployments` (blog-1796227359429), or
    the platform's own id: a Pages deployment id or a Workers build uuid (with --target when
    several targets could have it). Needs API credentials.

    \b
    Examples:
      relay logs blog-1796227359429
      relay logs 4f1c2e8a-9b7d-4e1f-a3c5-0d2b6e8f9a10 --target app
    """
    settings = options.settings()
    if target is not None:
        settings.target(target)
    _needs_credentials(settings, "logs")
    client = sync_client(settings)
    with cli_platform(settings, client) as platform:
        found = build_log(client, settings, platform, ident, target=target)
    if as_json:
        emit_json(found.to_dict())
        return
    if not found.lines:
        click.echo(f"(no log lines for build {found.build_id} of {found.target})")
    for line in found.lines:
        click.echo(f"{iso_utc(line.timestamp)}  {line.text}")


@click.command(short_help="Make an earlier Pages production deployment live again.")
@click.argument("target")
@click.option(
    "--to",
    "to",
    default=None,
    metavar="DEPLOYMENT",
    help="the deployment id to make live [default: the previous successful production one]",
)
@click.option("--json", "as_json", is_flag=True, help="print one JSON document")
@pass_options
def rollback(options: Options, target: str, to: str | None, as_json: bool) -> None:
    """Make an earlier successful production deployment of TARGET's Pages project live again:
    the one before the live one, or --to DEPLOYMENT. Nothing is built; the rollback is
    recorded like a build and shows in `relay deployments`.

    Pages projects only (with API credentials): a Worker keeps versions, which Cloudflare
    rolls back with `wrangler rollback`. Exit 1 with the reason when it cannot be done or
    Cloudflare refuses it (a refused rollback is also recorded, as failed).

    \b
    Examples:
      relay rollback blog
      relay rollback blog --to 2b5c7e91-3f0a-4d8e-b6c1-9a4e2f7d8c30
    """
    settings = options.settings()
    settings.target(target)
    if settings.dry_run:
        raise RelayError(f"{target}: relay.dry_run is on: nothing rolled back")
    client = sync_client(settings)
    with cli_platform(settings, client) as platform:
        try:
            done = roll_back(client, settings, platform, target, to)
        except CloudflareError as exc:
            raise RelayError(f"{target}: rollback not done: {exc}") from None
    if as_json:
        emit_json(
            {
                "target": done.target,
                "deployment_id": done.deployment_id,
                "url": done.url,
                "trigger_id": done.id,
                "trigger": done.to_dict(),
            }
        )
        return
    url = f" ({done.url})" if done.url else ""
    click.echo(
        f"{target}: rolled back to deployment {done.deployment_id}{url}; recorded as trigger "
        f"{done.id}"
    )


COMMANDS = [logs, rollback]
