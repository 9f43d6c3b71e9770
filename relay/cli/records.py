"""`relay deliveries`, `deployments`, `failed`, `replay`: read and act on records (`relay deploy`
is an operator control: `relay.cli.controls`)."""

from __future__ import annotations

from datetime import datetime

import click

from relay.cli.options import Options, pass_options
from relay.cli.output import emit_json, table
from relay.core import controls as actions
from relay.core.connections import sync_client
from relay.core.duration import parse_duration
from relay.core.exceptions import ConfigError
from relay.core.records import Trigger
from relay.core.store import Store


def _when(ms_or_s: str | float | None) -> str:
    if ms_or_s in (None, ""):
        return "-"
    value = float(ms_or_s)
    seconds = value / 1000 if value > 1e11 else value
    return datetime.fromtimestamp(seconds).strftime("%Y-%m-%d %H:%M:%S")


@click.command(short_help="Recent deliveries and their outcome.")
@click.option("--hook", default=None, help="only this hook's deliveries")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 10_000))
@click.option("--json", "as_json", is_flag=True, help="print one JSON document")
@pass_options
def deliveries(options: Options, hook: str | None, limit: int, as_json: bool) -> None:
    """Recent webhook deliveries, newest first: accepted, duplicate, ignored or rejected,
    and why. Bodies and secrets are never stored, so never shown."""
    settings = options.settings()
    if hook is not None and hook not in settings.hooks:
        raise ConfigError([f"unknown hook {hook!r} (known: {', '.join(settings.hooks) or 'none'})"])
    records = Store(sync_client(settings)).deliveries(hook=hook, limit=limit)
    if as_json:
        emit_json({"deliveries": [r.to_dict() for r in records]})
        return
    table(
        [
            [
                r.id or "",
                _when(r.at),
                r.hook,
                r.outcome,
                r.event or "-",
                ",".join(r.targets) or "-",
                r.reason or (f"duplicate of {r.duplicate_of}" if r.duplicate_of else ""),
            ]
            for r in records
        ],
        ["id", "received", "hook", "outcome", "event", "targets", "reason"],
    )


_DEPLOY_COLUMNS = ["id", "target", "status", "deliveries", "created", "deployment", "url/error"]


def _outcome(trigger: Trigger) -> str:
    """What the last column says: the URL, else the error, else the note."""
    if trigger.url:
        return trigger.url
    if trigger.error:
        code = f"{trigger.error_code} " if trigger.error_code is not None else ""
        return f"{code}{trigger.error}"
    return trigger.note or ""


def _deploy_rows(records: list[Trigger]) -> list[list[str]]:
    return [
        [
            r.id,
            r.target,
            r.status.value + (f"/{r.stage}" if r.stage and r.status.in_progress else ""),
            str(r.deliveries),
            _when(r.created_at),
            r.deployment_id or "-",
            _outcome(r),
        ]
        for r in records
    ]


@click.command(short_help="Recent deployment triggers and their results.")
@click.option("--target", default=None, help="only this target's deployments")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 10_000))
@click.option("--json", "as_json", is_flag=True, help="print one JSON document")
@pass_options
def deployments(options: Options, target: str | None, limit: int, as_json: bool) -> None:
    """Recent deployment triggers and their results, newest first: Cloudflare deployment
    id, URL and stage, or the error code and message."""
    settings = options.settings()
    if target is not None:
        settings.target(target)
    records = Store(sync_client(settings)).trigger_page(target=target, limit=limit)
    if as_json:
        emit_json({"deployments": [r.to_dict() for r in records]})
        return
    table(_deploy_rows(records), _DEPLOY_COLUMNS)


@click.command(short_help="Triggers that failed for good.")
@click.option("--target", default=None, help="only this target's failures")
@click.option("--json", "as_json", is_flag=True, help="print one JSON document")
@pass_options
def failed(options: Options, target: str | None, as_json: bool) -> None:
    """Triggers that failed for good (retries used up, or refused by Cloudflare).
    `relay replay ID` or `relay replay --all` sends them again."""
    settings = options.settings()
    records = Store(sync_client(settings)).failed(target=target)
    if as_json:
        emit_json({"failed": [r.to_dict() for r in records]})
        return
    table(_deploy_rows(records), _DEPLOY_COLUMNS)


@click.command(short_help="Queue failed triggers again.")
@click.argument("ids", nargs=-1)
@click.option("--all", "replay_all", is_flag=True, help="every failed trigger")
@click.option("--target", default=None, help="with --all: only this target's")
@click.option(
    "--since", default=None, metavar="DURATION", help="with --all: failed within, e.g. 2h"
)
@click.option("--json", "as_json", is_flag=True, help="print one JSON document")
@pass_options
def replay(
    options: Options,
    ids: tuple[str, ...],
    replay_all: bool,
    target: str | None,
    since: str | None,
    as_json: bool,
) -> None:
    """Queue failed triggers again (by ID, or --all). Each skips the debounce and goes
    through the normal deploy path; the result is recorded as a new deployment."""
    if bool(ids) == replay_all:
        raise click.UsageError("give trigger IDs or --all (not both)")
    settings = options.settings()
    client = sync_client(settings)
    if replay_all:
        since_ms = None
        if since is not None:
            try:
                since_ms = Store(client).server_ms() - round(parse_duration(since) * 1000)
            except ValueError as exc:
                raise click.BadParameter(str(exc), param_hint="--since") from None
        ids = tuple(r.id for r in Store(client).failed(target=target, since_ms=since_ms))
    done = actions.replay(client, settings, list(ids))
    unknown = set(ids) - {d.trigger_id for d in done}
    if as_json:
        emit_json({"replayed": [d.to_dict() for d in done], "skipped": sorted(unknown)})
        return
    for item in done:
        click.echo(f"re-queued {item.trigger_id} (target {item.target})")
    for trigger_id in sorted(unknown):
        click.echo(f"skipped {trigger_id}: not a failed trigger", err=True)
    if not done:
        click.echo("nothing to replay")


COMMANDS = [deliveries, deployments, failed, replay]
