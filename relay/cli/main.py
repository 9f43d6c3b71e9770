"""The `relay` group: its commands, and how errors reach the terminal (one line)."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from relay import __version__
from relay.cli import builds, controls, hooks, prune, records, run, up
from relay.cli.options import Options
from relay.core.config import default_config_path
from relay.core.exceptions import RelayError


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option(
    "--config",
    "-c",
    type=click.Path(path_type=Path),
    default=None,
    metavar="PATH",
    help="relay.toml to use [default: $RELAY_CONFIG, else ./relay.toml]",
)
@click.version_option(__version__, prog_name="relay")
@click.pass_context
def cli(ctx: click.Context, config: Path | None) -> None:
    """Deploy-hook relay: verify CMS webhooks, turn each burst into one Cloudflare build
    (Pages or Workers Builds), retry what failed and record every result.

    \b
    First run:   relay up             (receiver + worker + embedded Redis, dry-run
                                       until Cloudflare credentials are set)
    Production:  relay serve          (HTTP receiver, dashboard, API, metrics;
                                       --workers auto: a process per core)
                 relay worker         (claims, deploys, watches; run several)
    Inspect:     relay deliveries | deployments | failed | logs | scheduled
    Act:         relay replay | deploy | prune | send-test | sign
    Control:     relay pause | resume | deploy --at | rollback
    Cron (UTC):  [targets.X] schedule rebuilds and prune_schedule prunes run
                 inside relay worker, exactly once across all workers
    """
    ctx.obj = Options(config=config or default_config_path())


for _module in (up, run, records, controls, builds, hooks, prune):
    for _command in _module.COMMANDS:
        cli.add_command(_command)


def main() -> None:
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except (RedisConnectionError, RedisTimeoutError):
        click.echo(
            "relay: Redis unreachable (check [redis] url / REDIS_URL, or use `relay up`)", err=True
        )
        sys.exit(1)
    except RedisError as exc:
        click.echo(f"relay: Redis error: {type(exc).__name__}", err=True)
        sys.exit(1)
    except RelayError as exc:
        click.echo(f"relay: {exc}", err=True)
        sys.exit(1)
