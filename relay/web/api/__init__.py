"""The JSON API under /api: what the dashboard shows, for scripts (admin token as Bearer)."""
