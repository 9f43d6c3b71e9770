"""The Cloudflare Pages API: trigger, watch, list and delete deployments, call a deploy hook.

Calls go through the shared v4 client (`relay.core.cloudflare.client`), which turns every
failure into a `CloudflareError` and takes each request from the shared API budget.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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
