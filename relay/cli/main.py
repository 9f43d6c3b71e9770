"""The `relay` group, its shared options, and how errors reach the terminal (one line)."""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass
from pathlib import Path

import click
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from relay import __version__
from relay.core.config import default_config_path, load_settings
from relay.core.exceptions import RelayError
from relay.core.settings import Settings
from relay.web.providers.registry import PROVIDERS

#: where `relay up` keeps the embedded Redis's data, beside relay.toml
EMBEDDED_DIR = ".relay"


@dataclass
class Options:
    config: Path

    def settings(self) -> Settings:
        """The settings; with no Redis configured, the embedded one `relay up` runs here."""
        settings = load_settings(self.config, schemes=PROVIDERS)
        if not settings.redis.configured:
            port_file = self.config.resolve().parent / EMBEDDED_DIR / "port"
            if port_file.exists():
                port = port_file.read_text().strip()
                settings = settings.using_redis(f"redis://127.0.0.1:{port}/0")
        return settings


pass_options = click.make_pass_decorator(Options)


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
    """Deploy-hook relay: verify CMS webhooks, turn each burst into one Cloudflare Pages
    build, retry what failed and record every result.

    \b
    First run:   relay up             (receiver + worker + embedded Redis, dry-run
                                       until Cloudflare credentials are set)
    Production:  relay serve          (HTTP receiver, dashboard, API, metrics)
                 relay worker         (deploy jobs; run one or more)
    Inspect:     relay deliveries | deployments | failed
    Act:         relay replay | deploy | prune | send-test | sign
    Cron (UTC):  [targets.X] schedule rebuilds and prune_schedule prunes run
                 inside relay worker, exactly once across all workers
    """
    ctx.obj = Options(config=config or default_config_path())


def setup_logging(level: str = "INFO") -> None:
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
        stream=sys.stderr,
    )
    # httpx logs every request's full URL at INFO: a deploy hook URL or a notification
    # webhook URL is a secret, so its request lines are kept out of the logs
    for noisy in ("httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def main() -> None:
    from relay.cli import hooks, prune, records, run  # register the commands

    for module in (run, records, hooks, prune):
        for command in module.COMMANDS:
            cli.add_command(command)
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
