"""Workflow definitions: orchestration only, no I/O.

The names below are imported on first use: the sandbox re-imports a workflow's module (and
so this package) for every new workflow run, and an InteractionWorkflow should not pay for
importing the conversation and export workflows each time.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from workflows.conversation import ConversationWorkflow
    from workflows.export import ExportWorkflow
    from workflows.interaction import InteractionWorkflow
    from workflows.retention import RetentionWorkflow
    from workflows.sandbox import RUNNER

_MODULES = {
    "RUNNER": "workflows.sandbox",
    "ConversationWorkflow": "workflows.conversation",
    "ExportWorkflow": "workflows.export",
    "RetentionWorkflow": "workflows.retention",
    "InteractionWorkflow": "workflows.interaction",
}

__all__ = [
    "RUNNER",
    "ConversationWorkflow",
    "ExportWorkflow",
    "InteractionWorkflow",
    "RetentionWorkflow",
]


def __getattr__(name: str) -> Any:
    if name not in _MODULES:
        raise AttributeError(f"module 'workflows' has no attribute {name!r}")
    return getattr(import_module(_MODULES[name]), name)
