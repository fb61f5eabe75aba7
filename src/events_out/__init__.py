"""Events out: the relay that turns the store's new events into deliveries, and the deliverer
that sends what is due to the subscribers' receivers (docs/events-out.md).

Each worker process runs them beside its Temporal workers (`runtime.worker`); they import only
the core, so nothing but the composition root starts them.
"""

from events_out.deliverer import Deliverer
from events_out.relay import EventRelay

__all__ = ["Deliverer", "EventRelay"]
