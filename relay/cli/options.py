"""What every command shares: the config path, the settings it names, and the log format."""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass
from pathlib import Path

import click

from relay.core.config import load_settings
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
