"""Fast tests: settings, records, providers, the Cloudflare client over httpx.MockTransport,
each Lua script against a real Redis. `pytest tests/unit` runs them alone in seconds."""
