"""A Workers Builds deploy hook: one unauthenticated POST. Its answer names the build, and says
`already_exists` when the hook's previous build was still queued or initializing (no new build:
that pending one will pick the change up, so the trigger follows it). With API credentials the
build is then watched (and can be cancelled) like any Workers build."""

from __future__ import annotations

from relay.core.targets.base import Build, Started
from relay.core.targets.workers_api import WorkersApi


class WorkersHook(WorkersApi):
    @property
    def needs_credentials(self) -> bool:
        return False

    def start(self) -> Started:
        assert self.config.deploy_hook is not None
        answer = self.platform.workers.trigger_deploy_hook(self.config.deploy_hook.reveal())
        if answer.build_uuid is None:
            return Started(None)
        build = Build(id=answer.build_uuid, stage=answer.status, created_on=answer.created_on)
        return Started(build, already_exists=bool(answer.already_exists))

    def check(self) -> list[str]:
        return []
