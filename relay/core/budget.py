"""Build budgets: at most N builds a day (rolling 24 h) or a month (calendar month, UTC).

`budget = "20/day"` on a target, `[cloudflare] budget_builds = "500/month"` for the account
(Cloudflare Pages Free allows 500 builds a month). Every claimed trigger is one build used
(`keys.builds_used`, `keys.BUILDS_USED`); retries of the same trigger are not counted again.
The claim (`lua/claim.lua`) holds a burst that would exceed a budget until the budget allows,
unless the burst was asked for with `--ignore-budget`; the build then still counts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

import redis

from relay.core import keys

DAY_MS = 86_400_000
#: usage older than this is trimmed (the longest window, a 31-day month, and a margin)
KEEP_MS = 32 * DAY_MS
_FORMAT = re.compile(r"^\s*([0-9]+)\s*/\s*(day|month)\s*$")
#: the share of a budget at which operators are told, once per window
WARN_AT = (80, 100)


@dataclass(frozen=True)
class BuildBudget:
    limit: int
    period: str  # "day" | "month"

    @classmethod
    def parse(cls, text: str) -> BuildBudget:
        match = _FORMAT.match(text) if text.isascii() else None
        if not match:
            raise ValueError(f'{text!r} is not a budget (e.g. "20/day" or "500/month")')
        limit = int(match[1])
        if limit < 1:
            raise ValueError("a budget allows at least 1 build")
        return cls(limit, match[2])

    def __str__(self) -> str:
        return f"{self.limit}/{self.period}"

    def window(self, now_ms: int) -> tuple[int, int | None]:
        """(start, reset): what counts is claimed at or after `start` (ms); a calendar month
        also resets at `reset` (the next month's first ms); a rolling day frees each build
        24 h after it (None)."""
        if self.period == "day":
            return now_ms - DAY_MS, None
        return month_bounds(now_ms)

    def window_id(self, now_ms: int) -> int:
        """Names the window, for telling operators once per window: the month's start, or the
        day's number for a rolling day."""
        return self.window(now_ms)[0] if self.period == "month" else now_ms // DAY_MS

    def to_lua(self, now_ms: int) -> list[int | str]:
        """What the claim script needs: [limit, period, start, reset or 0]."""
        start, reset = self.window(now_ms)
        return [self.limit, self.period, start, reset or 0]


def month_bounds(now_ms: int) -> tuple[int, int]:
    """The first ms of this calendar month (UTC) and of the next."""
    now = datetime.fromtimestamp(now_ms / 1000, tz=UTC)
    start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    following = (
        start.replace(year=start.year + 1, month=1)
        if start.month == 12
        else (start.replace(month=start.month + 1))
    )
    return round(start.timestamp() * 1000), round(following.timestamp() * 1000)


@dataclass(frozen=True)
class Usage:
    """How much of one budget is used now."""

    scope: str  # a target's name, or "*" for the account
    budget: BuildBudget
    used: int
    window_id: int
    #: when the next build is allowed again, if the budget is used up (ms)
    frees_at: int | None

    @property
    def percent(self) -> int:
        return min(999, self.used * 100 // self.budget.limit)

    @property
    def exhausted(self) -> bool:
        return self.used >= self.budget.limit

    def to_dict(self) -> dict[str, object]:
        return {
            "scope": self.scope,
            "budget": str(self.budget),
            "used": self.used,
            "limit": self.budget.limit,
            "percent": self.percent,
            "frees_at": self.frees_at,
        }


def usage(client: redis.Redis, scope: str, budget: BuildBudget, now_ms: int) -> Usage:
    """Read one budget's usage (`scope` "*": the account's)."""
    key = keys.BUILDS_USED if scope == "*" else keys.builds_used(scope)
    start, reset = budget.window(now_ms)
    used = int(client.zcount(key, start, "+inf"))
    frees_at: int | None = None
    if used >= budget.limit:
        if reset is not None:
            frees_at = reset
        else:
            # the build whose expiry brings the count under the limit
            oldest = client.zrangebyscore(
                key, start, "+inf", start=used - budget.limit, num=1, withscores=True
            )
            frees_at = int(oldest[0][1]) + DAY_MS if oldest else None
    return Usage(scope, budget, used, budget.window_id(now_ms), frees_at)
