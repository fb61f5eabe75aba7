"""route: which queue an interaction goes to, with what priority and SLA (a local activity)."""

from __future__ import annotations

from datetime import timedelta

from temporalio import activity

from switchboard.contract import ROUTE, Channel, Route, RouteInput

# Defaults until routing rules are configurable: the queue of each channel, its priority
# (1 is most urgent) and the first-response target.
DEFAULT_ROUTES: dict[Channel, tuple[str, int, timedelta]] = {
    Channel.VOICE: ("voice", 1, timedelta(minutes=15)),
    Channel.SMS: ("messaging", 2, timedelta(hours=1)),
    Channel.PUSH: ("messaging", 3, timedelta(hours=4)),
    Channel.EMAIL: ("email", 3, timedelta(hours=8)),
}


@activity.defn(name=ROUTE)
def route(inp: RouteInput) -> Route:
    queue, priority, first_response = DEFAULT_ROUTES[inp.channel]
    return Route(queue=queue, priority=priority, sla_due_at=inp.received_at + first_response)
