"""The dashboard: server-rendered pages behind the admin token, updated live by a small poller."""
