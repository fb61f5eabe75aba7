"""The sandbox every worker and replayer runs the sandboxed workflows in (export, retention).

Passed through whole, not re-imported per workflow run: the contract (plain data; re-importing
it would cost time and break the resolution of its type hints), and the modules of this package
that a sandboxed run imports with it but never runs there (the unsandboxed workflows, the patch
ledger, the policies: definitions and constants). Measured with `bench/sandboxed_run.py` on
2 shared cores: 25-32 ms of worker CPU per sandboxed run, as when this package imported each
module on first use (21-28 ms); re-importing these modules in every run made it 38-42 ms.
"""

from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

RUNNER = SandboxedWorkflowRunner(
    restrictions=SandboxRestrictions.default.with_passthrough_modules(
        "switchboard.contract",
        "workflows.conversation",
        "workflows.interaction",
        "workflows.patches",
        "workflows.policies",
        "workflows.sandbox",
    )
)
