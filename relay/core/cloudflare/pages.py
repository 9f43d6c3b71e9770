"""The Cloudflare Pages API: trigger, watch, list and delete deployments, call a deploy hook,
read a deployment's build log and roll production back to an earlier deployment.

Calls go through the shared v4 client (`relay.core.cloudflare.client`), which turns every
failure into a `CloudflareError` and takes each request from the shared API budget. Log lines
are the `LogLine` of the Workers Builds client, so both kinds of target show logs alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from relay.core.cloudflare.answers import LogLine, epoch_seconds, parse_log_lines
from relay.core.cloudflare.client import CloudflareClient

#: Cloudflare's documented maximum (and default) page size for listing deployments
PAGE_SIZE = 25


@dataclass(frozen=True)
class Deployment:
    id: str
    url: str | None
    environment: str | None
    branch: str | None
    stage: str | None
    stage_status: str | None
    created_on: str | None
    aliases: tuple[str, ...] = ()
    is_skipped: bool = False
    skip_reason: str | None = None

    @classmethod
    def from_api(cls, doc: dict[str, Any]) -> Deployment:
        stage = doc.get("latest_stage") or {}
        trigger = doc.get("deployment_trigger") or {}
        metadata = trigger.get("metadata") or {}
        return cls(
            id=str(doc.get("id", "")),
            url=doc.get("url"),
            environment=doc.get("environment"),
            branch=metadata.get("branch"),
            stage=stage.get("name"),
            stage_status=stage.get("status"),
            created_on=doc.get("created_on"),
            aliases=tuple(doc.get("aliases") or ()),
            is_skipped=bool(doc.get("is_skipped")),
            skip_reason=doc.get("skip_reason"),
        )

    @property
    def outcome(self) -> str | None:
        """success / failure / canceled / skipped once final; None while in progress.

        Decided from `latest_stage` only, as Cloudflare's own tools do.
        """
        if self.is_skipped:
            return "skipped"
        if self.stage_status in {"failure", "canceled"}:
            return self.stage_status
        if self.stage == "deploy" and self.stage_status == "success":
            return "success"
        return None


class Pages:
    """The Pages calls the relay makes, over one `CloudflareClient`."""

    def __init__(self, client: CloudflareClient) -> None:
        self.client = client

    def close(self) -> None:
        self.client.close()

    def _project(self, project: str) -> str:
        return self.client.account(f"/pages/projects/{project}")

    def create_deployment(self, project: str, branch: str | None) -> Deployment:
        """POST …/deployments as multipart/form-data with `branch` (none: production branch)."""
        form = {"files": {"branch": (None, branch)}} if branch else {}
        result = self.client.call(
            "POST",
            self._project(project) + "/deployments",
            what=f"create deployment of {project}",
            **form,
        )
        return Deployment.from_api(result)

    def get_deployment(self, project: str, deployment_id: str) -> Deployment:
        result = self.client.call(
            "GET",
            f"{self._project(project)}/deployments/{deployment_id}",
            what=f"get deployment {deployment_id} of {project}",
        )
        return Deployment.from_api(result)

    def list_deployments(
        self, project: str, *, page: int = 1, env: str | None = None
    ) -> tuple[list[Deployment], dict[str, Any]]:
        params: dict[str, Any] = {"page": page, "per_page": PAGE_SIZE}
        if env:
            params["env"] = env
        body = self.client.request(
            "GET",
            self._project(project) + "/deployments",
            what=f"list deployments of {project}",
            params=params,
        )
        return [Deployment.from_api(d) for d in body.get("result") or []], body.get(
            "result_info"
        ) or {}

    def delete_deployment(self, project: str, deployment_id: str, *, force: bool = False) -> None:
        self.client.call(
            "DELETE",
            f"{self._project(project)}/deployments/{deployment_id}",
            what=f"delete deployment {deployment_id} of {project}",
            params={"force": "true"} if force else None,
        )

    def get_project(self, project: str) -> dict[str, Any]:
        result = self.client.call("GET", self._project(project), what=f"get project {project}")
        return result if isinstance(result, dict) else {}

    def trigger_hook(self, url: str) -> str | None:
        """POST a deploy hook URL (no auth: the URL is the secret); the new deployment's id."""
        result = self.client.call("POST", url, what="call the deploy hook", authenticated=False)
        return str(result["id"]) if isinstance(result, dict) and result.get("id") else None

    def rollback(self, project: str, deployment_id: str) -> Deployment:
        """POST …/deployments/{d}/rollback, no body (Pages §2.6): deployment `d` becomes the
        live production deployment again. Cloudflare: "You can only rollback to successful
        builds on production"; `previous_production` picks such a target."""
        result = self.client.call(
            "POST",
            f"{self._project(project)}/deployments/{deployment_id}/rollback",
            what=f"roll {project} back to deployment {deployment_id}",
        )
        doc = result if isinstance(result, dict) else {}
        return Deployment.from_api(doc or {"id": deployment_id})

    def logs(self, project: str, deployment_id: str) -> list[LogLine]:
        """The deployment's build log (Pages §2.7: `result.data[] {ts, line}`, one answer, no
        paging), timestamps as float seconds."""
        result = self.client.call(
            "GET",
            f"{self._project(project)}/deployments/{deployment_id}/history/logs",
            what=f"read the logs of deployment {deployment_id} of {project}",
        )
        data = result.get("data") if isinstance(result, dict) else None
        return parse_log_lines(data if isinstance(data, list) else [])

    def tail(self, project: str, deployment_id: str, n: int) -> list[str]:
        """The text of the last `n` log lines."""
        if n <= 0:
            return []
        return [line.text for line in self.logs(project, deployment_id)[-n:]]

    def production_deployments(self, project: str) -> list[Deployment]:
        """The newest production deployments (`env=production`, one page of `PAGE_SIZE`),
        newest first: sorted here too, as the API's order is only observed (Pages §1.3)."""
        deployments, _ = self.list_deployments(project, env="production")
        return newest_first(deployments)


def newest_first(deployments: list[Deployment]) -> list[Deployment]:
    """By `created_on`, newest first; unreadable times last; ties keep their order."""

    def key(deployment: Deployment) -> tuple[bool, float]:
        created = epoch_seconds(deployment.created_on)
        return (created is None, -(created or 0.0))

    return sorted(deployments, key=key)


def previous_production(deployments: list[Deployment], live_id: str | None) -> Deployment | None:
    """The deployment to roll back to: the newest successful production deployment other than
    the live one (`live_id`, the project's `canonical_deployment.id`). When the live one is in
    the list, only deployments older than it count, so that after a rollback the next one goes
    further back instead of forward again to the deployment rolled away from."""
    ordered = newest_first(deployments)
    ids = [d.id for d in ordered]
    if live_id is not None and live_id in ids:
        ordered = ordered[ids.index(live_id) + 1 :]
    for deployment in ordered:
        if (
            deployment.id != live_id
            and deployment.environment == "production"
            and deployment.outcome == "success"
        ):
            return deployment
    return None
