"""The tests: `unit/` (fast, in-process; a real Redis where a script runs) and `e2e/` (real
relay processes, a real Redis, the fake Cloudflare API on loopback, Chromium)."""
