"""relay.toml validation: each problem is one line naming its key; `relay check` shows them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from relay.core.config import load_settings, parse_settings
from relay.core.exceptions import ConfigError
from relay.web.providers.registry import PROVIDERS
from tests.helpers import paths
from tests.helpers.relay_env import to_toml
from tests.helpers.senders import github_hook

GOOD: dict[str, Any] = {
    "targets": {"blog": {"project": "blog", "branch": "main"}},
    "hooks": {"cms": github_hook(["blog"], secret="x")},
}


def problems(doc: dict[str, Any], env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_settings(doc, env or {}, schemes=PROVIDERS)
    return info.value.problems


def with_(path: str, value: Any) -> dict[str, Any]:
    import copy

    doc = copy.deepcopy(GOOD)
    *parents, last = path.split(".")
    node = doc
    for part in parents:
        node = node.setdefault(part, {})
    node[last] = value
    return doc


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        ("hooks.cms.provider", "sanitty", "hooks.cms.provider: unknown provider 'sanitty'"),
        (
            "hooks.cms.targets",
            ["blog", "nope"],
            "hooks.cms.targets: 'nope' is not a defined target",
        ),
        (
            "hooks.cms.secret",
            "${MISSING_SECRET}",
            "hooks.cms.secret: environment variable MISSING_SECRET is not set",
        ),
        (
            "targets.blog.debounce",
            "5 minutes",
            "targets.blog.debounce: '5 minutes' is not a duration",
        ),
        (
            "targets.blog.schedule",
            "every hour",
            "targets.blog.schedule: 'every hour' is not a cron",
        ),
        ("targets.blog.schedule", "0 * * *", "targets.blog.schedule: '0 * * *' is not a cron"),
        (
            "targets.docs",
            {"debounce": "10s"},
            "targets.docs: needs project (+ branch), worker (+ branch) or deploy_hook",
        ),
        ("targets.blog.debunce", "10s", "targets.blog.debunce: unknown key"),
        ("targets.blog.max_wait", "1s", "targets.blog.max_wait: must not be shorter than debounce"),
        ("retry.attempts", 0, "retry.attempts: must be at least 1"),
        ("redis.url", "http://x", "redis.url: must start with redis://"),
        ("hooks.cms.secret", None, "hooks.cms.secret: provider hmac-sha256 needs a secret"),
    ],
)
def test_each_problem_names_its_key(path: str, value: Any, expected: str) -> None:
    doc = with_(path, value)
    if value is None:
        del doc["hooks"]["cms"]["secret"]
    found = problems(doc)
    assert any(line.startswith(expected) for line in found), found
    assert all("\n" not in line for line in found)


def test_all_problems_are_reported_at_once() -> None:
    doc = with_("targets.blog.debounce", "soon")
    doc["hooks"]["cms"]["provider"] = "nope"
    assert len(problems(doc)) == 2


def test_environment_interpolation_and_overrides() -> None:
    doc = with_("hooks.cms.secret", "${CMS_SECRET}")
    doc["cloudflare"] = {"account_id": "file-account", "api_token": "${CF_TOKEN}"}
    env = {
        "CMS_SECRET": "from-env",
        "CF_TOKEN": "t0ken",
        "CLOUDFLARE_ACCOUNT_ID": "env-account",
        "REDIS_URL": "redis://10.0.0.1:6380/2",
    }
    settings = parse_settings(doc, env, schemes=PROVIDERS)
    assert settings.hooks["cms"].secrets[0].reveal() == "from-env"
    assert settings.cloudflare.account_id == "env-account"  # the environment wins
    assert settings.cloudflare.api_token is not None
    assert settings.cloudflare.api_token.reveal() == "t0ken"
    assert settings.redis.url.reveal() == "redis://10.0.0.1:6380/2"
    assert "t0ken" not in repr(settings) and "from-env" not in repr(settings)


def test_durations() -> None:
    doc = with_("targets.blog.debounce", "90s")
    doc["targets"]["blog"]["max_wait"] = "2h"
    doc["targets"]["blog"]["keep"] = "7d"
    doc["retry"] = {"initial": 5}
    settings = parse_settings(doc, {}, schemes=PROVIDERS)
    blog = settings.targets["blog"]
    assert (blog.debounce, blog.max_wait, blog.keep) == (90, 7200, 7 * 86400)
    assert settings.retry.initial == 5


def test_example_config_is_valid() -> None:
    example = paths.ROOT / "relay.example.toml"
    env = {
        name: "x" * 64
        for name in (
            "CLOUDFLARE_ACCOUNT_ID",
            "CLOUDFLARE_API_TOKEN",
            "RELAY_ADMIN_TOKEN",
            "SANITY_WEBHOOK_SECRET",
            "DOCS_DEPLOY_HOOK",
            "CONTENTFUL_SIGNING_SECRET",
            "STRAPI_TOKEN",
            "GITHUB_WEBHOOK_SECRET",
        )
    }
    env["DOCS_DEPLOY_HOOK"] = "https://api.cloudflare.com/client/v4/pages/webhooks/deploy_hooks/x"
    env["SVIX_SECRET"] = "whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo="
    settings = load_settings(example, env, schemes=PROVIDERS)
    assert settings.targets and settings.hooks


def test_relay_check_prints_problems_and_exits_1(tmp_path: Path) -> None:
    config = tmp_path / "relay.toml"
    config.write_text(to_toml(with_("hooks.cms.provider", "nope")))
    result = subprocess.run(
        [sys.executable, "-m", "relay", "--config", str(config), "check"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 1
    assert "hooks.cms.provider: unknown provider 'nope'" in result.stderr


def test_relay_check_reports_a_good_config(tmp_path: Path) -> None:
    config = tmp_path / "relay.toml"
    config.write_text(to_toml(GOOD))
    result = subprocess.run(
        [sys.executable, "-m", "relay", "--config", str(config), "check", "--offline"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    assert "/hooks/cms: hmac-sha256 (1 secret) -> blog" in result.stdout
    assert "dry-run" in result.stdout


def test_missing_config_file_is_one_line(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "relay", "--config", str(tmp_path / "none.toml"), "deliveries"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0
    assert "none.toml: no such file" in result.stderr
