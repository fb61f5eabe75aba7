"""Workflow definitions: orchestration only, no I/O."""

from workflows.interaction import InteractionWorkflow

__all__ = ["InteractionWorkflow"]
