"""route: which queue an interaction goes to, with what priority and SLA (a local activity)."""

from __future__ import annotations

from temporalio import activity

from switchboard.contract import ROUTE, Route, RouteInput
from switchboard.routing import Rules


class RouteActivities:
    """Built once in the worker with the routing rules it loaded (and checked) at start."""

    def __init__(self, rules: Rules) -> None:
        self.rules = rules

    @activity.defn(name=ROUTE)
    def route(self, inp: RouteInput) -> Route:
        content = inp.content
        return self.rules.route(
            inp.channel,
            inp.received_at,
            text=(content.text or "") if content else "",
            subject=(content.subject or "") if content else "",
            from_address=inp.from_address,
        )
