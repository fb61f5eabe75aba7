"""An experiment, never to be merged: `bench.message_cpu` with the SDK visiting payloads once.

temporalio 1.35 walks every workflow activation three times before the workflow sees it (codec
decode, and two passes for external storage) and every completion three times after, even with
no external storage configured, which is Switchboard's case. This replaces those walks with the
codec's one when `DataConverter.external_storage` is None, to measure what the two idle passes
cost a message. Run from the checkout:

    PYTHONPATH=src:. .venv/bin/python bench/experiments/visit_once.py --count 1000

Its figures are in `bench/README.md`, log entry "2026-12-02 (later)".
"""

from __future__ import annotations

import runpy
import sys
from collections.abc import Callable, Coroutine
from typing import Any

import temporalio.bridge.worker as bridge
from temporalio.converter._extstore import StorageOperationMetrics
from temporalio.worker._command_aware_visitor import CommandAwarePayloadVisitor

Walk = Callable[..., Coroutine[Any, Any, StorageOperationMetrics]]


def one_walk(stock: Walk, codec_step: str) -> Walk:
    """The SDK's `stock` walks, or only the codec's (`codec_step` of the data converter)."""

    async def walk(message: Any, data_converter: Any, **options: Any) -> StorageOperationMetrics:
        if data_converter.external_storage is not None:
            return await stock(message, data_converter, **options)
        # The SDK passes `decode_headers` to one, `encode_headers` to the other.
        headers = options.get("decode_headers", options.get("encode_headers"))
        visitor = CommandAwarePayloadVisitor(skip_search_attributes=True, skip_headers=not headers)
        await visitor.visit(bridge._Visitor(getattr(data_converter, codec_step)), message)
        return StorageOperationMetrics()

    return walk


if __name__ == "__main__":
    bridge.decode_activation = one_walk(bridge.decode_activation, "_decode_payload_sequence")
    bridge.encode_completion = one_walk(bridge.encode_completion, "_encode_payload_sequence")
    sys.argv = ["bench.message_cpu", *sys.argv[1:]]
    runpy.run_module("bench.message_cpu", run_name="__main__")
