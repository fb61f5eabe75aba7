"""ConversationWorkflow, by its seams: the workflow (threading, recording, the run loop), the
conversation's state and events, its timers, and the agent's actions."""

from workflows.conversation.workflow import ConversationWorkflow

__all__ = ["ConversationWorkflow"]
