"""The target seam (`relay.core.targets.base`) and the kind → module registry."""

from __future__ import annotations

from relay.core.build_settings import TargetKind, TargetSettings
from relay.core.exceptions import NotSupported
from relay.core.targets.base import Build, Platform, Started, Target
from relay.core.targets.pages_api import PagesApi
from relay.core.targets.pages_hook import PagesHook
from relay.core.targets.workers_api import WorkersApi
from relay.core.targets.workers_hook import WorkersHook

KINDS: dict[TargetKind, type[Target]] = {
    TargetKind.PAGES: PagesApi,
    TargetKind.PAGES_HOOK: PagesHook,
    TargetKind.WORKERS: WorkersApi,
    TargetKind.WORKERS_HOOK: WorkersHook,
}


def target_for(config: TargetSettings, platform: Platform) -> Target:
    return KINDS[config.kind](config, platform)


__all__ = ["KINDS", "Build", "NotSupported", "Platform", "Started", "Target", "target_for"]
