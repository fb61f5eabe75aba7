"""The sandbox every worker and replayer runs these workflows in.

The contract is passed through whole: its dataclasses are plain data, and re-importing them
per workflow would cost time and break the resolution of their type hints.
"""

from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

RUNNER = SandboxedWorkflowRunner(
    restrictions=SandboxRestrictions.default.with_passthrough_modules("switchboard.contract")
)
