"""A Pages deploy hook: one unauthenticated POST (the URL is the secret). Its answer names the
new deployment; with `project` and API credentials it is then watched like any Pages build
(and can be rolled back), else recorded as triggered."""

from __future__ import annotations

from relay.core.targets.base import Build, Started
from relay.core.targets.pages_api import PagesApi


class PagesHook(PagesApi):
    @property
    def needs_credentials(self) -> bool:
        return False

    @property
    def watchable(self) -> bool:
        return self.config.project is not None and self.platform.has_credentials

    def start(self) -> Started:
        assert self.config.deploy_hook is not None
        deployment_id = self.platform.pages.trigger_hook(self.config.deploy_hook.reveal())
        return Started(Build(id=deployment_id) if deployment_id else None)

    def check(self) -> list[str]:
        return super().check() if self.watchable else []
