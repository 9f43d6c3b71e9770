"""First-run help for `relay up`: a starter relay.toml and a ready-to-paste signed curl."""

from __future__ import annotations

import secrets
import shlex
import time
from pathlib import Path

from relay.core.settings import Settings
from relay.web.providers.registry import PROVIDERS

SAMPLE_BODY = b'{"event":"entry.publish","entry":{"id":"hello-world"}}'

STARTER = """\
# Written by `relay up` because no relay.toml was found. Edit freely; see relay.example.toml
# and docs/configuration.md for every option.

[admin]
token = "{admin}"              # sign in to the dashboard with this

[targets.site]                 # a Cloudflare Pages project and branch to build
project  = "my-site"
branch   = "main"
debounce = "10s"               # build 10 s after the last webhook of a burst ...
max_wait = "2m"                # ... but never later than 2 min after its first

[hooks.example]                # receives POST /hooks/example
provider = "hmac-sha256"       # X-Hub-Signature-256: sha256=<hex HMAC of the body>
secret   = "{secret}"
targets  = ["site"]

# Set CLOUDFLARE_ACCOUNT_ID and CLOUDFLARE_API_TOKEN (a token with Pages Edit) to really build;
# without them the relay runs in dry-run and records what it would deploy.
"""


def write_starter_config(path: Path) -> None:
    text = STARTER.replace("{secret}", secrets.token_urlsafe(24))
    text = text.replace("{admin}", secrets.token_urlsafe(18))
    path.write_text(text, encoding="utf-8")
    path.chmod(0o600)  # it holds secrets


def signed_curl(settings: Settings, base_url: str, hook_name: str | None = None) -> str | None:
    """A curl command that sends a correctly signed sample delivery to a hook (the first one)."""
    if not settings.hooks:
        return None
    hook = settings.hooks[hook_name] if hook_name else next(iter(settings.hooks.values()))
    provider = PROVIDERS[hook.provider](hook)
    path = f"/hooks/{hook.name}"
    headers = provider.sign(SAMPLE_BODY, path=path, now=time.time())
    parts = ["curl", "-i", "-X", "POST", base_url.rstrip("/") + path]
    for name, value in headers.items():
        parts += ["-H", f"{name}: {value}"]
    parts += ["--data-raw", SAMPLE_BODY.decode()]
    return " ".join(shlex.quote(p) for p in parts)
