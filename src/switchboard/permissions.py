"""Who may do what: the one permission table the routes declare against and the docs render."""

from __future__ import annotations

from enum import StrEnum


class Permission(StrEnum):
    READ = "read"
    CONVERSATIONS_ACT = "conversations:act"
    FAILURES_READ = "failures:read"
    FAILURES_RETRY = "failures:retry"
    IDENTITIES_LINK = "identities:link"
    CUSTOMERS_MERGE = "customers:merge"
    KEYS_MANAGE = "keys:manage"
    CUSTOMERS_ERASE = "customers:erase"
    SUBSCRIPTIONS_MANAGE = "subscriptions:manage"
    AUDIT_READ = "audit:read"
    PAYLOADS_DECODE = "payloads:decode"


DESCRIPTIONS: dict[Permission, str] = {
    Permission.READ: "read customers, timelines, interactions, conversations, metrics",
    Permission.CONVERSATIONS_ACT: "assign, reply to, resolve and reopen conversations",
    Permission.FAILURES_READ: "list events that failed processing",
    Permission.FAILURES_RETRY: "retry failed events",
    Permission.IDENTITIES_LINK: "link a phone number, email address or push user to a customer",
    Permission.CUSTOMERS_MERGE: "merge and split customers, dismiss merge suggestions",
    Permission.KEYS_MANAGE: "create, list and revoke API keys",
    Permission.CUSTOMERS_ERASE: "erase a customer",
    Permission.SUBSCRIPTIONS_MANAGE: "manage outbound subscriptions",
    Permission.AUDIT_READ: "read the audit log",
    Permission.PAYLOADS_DECODE: "decode encrypted payloads (Temporal UI's codec)",
}


class Role(StrEnum):
    """Ordered from least to most powerful; each role may do what the one before it may."""

    ANALYST = "analyst"
    AGENT = "agent"
    ADMIN = "admin"


_ANALYST = frozenset({Permission.READ})
_AGENT = _ANALYST | {
    Permission.CONVERSATIONS_ACT,
    Permission.FAILURES_READ,
    Permission.CUSTOMERS_MERGE,
}

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ANALYST: _ANALYST,
    Role.AGENT: _AGENT,
    Role.ADMIN: frozenset(Permission),
}


def allows(role: Role, permission: Permission) -> bool:
    return permission in ROLE_PERMISSIONS[role]


def roles_table() -> str:
    """The roles table in Markdown, as docs/security.md shows it (a test keeps them equal)."""
    lines = [
        "| permission | what it allows | " + " | ".join(r.value for r in Role) + " |",
        "|---|---|" + "---|" * len(Role),
    ]
    for permission in Permission:
        marks = " | ".join("yes" if allows(r, permission) else "" for r in Role)
        lines.append(f"| `{permission}` | {DESCRIPTIONS[permission]} | {marks} |")
    return "\n".join(lines) + "\n"
