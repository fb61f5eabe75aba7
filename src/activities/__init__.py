"""Activity implementations: everything of the pipeline that computes or touches the world."""

from activities.conversations import ConversationActivities
from activities.normalize import normalize
from activities.route import RouteActivities
from activities.store import StoreActivities

__all__ = ["ConversationActivities", "RouteActivities", "StoreActivities", "normalize"]
