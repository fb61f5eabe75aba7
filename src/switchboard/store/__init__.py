"""The operational store (SQLAlchemy Core): SQLite by default, PostgreSQL by URL."""

from switchboard.store.conversations import ConversationStore
from switchboard.store.store import Store

__all__ = ["ConversationStore", "Store"]
