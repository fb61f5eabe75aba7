"""The data contract: interactions, conversations, and the typed inputs and results of the
pipeline's workflows and activities.

Imported by workflow code inside Temporal's sandbox (passed through), so it uses only the
standard library: plain dataclasses, put on the wire as JSON by `switchboard.converter`. Their
annotations are real types, not strings (no `from __future__ import annotations`), so any
converter can resolve them without evaluating strings (Temporal's default one did so on every
conversion: a quarter of the time to decode a workflow's input).
"""

from switchboard.contract._conversation import *  # noqa: F403
from switchboard.contract._conversation import __all__ as _conversation_all
from switchboard.contract._events import *  # noqa: F403
from switchboard.contract._events import __all__ as _events_all
from switchboard.contract._export import *  # noqa: F403
from switchboard.contract._export import __all__ as _export_all
from switchboard.contract._interaction import *  # noqa: F403
from switchboard.contract._interaction import __all__ as _interaction_all
from switchboard.contract._refusals import *  # noqa: F403
from switchboard.contract._refusals import __all__ as _refusals_all

__all__ = [*_interaction_all, *_conversation_all, *_export_all, *_events_all, *_refusals_all]
