"""TLS and an ACL user: the relay against a Redis that speaks only TLS, wants a client
certificate and has its default user off, the way managed and hardened Redis run.

`relay check`, `relay serve` and `relay worker` all connect with
`rediss://relay:PASSWORD@…?ssl_ca_certs=…&ssl_certfile=…&ssl_keyfile=…`; a burst builds, and the
password shows up in no log and no output. The ACL user has no CONFIG (as on managed services):
what cannot be read is reported as unknown, never a failure.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis

from relay.cli.embedded_redis import RedisServer
from tests.fakes.cloudflare import FakeCloudflare
from tests.helpers.polling import stays, wait_for
from tests.helpers.redis_topology import Certs, debian_redis_server, make_certs, tls_server
from tests.helpers.relay_env import RelayEnv, cli, cli_json
from tests.helpers.senders import github_headers, github_hook

USER = "relay"
PASSWORD = "tls-acl-pass-93f1c7e2"


@pytest.fixture
def certs(tmp_path: Path) -> Certs:
    return make_certs(tmp_path / "certs")


@pytest.fixture
def tls_redis(tmp_path: Path, certs: Certs) -> Iterator[tuple[RedisServer, str]]:
    server, url = tls_server(
        tmp_path / "redis", certs, user=USER, password=PASSWORD, binary=debian_redis_server()
    )
    server.start()
    yield server, url
    server.stop()


def _config() -> dict[str, object]:
    return {
        "targets": {"blog": {"project": "blog", "branch": "main", "debounce": "500ms"}},
        "hooks": {"cms": github_hook(["blog"])},
    }


def test_tls_and_an_acl_user_end_to_end(
    tmp_path: Path, tls_redis: tuple[RedisServer, str], fake_api: FakeCloudflare
) -> None:
    _server, url = tls_redis
    # the TLS port refuses a plain connection
    port = int(url.split("@127.0.0.1:")[1].split("/")[0])
    with pytest.raises(redis.ConnectionError):
        redis.Redis(port=port, socket_timeout=1, socket_connect_timeout=1).ping()
    fake_api.add_project("blog", production_branch="main")
    env = RelayEnv(tmp_path, url, fake_api)
    env.write(_config())
    try:
        check = cli(env, "check")
        output = check.stdout + check.stderr
        assert check.returncode == 0, output
        assert f"redis: rediss://{USER}:****@127.0.0.1:{port}/0?" in check.stdout
        assert "AOF on (appendfsync unknown)" in check.stdout
        assert (
            "warning: redis: appendfsync cannot be read (CONFIG GET appendfsync: this user has no "
            "permissions to run the 'config|get' command): the fsync policy is unknown"
        ) in output, output

        served = env.serve()
        env.worker()
        bodies = [json.dumps({"entry": i}).encode() for i in range(5)]
        answers = [
            httpx.post(
                f"{served.url}/hooks/cms", content=body, headers=github_headers(body), timeout=10
            )
            for body in bodies
        ]
        assert [a.status_code for a in answers] == [202] * 5
        wait_for(lambda: fake_api.create_calls("blog"), timeout=20, what="the build")
        stays(lambda: len(fake_api.create_calls("blog")) == 1, duration=1.0, what="one build")
        rows = wait_for(
            lambda: [
                r
                for r in cli_json(env, "deployments")["deployments"]
                if r["status"] == "success" and r["deliveries"] == 5
            ],
            timeout=20,
            what="the successful build of the five deliveries",
        )
        assert rows
        assert httpx.get(served.url + "/readyz", timeout=5).status_code == 200
        metrics = httpx.get(served.url + "/metrics", timeout=5).text
        assert "relay_redis_up 1.0" in metrics

        # a wrong password is said so, and shown as little as the right one
        wrong = env.env | {"REDIS_URL": url.replace(PASSWORD, "not-" + PASSWORD[:8])}
        refused = subprocess.run(
            [sys.executable, "-m", "relay", "--config", str(env.config), "check"],
            env=wrong,
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert refused.returncode == 1
        assert "refused the credentials" in refused.stdout + refused.stderr

        everything = env.logs() + output + refused.stdout + refused.stderr + metrics
        everything += cli(env, "deliveries").stdout + cli(env, "deployments").stdout
        assert PASSWORD not in everything
        assert PASSWORD[:8] not in everything
    finally:
        env.stop()
