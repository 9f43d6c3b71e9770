"""End-to-end tests: real `relay serve` / `relay worker` processes (or the app on a real
uvicorn), a real redis-server, the fake Cloudflare API and Chromium; no mocks of the relay."""
