"""Each provider through the real receiver: the vendors' own signed requests are accepted,
tampered ones refused, with the raw bytes and headers exactly as the vendor library sent them."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from relay.web.providers.registry import PROVIDERS
from tests.helpers import paths
from tests.helpers.processes import Server
from tests.helpers.relay_env import RelayEnv

FIXTURES = paths.FIXTURES / "signatures"
ALIASES = {"svix": "standard-webhooks"}


def _cases() -> dict[str, tuple[str, dict[str, Any], dict[str, Any] | None]]:
    """hook name -> (provider, first valid case, first invalid case) per fixture file."""
    out: dict[str, tuple[str, dict[str, Any], dict[str, Any] | None]] = {}
    for path in sorted(FIXTURES.glob("*.json")):
        doc = json.loads(path.read_text())
        if "cases" not in doc:
            continue
        provider = ALIASES.get(doc["provider"], doc["provider"])
        valid = [c for c in doc["cases"] if c["valid"] and not c.get("options")]
        invalid = [c for c in doc["cases"] if not c["valid"] and "tamper" in c["name"]]
        if valid:
            hook = valid[0]["path"].rsplit("/", 1)[1]
            out.setdefault(hook, (provider, valid[0], invalid[0] if invalid else None))
    return out


CASES = _cases()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, redis_server: Any) -> Any:
    env = RelayEnv(tmp_path_factory.mktemp("providers"), redis_server.url, None)
    hooks: dict[str, Any] = {}
    for hook, (provider, case, _) in CASES.items():
        table: dict[str, Any] = {
            "provider": provider,
            "secret": case["secret"],
            "targets": ["site"],
        }
        if "tolerance" in PROVIDERS[provider].options:
            table["tolerance"] = 0  # the vendors' fixtures carry fixed, old timestamps
        hooks[hook] = table
    env.write(
        {
            "targets": {"site": {"project": "site", "debounce": "1h", "max_wait": "1h"}},
            "hooks": hooks,
        }
    )
    yield env.serve()
    env.stop()


def _post(server: Server, case: dict[str, Any]) -> httpx.Response:
    return httpx.post(
        server.url + case["path"],
        content=case["body"].encode(),
        headers=case["headers"],
        timeout=10,
    )


def test_every_vendor_fixture_file_is_exercised() -> None:
    providers = {provider for provider, _, _ in CASES.values()}
    assert len(providers) >= 16, sorted(providers)


@pytest.mark.parametrize("hook", sorted(CASES))
def test_vendor_signed_request_is_accepted(server: Server, hook: str) -> None:
    provider, case, _ = CASES[hook]
    answer = _post(server, case)
    assert answer.status_code in (200, 202), f"{provider}: {answer.status_code} {answer.text}"
    doc = answer.json()
    assert doc["delivery"]
    assert doc.get("targets") == ["site"] or "ignored" in doc or doc.get("duplicate")


@pytest.mark.parametrize("hook", sorted(h for h, c in CASES.items() if c[2] is not None))
def test_tampered_request_is_refused(server: Server, hook: str) -> None:
    provider, case, tampered = CASES[hook]
    assert tampered is not None
    answer = _post(server, tampered)
    assert answer.status_code == 401, f"{provider}: {answer.status_code} {answer.text}"
    assert answer.json()["error"]
    assert case["secret"] not in answer.text
