"""`relay sign` and `relay send-test`: a user's way to check a hook end to end."""

from __future__ import annotations

from pathlib import Path

import httpx

from relay.cli.embedded_redis import free_port
from tests.helpers.relay_env import RelayEnv, cli
from tests.helpers.senders import SECRET, WHSEC, github_hook


def _setup(env: RelayEnv) -> str:
    env.write(
        {
            "targets": {"site": {"project": "site", "debounce": "1h", "max_wait": "1h"}},
            "hooks": {
                "gh": github_hook(["site"]),
                "svix": {"provider": "standard-webhooks", "secret": WHSEC, "targets": ["site"]},
            },
        }
    )
    return env.serve().url


def test_sign_prints_headers_the_relay_accepts(relay_env: RelayEnv, tmp_path: Path) -> None:
    url = _setup(relay_env)
    body = tmp_path / "body.json"
    body.write_bytes(b'{"title": "Hello"}\n')
    for hook in ("gh", "svix"):
        result = cli(relay_env, "sign", hook, "--body", str(body))
        assert result.returncode == 0, result.stderr
        headers = dict(line.split(": ", 1) for line in result.stdout.splitlines())
        assert SECRET not in result.stdout and WHSEC not in result.stdout
        answer = httpx.post(f"{url}/hooks/{hook}", content=body.read_bytes(), headers=headers)
        assert answer.status_code == 202, (hook, answer.text)


def test_send_test_reports_the_answer(relay_env: RelayEnv) -> None:
    url = _setup(relay_env)
    ok = cli(relay_env, "send-test", "svix", "--url", url)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.startswith("202 ") and '"targets":["site"]' in ok.stdout

    unknown = cli(relay_env, "send-test", "nope", "--url", url)
    assert unknown.returncode == 1
    assert unknown.stderr.strip() == "relay: unknown hook 'nope' (known: gh, svix)"

    down = cli(relay_env, "send-test", "gh", "--url", f"http://127.0.0.1:{free_port()}")
    assert down.returncode == 1 and down.stderr.count("\n") == 1
    assert "cannot reach" in down.stderr
