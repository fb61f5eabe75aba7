"""The operational store (SQLAlchemy Core): SQLite by default, PostgreSQL by URL."""

from switchboard.store.audit import AuditEntry, AuditLog
from switchboard.store.conversations import ConversationStore
from switchboard.store.keys import ApiKeys, KeyInfo, KeyNameTaken
from switchboard.store.store import Store

__all__ = [
    "ApiKeys",
    "AuditEntry",
    "AuditLog",
    "ConversationStore",
    "KeyInfo",
    "KeyNameTaken",
    "Store",
]
