"""`relay prune`: apply each target's `keep` to its Pages project's old deployments."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from relay.cli.options import Options, pass_options
from relay.core.connections import sync_client
from relay.core.exceptions import ConfigError, RelayError
from workers.prune import Pruner, PruneReport
from workers.prune_job import paced_client

#: without a terminal, a progress line every this many deployments
LINE_EVERY = 25


class BarProgress:
    """click progress bars on stderr, one per phase (listing, deleting)."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.bar: Any = None

    def phase(self, name: str, total: int | None) -> None:
        self.close()
        label = f"{self.target}: {name}"
        self.bar = click.progressbar(length=max(total or 0, 1), label=label, file=sys.stderr)
        self.bar.__enter__()

    def advance(self, n: int) -> None:
        if self.bar is not None:
            self.bar.update(n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None


class LineProgress:
    """Plain progress lines on stderr, for logs and pipes."""

    def __init__(self, target: str) -> None:
        self.target, self.name, self.total, self.done = target, "", 0, 0

    def phase(self, name: str, total: int | None) -> None:
        self.name, self.total, self.done = name, total or 0, 0
        click.echo(f"{self.target}: {name} {self.total} deployments", err=True)

    def advance(self, n: int) -> None:
        self.done += n
        if self.name == "listing" or self.done % LINE_EVERY == 0 or self.done == self.total:
            click.echo(f"{self.target}: {self.name} {self.done}/{self.total}", err=True)

    def close(self) -> None:
        pass


def _print_summary(report: PruneReport) -> None:
    flags = [report.status] + (["resumed"] if report.resumed else [])
    flags += ["dry run: nothing deleted"] if report.dry_run else []
    click.echo(f"prune of {report.target} (project {report.project}): {', '.join(flags)}")
    rows = [["deleted", "", str(report.counts["deleted"])]]
    if report.dry_run:
        rows = [["would delete", "", str(len(report.planned))]]
    rows += [["kept", why, str(n)] for why, n in report.by("kept").items()]
    rows += [["skipped", why, str(n)] for why, n in report.by("skipped").items()]
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(("result", "why"))]
    click.echo(f"  {'RESULT'.ljust(widths[0])}  {'WHY'.ljust(widths[1])}  COUNT")
    for result, why, count in rows:
        click.echo(f"  {result.ljust(widths[0])}  {why.ljust(widths[1])}  {count}")
    if report.dry_run and report.planned:
        click.echo("  would delete, oldest first:")
        for dep_id in report.planned:
            click.echo(f"    {dep_id}")


def _emit(reports: list[PruneReport], as_json: bool) -> None:
    if as_json:
        doc = {"prunes": [r.to_dict() for r in reports]}
        click.echo(json.dumps(doc, indent=2, sort_keys=True))
        return
    for report in reports:
        _print_summary(report)


@click.command(short_help="Delete old Pages deployments (keep; workers: prune_schedule).")
@click.option("--target", default=None, help="only this target [default: every target with keep]")
@click.option("--dry-run", is_flag=True, help="decide and report the plan; delete nothing")
@click.option("--json", "as_json", is_flag=True, help="print one JSON document")
@pass_options
def prune(options: Options, target: str | None, dry_run: bool, as_json: bool) -> None:
    """Delete the deployments of each target's Pages project older than its `keep`.

    Never deleted: the live production deployment, the newest deployment of any branch (and
    its newest successful one), deployments that carry aliases (no ?force=true), and builds
    still running. Lists every page first, then deletes oldest first, showing progress on
    stderr and ending with what was deleted, kept and skipped, and why.

    Interrupted (a Cloudflare error, a lost connection, Ctrl-C)? Run it again: it resumes
    where it stopped. Prune uses at most half of the shared Cloudflare API budget and yields
    when deploys need it. Workers run it on each target's `prune_schedule`, and rebuild a
    target on its `schedule` (both cron, UTC): see docs/scheduling.md.
    """
    settings = options.settings()
    if target is not None:
        config = settings.target(target)
        if config.project is None or config.keep is None:
            raise ConfigError([f"targets.{target}: prune needs a Pages project and keep"])
        names = [target]
    else:
        names = [t.name for t in settings.targets.values() if t.project and t.keep is not None]
    if not names:
        if as_json:
            _emit([], as_json)
        else:
            click.echo("nothing to prune: no target sets keep")
        return
    if not settings.cloudflare.has_credentials:
        raise ConfigError(["relay prune needs CLOUDFLARE_ACCOUNT_ID and CLOUDFLARE_API_TOKEN"])
    client = sync_client(settings)
    pages = paced_client(client, settings)
    reports: list[PruneReport] = []
    try:
        for name in names:
            progress = BarProgress(name) if sys.stderr.isatty() else LineProgress(name)
            pruner = Pruner(
                client,
                settings,
                name,
                pages,
                dry_run=dry_run or settings.dry_run,
                progress=progress,
            )
            reports.append(pruner.report)
            try:
                pruner.run()
            finally:
                progress.close()
    except RelayError:  # what was done (an interrupted prune included), then the one-line error
        _emit([r for r in reports if r.status != "running"], as_json)
        raise
    finally:
        pages.close()
    _emit(reports, as_json)


COMMANDS = [prune]
