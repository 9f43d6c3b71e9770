"""A relay set up the way users set it up: a relay.toml in a temp dir, `relay serve` and
`relay worker` processes, and the CLI to read what they recorded."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import httpx

from tests.fakes.cloudflare import FakeCloudflare
from tests.helpers.polling import wait_for
from tests.helpers.processes import RelayProcess, Server
from tests.helpers.senders import github_headers, github_hook

ACCOUNT = "0123456789abcdef0123456789abcdef"
TOKEN = "cf-test-token-7d1f"
#: the relay's own environment variables: tests never inherit the developer's
RELAY_ENV = (
    "REDIS_URL",
    "CLOUDFLARE_API_TOKEN",
    "CLOUDFLARE_ACCOUNT_ID",
    "CLOUDFLARE_API_BASE",
    "RELAY_ADMIN_TOKEN",
    "RELAY_CONFIG",
    "RELAY_STATUS_TOKEN",
)


def to_toml(doc: dict[str, Any]) -> str:
    """A tiny TOML writer for test configs (tables of scalars, lists and sub-tables)."""

    def value(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, int | float):
            return repr(v)
        if isinstance(v, list):
            return "[" + ", ".join(value(i) for i in v) + "]"
        if isinstance(v, dict):
            return "{" + ", ".join(f"{k} = {value(i)}" for k, i in v.items()) + "}"
        return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'

    lines: list[str] = []

    def table(prefix: str, d: dict[str, Any]) -> None:
        scalars = {k: v for k, v in d.items() if not isinstance(v, dict) or k in {"filter"}}
        subtables = {k: v for k, v in d.items() if k not in scalars}
        if prefix and scalars:
            lines.append(f"[{prefix}]")
        for k, v in scalars.items():
            lines.append(f"{k} = {value(v)}")
        for k, v in subtables.items():
            table(f"{prefix}.{k}" if prefix else k, v)

    table("", doc)
    text = "\n".join(lines) + "\n"
    tomllib.loads(text)  # the writer must produce what the relay reads
    return text


class RelayEnv:
    """A relay set-up in a temp dir: its relay.toml, environment and processes."""

    def __init__(self, tmp_path: Path, redis_url: str, fake: FakeCloudflare | None) -> None:
        self.dir = tmp_path
        self.redis_url = redis_url
        self.fake = fake
        self.config = tmp_path / "relay.toml"
        self.processes: list[RelayProcess] = []
        self.env = {k: v for k, v in os.environ.items() if k not in RELAY_ENV}
        self.env["REDIS_URL"] = redis_url
        self.env["PYTHONUNBUFFERED"] = "1"
        if fake is not None:
            self.env.update(
                CLOUDFLARE_API_BASE=fake.base_url,
                CLOUDFLARE_ACCOUNT_ID=ACCOUNT,
                CLOUDFLARE_API_TOKEN=TOKEN,
            )

    def write(self, doc: dict[str, Any]) -> Path:
        doc = {
            "cloudflare": {"poll_interval": "0.3s"},
            "retry": {"initial": "0.2s", "max": "1s"},
            **doc,
        }
        self.config.write_text(to_toml(doc))
        return self.config

    def serve(self) -> Server:
        server = Server(self.config, self.env, self.dir / f"serve-{len(self.processes)}.log")
        self.processes.append(server)
        return server.start()

    def worker(self, **environ: str) -> RelayProcess:
        """A `relay worker` named w<index>, with `environ` added to its environment (e.g. the
        test-only RELAY_TEST_DIE_AT)."""
        index = len(self.processes)
        process = RelayProcess(
            ["--config", str(self.config), "worker", "--name", f"w{index}"],
            {**self.env, **environ},
            self.dir / f"worker-{index}.log",
        )
        self.processes.append(process)
        return process.start()

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.stop()

    def logs(self) -> str:
        return "\n".join(f"--- {p.log.name}\n{p.output()}" for p in self.processes)


def send(server_url: str, hook: str, body: bytes) -> httpx.Response:
    return httpx.post(
        f"{server_url}/hooks/{hook}", content=body, headers=github_headers(body), timeout=10
    )


def cli(env: RelayEnv, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "relay", "--config", str(env.config), *args],
        env=env.env,
        capture_output=True,
        text=True,
        timeout=30,
    )


def cli_json(env: RelayEnv, *args: str) -> Any:
    result = cli(env, *args, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def setup(
    env: RelayEnv,
    *,
    project: str = "blog",
    retry: dict[str, Any] | None = None,
    cloudflare: dict[str, Any] | None = None,
    notify: str | None = None,
    **target: Any,
) -> str:
    doc: dict[str, Any] = {
        "cloudflare": {"poll_interval": "0.3s", **(cloudflare or {})},
        "retry": {"attempts": 5, "initial": "0.2s", "max": "1s", **(retry or {})},
        "targets": {"blog": {"project": project, "branch": "main", "debounce": "0.3s", **target}},
        "hooks": {"cms": github_hook(["blog"])},
    }
    if notify:
        doc["notify"] = {"url": notify}
    env.write(doc)
    server = env.serve()
    env.worker()
    return server.url


def trigger(env: RelayEnv, status: str | set[str], timeout: float = 20) -> dict[str, Any]:
    wanted = {status} if isinstance(status, str) else status

    def found() -> dict[str, Any] | None:
        rows = cli_json(env, "deployments")["deployments"]
        return rows[0] if rows and rows[0]["status"] in wanted else None

    row: dict[str, Any] = wait_for(found, timeout=timeout, what=f"a trigger in {wanted}")
    return row
