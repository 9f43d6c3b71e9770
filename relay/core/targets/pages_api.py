"""A Pages project built through the API: `POST …/deployments` with the branch, watched by its
`latest_stage`, logs from `…/history/logs`, rollback to an earlier production deployment."""

from __future__ import annotations

from relay.core.cloudflare.answers import LogLine
from relay.core.cloudflare.pages import Deployment, previous_production
from relay.core.exceptions import CloudflareError, NotSupported
from relay.core.records import TriggerStatus
from relay.core.targets.base import Build, Started, Target


def from_deployment(deployment: Deployment) -> Build:
    outcome = deployment.outcome
    return Build(
        id=deployment.id,
        outcome=TriggerStatus(outcome) if outcome else None,
        stage=deployment.stage,
        stage_status=deployment.stage_status,
        url=deployment.url,
        environment=deployment.environment,
        created_on=deployment.created_on,
        skip_reason=deployment.skip_reason,
    )


class PagesApi(Target):
    @property
    def project(self) -> str:
        if self.config.project is None:
            raise NotSupported(f"{self.describe()}: no Pages project is configured (project =)")
        return self.config.project

    @property
    def can_rollback(self) -> bool:
        return self.config.project is not None and self.platform.has_credentials

    def start(self) -> Started:
        deployment = self.platform.pages.create_deployment(self.project, self.config.branch)
        return Started(from_deployment(deployment))

    def build(self, build_id: str) -> Build:
        return from_deployment(self.platform.pages.get_deployment(self.project, build_id))

    def logs(self, build_id: str) -> list[LogLine]:
        return self.platform.pages.logs(self.project, build_id)

    def rollback_target(self, to: str | None) -> Build:
        pages = self.platform.pages
        if to is not None:
            chosen = pages.get_deployment(self.project, to)
            if chosen.environment != "production" or chosen.outcome != "success":
                raise NotSupported(
                    f"deployment {to} of {self.project} is not a successful production "
                    "deployment; Cloudflare rolls back to those only"
                )
            return from_deployment(chosen)
        live = (pages.get_project(self.project).get("canonical_deployment") or {}).get("id")
        previous = previous_production(pages.production_deployments(self.project), live)
        if previous is None:
            raise NotSupported(
                f"{self.project} has no earlier successful production deployment to roll back to"
            )
        return from_deployment(previous)

    def rollback(self, to: str) -> Build:
        return from_deployment(self.platform.pages.rollback(self.project, to))

    def check(self) -> list[str]:
        try:
            self.platform.pages.get_project(self.project)
        except CloudflareError as exc:
            return [f"targets.{self.name}: {exc}"]
        return []
