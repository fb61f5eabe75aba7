"""Rate limits per credential and route group: fixed windows, answered 429 over the limit.

A route's group follows from the permission it declares (`require`), so a new route is limited
by declaring who may call it. On PostgreSQL the counters are rows in the store, shared by every
ingress replica; on SQLite (one machine, usually one process) they are in this process.
Headers per the IETF draft (httpapi-ratelimit-headers): `RateLimit-Policy` and `RateLimit`.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from fastapi import Request, Response
from sqlalchemy import Engine

from ingress.problems import ProblemError
from switchboard.permissions import Permission
from switchboard.settings import IngressSettings
from switchboard.store import rate_limits

RATE_LIMITED = "urn:switchboard:problem:rate-limited"


class Group(StrEnum):
    READS = "reads"
    ACTIONS = "actions"
    ADMIN = "admin"


GROUP_OF: dict[Permission, Group] = {
    Permission.READ: Group.READS,
    Permission.FAILURES_READ: Group.READS,
    Permission.CONVERSATIONS_ACT: Group.ACTIONS,
    Permission.IDENTITIES_LINK: Group.ACTIONS,
    # Merges, splits and dismissed suggestions are an agent's work, at an agent's pace.
    Permission.CUSTOMERS_MERGE: Group.ACTIONS,
    # Temporal UI decodes every payload of a page it shows: a reader's pace, not an admin's.
    Permission.PAYLOADS_DECODE: Group.READS,
}  # every other permission is an admin's


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    limit: int
    remaining: int
    reset_s: int
    group: Group

    def headers(self, window_s: int) -> dict[str, str]:
        name = f'"{self.group}"'
        return {
            "RateLimit-Policy": f"{name};q={self.limit};w={window_s}",
            "RateLimit": f"{name};r={self.remaining};t={self.reset_s}",
        }


class RateLimiter:
    """Counts each credential's requests per group and window."""

    def __init__(self, settings: IngressSettings, engine: Engine) -> None:
        self.window_s = settings.rate_limit_window_s
        self.limits = {
            Group.READS: settings.rate_limit_reads_per_minute,
            Group.ACTIONS: settings.rate_limit_actions_per_minute,
            Group.ADMIN: settings.rate_limit_admin_per_minute,
        }
        self.engine = engine
        self.shared = engine.dialect.name == "postgresql"
        self._counts: Counter[tuple[str, Group]] = Counter()
        self._window = -1
        self._lock = threading.Lock()

    def _count(self, actor: str, group: Group, window: int) -> int:
        if self.shared:
            start = datetime.fromtimestamp(window * self.window_s, UTC)
            return rate_limits.count(self.engine, actor, group, start)
        with self._lock:
            if window != self._window:  # a new window: the past one is done with
                self._counts.clear()
                self._window = window
            self._counts[(actor, group)] += 1
            return self._counts[(actor, group)]

    def check(self, actor: str, permission: Permission, now: float) -> Verdict | None:
        """Count this request; None when its group has no limit."""
        group = GROUP_OF.get(permission, Group.ADMIN)
        limit = self.limits[group]
        if limit == 0:
            return None
        window, elapsed = divmod(int(now), self.window_s)
        used = self._count(actor, group, window)
        return Verdict(used <= limit, limit, max(limit - used, 0), self.window_s - elapsed, group)


def enforce(request: Request, response: Response, actor: str, permission: Permission) -> None:
    """429 over the limit; the RateLimit headers on every answer of a limited group."""
    limiter: RateLimiter = request.app.state.rate_limiter
    verdict = limiter.check(actor, permission, request.app.state.clock())
    if verdict is None:
        return
    headers = verdict.headers(limiter.window_s)
    if not verdict.allowed:
        raise ProblemError(
            429,
            f"over the {verdict.group} limit of {verdict.limit} requests per "
            f"{limiter.window_s} s for this credential",
            RATE_LIMITED,
            headers={**headers, "Retry-After": str(verdict.reset_s)},
        )
    response.headers.update(headers)
