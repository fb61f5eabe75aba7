"""Worker Versioning: each release is a version of one worker deployment, and Temporal routes
each execution to the version it belongs to.

A version is the deployment name (`SWITCHBOARD_DEPLOYMENT_NAME`) and a build id: by default a
hash of the workflow code (`code_build_id`: every module under `src/workflows`), so a release
that changes no workflow is the same version, and one that changes any is a new one.

Every workflow is `PINNED` (`deployment_config`): a run ends on the version it started on, so
a new release never replays an old interaction, export, retention or delivery and they need no
patch. The long-lived conversation continues as new onto a newer release (at its next task
when `promote` moved it, when it next wakes in a rolling release), so its patches live for
one run (`workflows.patches`).

New executions go to the deployment's current version. Who makes a version current:

- `switchboard up` (one version at a time, `promote`): once the new workers poll, each run
  still pinned to an older version is replayed against this code; if every one replays, they
  are moved (pinned) to the new version and it becomes current. If one does not, nothing is
  moved, the version is not made current, and `up` stops with a message naming the runs and
  the version they need (start the previous release until they end, then this one).
- the compose deployment (rolling, `promote_if_new`): a worker makes its version current once
  it polls, if that version was never current before; the old version's workers keep serving
  the runs pinned to it until Temporal reports it drained (`version_status`), then stop.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from google.protobuf.field_mask_pb2 import FieldMask
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.deployment.v1 import WorkerDeploymentVersion as VersionProto
from temporalio.api.enums.v1 import WorkerDeploymentVersionStatus
from temporalio.api.workflow.v1 import WorkflowExecutionOptions
from temporalio.api.workflowservice.v1 import (
    DescribeWorkerDeploymentVersionRequest,
    SetWorkerDeploymentCurrentVersionRequest,
    UpdateWorkflowExecutionOptionsRequest,
)
from temporalio.client import Client
from temporalio.common import (
    PinnedVersioningOverride,
    VersioningBehavior,
    WorkerDeploymentVersion,
)
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import Replayer, WorkerDeploymentConfig

import workflows
from switchboard.settings import WorkerSettings
from workflows import RUNNER

log = logging.getLogger(__name__)

Status = WorkerDeploymentVersionStatus


def code_build_id() -> str:
    """A hash of every workflow module's source: the build id of a release by default."""
    root = Path(workflows.__file__).parent
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def release_of(settings: WorkerSettings) -> WorkerDeploymentVersion:
    """This release's version: the configured build id, else the workflow code's hash."""
    return WorkerDeploymentVersion(settings.deployment_name, settings.build_id or code_build_id())


def deployment_config(version: WorkerDeploymentVersion) -> WorkerDeploymentConfig:
    """What a worker of `version` polls with: every workflow pinned. (Not declared on the
    workflows: an unversioned worker, the tests', may not send a versioning behaviour.)"""
    return WorkerDeploymentConfig(
        version=version,
        use_worker_versioning=True,
        default_versioning_behavior=VersioningBehavior.PINNED,
    )


def label(version: WorkerDeploymentVersion) -> str:
    """`name:build`, as the `TemporalWorkerDeploymentVersion` search attribute holds it."""
    return f"{version.deployment_name}:{version.build_id}"


class VersionRefused(RuntimeError):
    """Runs pinned to an older version do not replay on this one: it is not made current."""


@dataclass(frozen=True)
class InFlight:
    workflow_id: str
    run_id: str
    workflow_type: str
    version: str


async def _describe(
    client: Client, version: WorkerDeploymentVersion
) -> tuple[int, set[str]] | None:
    """The version's status (`WorkerDeploymentVersionStatus`) and the task queues polled for
    it; None while no worker of it polled."""
    try:
        described = await client.workflow_service.describe_worker_deployment_version(
            DescribeWorkerDeploymentVersionRequest(
                namespace=client.namespace,
                deployment_version=VersionProto(
                    deployment_name=version.deployment_name, build_id=version.build_id
                ),
            )
        )
    except RPCError as exc:
        if exc.status is RPCStatusCode.NOT_FOUND:
            return None
        raise
    queues = {queue.name for queue in described.version_task_queues}
    return int(described.worker_deployment_version_info.status), queues


async def version_status(client: Client, version: WorkerDeploymentVersion) -> int | None:
    """The version's status, None while no worker of it polled."""
    described = await _describe(client, version)
    return None if described is None else described[0]


async def wait_for_pollers(
    client: Client,
    version: WorkerDeploymentVersion,
    task_queues: Sequence[str] = (),
    timeout_s: float = 60.0,
) -> int:
    """Wait until workers of `version` polled (each of `task_queues`); the version's status."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while True:
        described = await _describe(client, version)
        if described is not None and described[1] >= set(task_queues):
            return described[0]
        if loop.time() > deadline:
            raise TimeoutError(f"no worker of version {label(version)} polled in {timeout_s:.0f}s")
        await asyncio.sleep(0.2)


async def set_current(
    client: Client, version: WorkerDeploymentVersion, ignore_missing_task_queues: bool = False
) -> None:
    await client.workflow_service.set_worker_deployment_current_version(
        SetWorkerDeploymentCurrentVersionRequest(
            namespace=client.namespace,
            deployment_name=version.deployment_name,
            build_id=version.build_id,
            identity="switchboard",
            ignore_missing_task_queues=ignore_missing_task_queues,
        )
    )


async def in_flight_elsewhere(client: Client, version: WorkerDeploymentVersion) -> list[InFlight]:
    """Running executions pinned to another version of `version`'s deployment."""
    query = (
        f"TemporalWorkerDeployment = '{version.deployment_name}' "
        f"AND TemporalWorkerDeploymentVersion != '{label(version)}' "
        "AND TemporalWorkflowVersioningBehavior = 'Pinned' AND ExecutionStatus = 'Running'"
    )
    found = []
    async for execution in client.list_workflows(query):
        pinned = execution.search_attributes.get("TemporalWorkerDeploymentVersion") or ["?"]
        found.append(
            InFlight(execution.id, execution.run_id or "", execution.workflow_type, str(pinned[0]))
        )
    return found


async def unversioned(client: Client, task_queues: Sequence[str]) -> list[InFlight]:
    """Running executions on `task_queues` that no versioned worker ran yet (started before
    Worker Versioning): they move to the current version on their next task, and replay."""
    queues = " OR ".join(f"TaskQueue = '{queue}'" for queue in task_queues)
    query = (
        f"TemporalWorkerDeploymentVersion IS NULL AND ExecutionStatus = 'Running' AND ({queues})"
    )
    return [
        InFlight(execution.id, execution.run_id or "", execution.workflow_type, "unversioned")
        async for execution in client.list_workflows(query)
    ]


async def _replays(
    client: Client, runs: Sequence[InFlight], workflows_: Sequence[type]
) -> list[str]:
    """Replay each run's history on this code; the failures, one line each."""
    replayer = Replayer(
        workflows=workflows_, workflow_runner=RUNNER, data_converter=client.data_converter
    )
    failures = []
    for run in runs:
        history = await client.get_workflow_handle(
            run.workflow_id, run_id=run.run_id
        ).fetch_history()
        result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
        if result.replay_failure is not None:
            reason = str(result.replay_failure).splitlines()[0]
            failures.append(f"{run.workflow_type} {run.workflow_id} ({run.version}): {reason}")
    return failures


async def _pin(client: Client, run: InFlight, version: WorkerDeploymentVersion) -> None:
    override = PinnedVersioningOverride(version)._to_proto()
    await client.workflow_service.update_workflow_execution_options(
        UpdateWorkflowExecutionOptionsRequest(
            namespace=client.namespace,
            workflow_execution=WorkflowExecution(workflow_id=run.workflow_id, run_id=run.run_id),
            workflow_execution_options=WorkflowExecutionOptions(versioning_override=override),
            update_mask=FieldMask(paths=["versioning_override"]),
            identity="switchboard",
        )
    )


async def promote(
    client: Client,
    version: WorkerDeploymentVersion,
    workflows_: Sequence[type],
    task_queues: Sequence[str],
) -> list[InFlight]:
    """`switchboard up`'s release: move the older versions' running runs here if every one
    replays on this code, then make `version` current; the runs moved. The unversioned runs
    of `task_queues` (from before Worker Versioning) must replay too: they follow the current
    version by themselves. Raises `VersionRefused` (nothing moved, nothing made current) if
    one does not replay."""
    await wait_for_pollers(client, version, task_queues)
    runs = await in_flight_elsewhere(client, version)
    moving = await unversioned(client, task_queues) if task_queues else []
    failures = await _replays(client, [*runs, *moving], workflows_)
    if failures:
        versions = sorted({run.version for run in [*runs, *moving]})
        raise VersionRefused(
            f"{len(failures)} running workflow(s) of version {', '.join(versions)} do not replay "
            f"on this release ({label(version)}); run the previous release until they end "
            '(`temporal workflow count --query "TemporalWorkerDeploymentVersion != '
            f"'{label(version)}' AND ExecutionStatus = 'Running'\"` says 0), then this one:\n"
            + "\n".join(failures[:10])
        )
    for run in runs:
        await _pin(client, run, version)
    await set_current(client, version)
    if runs:
        log.info("moved %d running workflow(s) to version %s", len(runs), label(version))
    log.info("version %s is current", label(version))
    return runs


async def promote_if_new(client: Client, version: WorkerDeploymentVersion) -> bool:
    """The rolling release's step: make `version` current once its worker polls, if it was
    never current (a draining old worker restarting never takes the deployment back)."""
    try:
        status = await wait_for_pollers(client, version)
    except (RPCError, TimeoutError) as exc:
        log.warning("version %s not made current: %s", label(version), exc)
        return False
    if status != Status.WORKER_DEPLOYMENT_VERSION_STATUS_INACTIVE:
        return False
    # The other role's workers (intake, analytics) of this version may not poll yet: their
    # task queues' new runs wait for them.
    await set_current(client, version, ignore_missing_task_queues=True)
    log.info("version %s is current", label(version))
    return True
