"""Starts and signals that come without the input their handler requires are refused.

A payload that is there but not sealed with a current key is refused by the worker's codec
(`switchboard.codec`); one that is not there at all never reaches a codec. Without this, a
signal with no argument would make its handler raise `TypeError`, failing the workflow task
again on every retry: a conversation held still by whoever can reach Temporal. So a signal
without its input is dropped (logged), and a start without its input fails the workflow at
once. Updates and queries need nothing here: an update whose validator cannot be called is
rejected, a query that raises fails only itself.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ApplicationError
from temporalio.worker import (
    ExecuteWorkflowInput,
    HandleSignalInput,
    Interceptor,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
)

from switchboard.converter import PAYLOAD_REFUSED

_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)


def _required(fn: Callable[..., Any], bound: bool) -> int:
    """How many positional arguments `fn` cannot do without (`self` not counted)."""
    params = [
        p
        for p in inspect.signature(fn).parameters.values()
        if p.kind in _POSITIONAL and p.default is inspect.Parameter.empty
    ]
    return len(params) - (0 if bound else 1)


class _Inbound(WorkflowInboundInterceptor):
    async def execute_workflow(self, input: ExecuteWorkflowInput) -> Any:
        if len(input.args) < _required(input.run_fn, bound=False):
            raise ApplicationError(
                "workflow started without its input", type=PAYLOAD_REFUSED, non_retryable=True
            )
        return await super().execute_workflow(input)

    async def handle_signal(self, input: HandleSignalInput) -> None:
        handler = workflow.get_signal_handler(input.signal)
        if handler is not None and len(input.args) < _required(handler, bound=True):
            workflow.logger.warning("signal %s without its input dropped", input.signal)
            return
        await super().handle_signal(input)


class InputsRequired(Interceptor):
    """The worker interceptor (`runtime.worker` adds it to every worker)."""

    def workflow_interceptor_class(
        self, input: WorkflowInterceptorClassInput
    ) -> type[WorkflowInboundInterceptor] | None:
        return _Inbound
