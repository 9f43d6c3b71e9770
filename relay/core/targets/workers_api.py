"""A Worker built by Workers Builds: its build trigger for the branch is looked up (the Worker's
tag, then the trigger whose branch rules match; both cached), started with
`POST …/builds/triggers/{uuid}/builds`, watched to `stopped`, cancelled with `PUT …/cancel`.
Its log is every cursor page of `…/builds/{uuid}/logs`. Prune and rollback are Pages features:
Workers keeps versions, which the relay does not delete."""

from __future__ import annotations

from relay.core.cloudflare.answers import LogLine
from relay.core.cloudflare.workers_objects import Build as WorkersBuild
from relay.core.exceptions import CloudflareError
from relay.core.targets.base import Build, Started, Target


def from_workers_build(build: WorkersBuild, version: str | None = None) -> Build:
    return Build(
        id=build.build_uuid,
        outcome=build.outcome_status,
        stage=build.status,
        stage_status=build.outcome,
        environment="preview" if build.preview else "production",
        created_on=build.created_on,
        seconds=build.duration,
        commit=build.commit_hash,
        version=version,
    )


class WorkersApi(Target):
    @property
    def can_cancel(self) -> bool:
        return self.platform.has_credentials

    def start(self) -> Started:
        assert self.config.worker is not None and self.config.branch is not None
        started = self.platform.workers.deploy(self.config.worker, self.config.branch)
        return Started(Build(id=started.build_uuid, stage="queued", created_on=started.created_on))

    def build(self, build_id: str) -> Build:
        build = self.platform.workers.build(build_id)
        return from_workers_build(build, self._version(build))

    def _version(self, build: WorkersBuild) -> str | None:
        """The version a successful build deployed: looked up once it stopped, best effort
        (the outcome is recorded whatever this finds)."""
        if self.config.worker is None or not build.succeeded:
            return None
        try:
            return self.platform.workers.version_of(self.config.worker, build)
        except CloudflareError:
            return None

    def cancel(self, build_id: str) -> Build:
        self.platform.workers.cancel(build_id)
        return self.build(build_id)

    def logs(self, build_id: str) -> list[LogLine]:
        return self.platform.workers.logs(build_id)

    def check(self) -> list[str]:
        worker, branch = self.config.worker, self.config.branch
        if worker is None or branch is None:
            return []
        workers = self.platform.workers
        key = f"targets.{self.name}"
        try:
            tag = workers.worker_tag(worker)
            workers.check_access(tag)
            if workers.trigger_for(tag, branch) is None:
                return [
                    f"{key}: Worker {worker!r} has no Workers Builds trigger for branch "
                    f"{branch!r} (add one under Settings → Builds)"
                ]
        except CloudflareError as exc:
            return [f"{key}: {exc}"]
        return []
