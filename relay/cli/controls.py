"""`relay deploy`, `pause`, `resume`, `scheduled`: an operator's say over when targets build.

Each is a thin shell over `relay.core.controls` and `relay.core.scheduled` (the dashboard and
the JSON API call the same functions): the core decides, these commands parse, check the
arguments before anything is done, and print one line per thing done (or one JSON document).
"""

from __future__ import annotations

import click
import redis

from relay.cli.options import Options, pass_options
from relay.cli.output import emit_json, table, utc_second
from relay.core import controls as actions
from relay.core import scheduled as schedules
from relay.core.budget import usage
from relay.core.clock import iso_time, server_ms
from relay.core.connections import sync_client
from relay.core.duration import parse_duration
from relay.core.exceptions import RelayError
from relay.core.settings import Settings


def _chosen(settings: Settings, targets: tuple[str, ...], every: bool) -> list[str]:
    """TARGET... or --all (exactly one of them); every name checked before anything is done."""
    if bool(targets) == every:
        raise click.UsageError("give TARGET names or --all (not both)")
    if every:
        return list(settings.targets)
    for name in targets:
        settings.target(name)  # an unknown one is a ConfigError naming it
    return list(dict.fromkeys(targets))


def _held_by_budget(client: redis.Redis, settings: Settings, target: str) -> list[str]:
    """Why a burst of `target` would be held by a build budget now (one line each)."""
    now = server_ms(client)
    budgets = (
        (target, settings.target(target).budget, f"{target}'s budget"),
        ("*", settings.cloudflare.budget_builds, "the account's budget_builds"),
    )
    out = []
    for scope, budget, label in budgets:
        if budget is None:
            continue
        used = usage(client, scope, budget, now)
        if used.exhausted:
            frees = f" until {iso_time(used.frees_at)}" if used.frees_at else ""
            out.append(
                f"{label} ({budget}) is used up: the build is held{frees} "
                "(--ignore-budget builds anyway)"
            )
    return out


@click.command(short_help="Trigger a target now (through the debounce), or at a set time.")
@click.argument("target")
@click.option("--now", is_flag=True, help="skip the debounce: build as soon as possible")
@click.option("--force", is_flag=True, help="build even while the target is paused")
@click.option(
    "--ignore-budget", is_flag=True, help="build even past the target's or the account's budget"
)
@click.option(
    "--at",
    "at",
    default=None,
    metavar="TIME",
    help="schedule one deploy instead, at TIME: RFC 3339 with an offset "
    "(2026-12-24T18:00:00Z) or from now (+2h, +30m)",
)
@click.option("--json", "as_json", is_flag=True, help="print one JSON document")
@pass_options
def deploy(
    options: Options,
    target: str,
    now: bool,
    force: bool,
    ignore_budget: bool,
    at: str | None,
    as_json: bool,
) -> None:
    """Trigger TARGET through the same debounce and record path as a webhook, so it
    coalesces with a burst in progress. --now skips the quiet period: it builds as soon as the
    target is free (right after a build in flight ends), and deliveries arriving meanwhile
    join it without pushing it later.

    On a paused target nothing is done (exit 1) unless --force. A build budget that is used
    up holds the build until it allows, unless --ignore-budget.

    --at TIME schedules one deploy instead, fired exactly once however many workers run
    (`relay scheduled` lists them, `relay scheduled --cancel ID` drops one). When it fires it
    joins the target's burst like any change: a pause or a budget then holds it.

    \b
    Examples:
      relay deploy blog --now
      relay deploy blog --now --force --ignore-budget
      relay deploy blog --at 2026-12-24T18:00:00Z
      relay deploy blog --at +2h
    """
    if at is not None and (now or force or ignore_budget):
        raise click.UsageError(
            "--at schedules a plain deploy: --now, --force and --ignore-budget go with a "
            "deploy made now"
        )
    settings = options.settings()
    settings.target(target)
    client = sync_client(settings)
    if at is not None:
        _schedule(client, settings, target, at, as_json)
        return
    due = actions.deploy(
        client,
        settings,
        target,
        reason="manual",
        now=now,
        force=force,
        ignore_budget=ignore_budget,
    )
    held = [] if ignore_budget else _held_by_budget(client, settings, target)
    if as_json:
        emit_json({"queued": {"target": target, "due": due, "held": held}})
        return
    wait = max(0.0, (due - server_ms(client)) / 1000)
    click.echo(
        f"queued {target}: builds in {wait:.0f}s unless more changes arrive"
        if wait >= 1
        else f"queued {target}: builds now"
    )
    for line in held:
        click.secho(f"note: {line}", fg="yellow", err=True)


def _schedule(client: redis.Redis, settings: Settings, target: str, at: str, as_json: bool) -> None:
    try:
        at_ms = schedules.parse_when(at, server_ms(client))
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--at") from None
    planned = schedules.schedule(client, settings, target, at_ms, by="cli")
    if as_json:
        emit_json({"scheduled": planned.to_dict()})
        return
    click.echo(f"scheduled {planned.id}: {target} deploys at {utc_second(planned.at)}")
    paused = actions.pauses(client).get(target)
    if paused is not None:
        click.secho(
            f"note: {paused.describe()}: it builds when the pause ends", fg="yellow", err=True
        )


@click.command(short_help="Hold builds; deliveries still collect into one burst.")
@click.argument("targets", nargs=-1, metavar="TARGET...")
@click.option("--all", "every", is_flag=True, help="pause every target")
@click.option(
    "--for",
    "duration",
    default=None,
    metavar="DURATION",
    help="end the pause by itself after this long, e.g. 30m, 2h [default: until relay resume]",
)
@click.option(
    "--reason",
    default=None,
    metavar="TEXT",
    help="why: shown by relay check, relay deploy and the notifications",
)
@click.option("--json", "as_json", is_flag=True, help="print one JSON document")
@pass_options
def pause(
    options: Options,
    targets: tuple[str, ...],
    every: bool,
    duration: str | None,
    reason: str | None,
    as_json: bool,
) -> None:
    """Hold the builds of each TARGET (or --all). Deliveries are still verified, stored and
    answered, and their burst keeps collecting; when the pause ends (`relay resume`, or
    --for running out) it becomes exactly one build. `relay deploy` on a paused target does
    nothing unless --force. Pausing again replaces the pause.

    \b
    Examples:
      relay pause blog --for 2h --reason "content freeze"
      relay pause --all
    """
    seconds = None
    if duration is not None:
        try:
            seconds = parse_duration(duration)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--for") from None
        if seconds <= 0:
            raise click.BadParameter(
                "must be longer than 0 (no --for: until resumed)", param_hint="--for"
            )
    settings = options.settings()
    names = _chosen(settings, targets, every)
    done = actions.pause(sync_client(settings), settings, names, seconds=seconds, reason=reason)
    if as_json:
        emit_json({"paused": [p.to_dict() for p in done]})
        return
    for item in done:
        ends = f" until {iso_time(item.until)}" if item.until else " until resumed"
        why = f" ({item.reason})" if item.reason else ""
        click.echo(f"{item.target} paused{ends}{why}")


@click.command(short_help="End a pause: what collected meanwhile becomes one build.")
@click.argument("targets", nargs=-1, metavar="TARGET...")
@click.option("--all", "every", is_flag=True, help="every target (one that was not paused says so)")
@click.option("--json", "as_json", is_flag=True, help="print one JSON document")
@pass_options
def resume(options: Options, targets: tuple[str, ...], every: bool, as_json: bool) -> None:
    """End the pause of each TARGET (or --all): the deliveries that collected while it was
    paused become exactly one build, now.

    \b
    Examples:
      relay resume blog
      relay resume --all
    """
    settings = options.settings()
    names = _chosen(settings, targets, every)
    done = set(actions.resume(sync_client(settings), settings, names))
    if as_json:
        emit_json(
            {
                "resumed": [n for n in names if n in done],
                "not_paused": [n for n in names if n not in done],
            }
        )
        return
    for name in names:
        click.echo(
            f"{name} resumed: what collected meanwhile builds now"
            if name in done
            else f"{name} was not paused"
        )


@click.command(short_help="Deploys set with relay deploy --at; --cancel ID drops one.")
@click.option(
    "--cancel",
    "cancel_id",
    default=None,
    metavar="ID",
    help="cancel this scheduled deploy before it fires",
)
@click.option("--json", "as_json", is_flag=True, help="print one JSON document")
@pass_options
def scheduled(options: Options, cancel_id: str | None, as_json: bool) -> None:
    """The deploys scheduled with `relay deploy TARGET --at TIME`: those still to fire,
    soonest first, then those fired or cancelled in the last week. Times are UTC.

    \b
    Examples:
      relay scheduled
      relay scheduled --cancel sd-1a2b3c4d
    """
    settings = options.settings()
    client = sync_client(settings)
    if cancel_id is not None:
        dropped = schedules.cancel(client, cancel_id)
        if dropped is None:
            raise RelayError(f"no scheduled deploy {cancel_id} waiting to fire")
        if as_json:
            emit_json({"cancelled": dropped.to_dict()})
        else:
            click.echo(f"cancelled {dropped.id}: {dropped.target} at {utc_second(dropped.at)}")
        return
    rows = schedules.listing(client)
    if as_json:
        emit_json({"scheduled": [r.to_dict() for r in rows]})
        return
    table(
        [
            [
                r.id,
                r.target,
                utc_second(r.at),
                r.status,
                utc_second(r.fired_at) if r.fired_at else "-",
            ]
            for r in rows
        ],
        ["id", "target", "when", "status", "fired"],
    )


COMMANDS = [deploy, pause, resume, scheduled]
