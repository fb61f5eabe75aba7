"""Workflow definitions: orchestration only, no I/O.

Imported whole, so that every arrow between the packages is a plain import. The workflows
that run per message are not sandboxed: this package is imported once per worker. A sandboxed
run (export, retention) re-imports it, with the modules it never runs there passed through
(`workflows.sandbox`).
"""

from workflows.conversation import ConversationWorkflow
from workflows.delivery import DeliveryWorkflow
from workflows.export import ExportWorkflow
from workflows.interaction import InteractionWorkflow
from workflows.retention import RetentionWorkflow
from workflows.sandbox import RUNNER

__all__ = [
    "RUNNER",
    "ConversationWorkflow",
    "DeliveryWorkflow",
    "ExportWorkflow",
    "InteractionWorkflow",
    "RetentionWorkflow",
]
