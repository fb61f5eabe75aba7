"""Workflow definitions: orchestration only, no I/O."""

from workflows.conversation import ConversationWorkflow
from workflows.export import ExportWorkflow, RetentionWorkflow
from workflows.interaction import InteractionWorkflow
from workflows.sandbox import RUNNER

__all__ = [
    "RUNNER",
    "ConversationWorkflow",
    "ExportWorkflow",
    "InteractionWorkflow",
    "RetentionWorkflow",
]
