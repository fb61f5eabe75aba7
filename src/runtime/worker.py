"""The worker: the composition root that wires the store into activities and runs workflows."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from importlib.metadata import version
from typing import TYPE_CHECKING, Any

import httpx
from opentelemetry.sdk.trace import TracerProvider
from temporalio.client import Client
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.service import RPCError
from temporalio.worker import Worker, WorkerDeploymentConfig

from activities import ConversationActivities, RouteActivities, StoreActivities, normalize
from activities.deliver import DeliveryActivities
from activities.media import MediaActivities
from activities.reply import ReplyActivities, Senders
from events_out.deliverer import Deliverer
from events_out.relay import EventRelay
from runtime import schedules, versions
from runtime.inputs_required import InputsRequired
from switchboard import routing, search_attributes, telemetry, twilio_files
from switchboard.blobs import BlobStore
from switchboard.codec import Keyring
from switchboard.contract import ConversationPolicy
from switchboard.converter import data_converter, refusing_unsealed
from switchboard.routing import Rules
from switchboard.settings import WorkerSettings
from switchboard.store import ConversationStore, Store
from switchboard.store.breaker import EndpointPolicy
from switchboard.store.media import MediaStore
from switchboard.store.subscriptions import SubscriptionStore
from workflows import (
    RUNNER,
    ConversationWorkflow,
    DeliveryWorkflow,
    ExportWorkflow,
    InteractionWorkflow,
    RetentionWorkflow,
)

if TYPE_CHECKING:
    # Imported where the analytics worker is built: DuckDB, pyarrow and pandas are 120 MB
    # resident that the intake worker does not need.
    from activities.export import ExportActivities
    from activities.retention import RetentionActivities

log = logging.getLogger(__name__)

WORKFLOWS = [InteractionWorkflow, ConversationWorkflow, ExportWorkflow, RetentionWorkflow]
# Every workflow type, the pipeline's and the deliveries' (which have a task queue of their own).
ALL_WORKFLOWS = [*WORKFLOWS, DeliveryWorkflow]
# The label of an unversioned worker (the tests'): without a build id the SDK hashes the code
# of every loaded module when the first worker starts, compiling each from source where no
# bytecode is cached (13-50 s under load with PYTHONDONTWRITEBYTECODE). `run_worker`'s workers
# are versioned instead (`runtime.versions`), their build id a hash of the workflow code only.
BUILD_ID = f"switchboard-{version('switchboard')}"


def _versioning(deployment: WorkerDeploymentConfig | None) -> dict[str, Any]:
    """A worker's versioning: a version of the deployment, or (None) the unversioned label."""
    if deployment is None:
        return {"build_id": BUILD_ID}
    return {"deployment_config": deployment}


def sealed_only(client: Client) -> Client:
    """`client` on the same connection, its codec refusing every payload not sealed with one
    of its keys: what every worker polls with, so that a client without the keys can start,
    signal, update or query nothing (`switchboard.codec.EncryptionCodec.refusing_unsealed`).

    A client without keys is returned as it is: only the codec benchmark's unencrypted side
    runs a worker so (`run_worker` always has keys).
    """
    if client.data_converter.payload_codec is None:
        return client
    config = client.config()
    config["data_converter"] = refusing_unsealed(client.data_converter)
    return Client(**config)


def build_worker(
    client: Client,
    store: Store,
    task_queue: str,
    executor: ThreadPoolExecutor,
    max_concurrent_activities: int = 64,
    policy: ConversationPolicy | None = None,
    senders: Senders | None = None,
    rules: Rules | None = None,
    media: MediaActivities | None = None,
    deployment: WorkerDeploymentConfig | None = None,
    workflows: Sequence[type] = WORKFLOWS,
) -> Worker:
    """The intake worker: messages, conversations and replies; the store activities run in
    `executor`'s threads. The export's and retention's activities are the analytics worker's
    (`build_analytics_worker`), on a task queue of their own.

    Without `media` (tests, the benchmark) files at Twilio are recorded as not copied.
    `workflows`: this release's workflow code (the upgrade tests run a changed one).
    """
    media = media or MediaActivities(MediaStore(store.engine))
    store_activities = StoreActivities(store)
    conversations = ConversationStore(store.engine)
    conversation_activities = ConversationActivities(
        client, conversations, task_queue, policy or ConversationPolicy()
    )
    reply_activities = ReplyActivities(
        store, conversations, senders or Senders(None, None, None, None, None)
    )
    return Worker(
        sealed_only(client),
        task_queue=task_queue,
        workflows=workflows,
        workflow_runner=RUNNER,
        interceptors=[InputsRequired()],
        activities=[
            normalize,
            RouteActivities(rules or routing.load()).route,
            store_activities.dedupe,
            store_activities.persist,
            store_activities.record_failure,
            conversation_activities.thread_interaction,
            conversation_activities.record_conversation,
            conversation_activities.load_interactions,
            conversation_activities.claim_inactive,
            reply_activities.send_reply,
            media.copy_media,
        ],
        activity_executor=executor,
        max_concurrent_activities=max_concurrent_activities,
        max_concurrent_local_activities=max_concurrent_activities,
        # On SIGTERM, let in-flight store writes finish rather than cancel them mid-retry.
        graceful_shutdown_timeout=timedelta(seconds=10),
        **_versioning(deployment),
    )


def build_delivery_worker(
    client: Client,
    store: Store,
    task_queue: str,
    http: httpx.AsyncClient,
    allow_private: bool = False,
    max_concurrent_deliveries: int = 200,
    deployment: WorkerDeploymentConfig | None = None,
) -> Worker:
    """The worker of `DeliveryWorkflow`s started before deliveries moved to the store-scheduled
    deliverer (`events_out.deliverer`): it runs them to the end of their schedules. Nothing starts
    new ones; it can go once no execution of that type runs any more.
    """
    deliveries = DeliveryActivities(store, http, allow_private)
    return Worker(
        sealed_only(client),
        task_queue=task_queue,
        workflows=[DeliveryWorkflow],
        workflow_runner=RUNNER,
        interceptors=[InputsRequired()],
        activities=[deliveries.attempt_delivery],
        max_concurrent_activities=max_concurrent_deliveries,
        graceful_shutdown_timeout=timedelta(seconds=5),
        **_versioning(deployment),
    )


def endpoint_policy(settings: WorkerSettings) -> EndpointPolicy:
    """When the deliverer holds a subscription's receiver back, and when it disables it."""
    return EndpointPolicy(
        failures=settings.subscriptions_breaker_failures,
        cooldown=timedelta(seconds=settings.subscriptions_breaker_cooldown_s),
        disable_after=timedelta(seconds=settings.subscriptions_disable_after_s),
    )


def delivery_http(settings: WorkerSettings) -> httpx.AsyncClient:
    """The client deliveries share: no redirects followed, a timeout per attempt."""
    return httpx.AsyncClient(
        timeout=settings.event_delivery_timeout_s,
        follow_redirects=False,
        limits=httpx.Limits(max_connections=200, max_keepalive_connections=50),
    )


async def _connect(
    settings: WorkerSettings,
    keyring: Keyring,
    runtime: Runtime | None,
    tracing: TracerProvider | None,
) -> Client:
    """Connect, waiting for Temporal if it is not up yet (a host restart, a compose start)."""
    delay = 0.5
    while True:
        try:
            return await Client.connect(
                settings.temporal_address,
                namespace=settings.temporal_namespace,
                tls=settings.temporal_tls(),
                data_converter=data_converter(keyring),
                runtime=runtime,
                interceptors=telemetry.temporal_interceptors(tracing),
            )
        except RuntimeError as exc:  # the SDK's "Failed client connect"
            log.warning(
                "Temporal at %s not reachable, retrying in %.1fs: %s",
                settings.temporal_address,
                delay,
                str(exc).splitlines()[0],
            )
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)


async def run_worker(
    settings: WorkerSettings,
    rules: Rules,
    keyring: Keyring,
    intake: bool = True,
    analytics: bool = True,
) -> None:
    """Run until SIGINT or SIGTERM, then finish in-flight tasks and stop.

    `intake`: the pipeline's task queue and the events' (messages, conversations, replies,
    deliveries); `analytics`: the export's and retention's. One process can serve both.
    """
    runtime = None
    if settings.worker_metrics_port:
        address = f"{settings.worker_metrics_host}:{settings.worker_metrics_port}"
        runtime = Runtime(telemetry=TelemetryConfig(metrics=PrometheusConfig(bind_address=address)))
        log.info("worker metrics at http://%s/metrics", address)
    tracing = telemetry.tracer_provider(settings, "worker")
    client = await _connect(settings, keyring, runtime, tracing)
    try:
        added = await search_attributes.ensure_registered(client)
        if added:
            log.info("registered search attributes %s", ", ".join(added))
    except RPCError as exc:
        names = ", ".join(key.name for key in search_attributes.ALL)
        log.warning("cannot register search attributes %s: %s", names, exc.message)
    store = Store.from_url(settings.resolved_database_url(), settings.sqlite_busy_timeout_s)
    store.migrate()
    release = versions.release_of(settings)
    deployment = versions.deployment_config(release)
    log.info("worker deployment version %s", versions.label(release))
    workers: list[Worker] = []
    queues: list[str] = []
    http: httpx.AsyncClient | None = None
    relay: EventRelay | None = None
    with ThreadPoolExecutor(max_workers=settings.max_concurrent_activities) as executor:
        if intake:
            workers.append(
                build_worker(
                    client,
                    store,
                    settings.task_queue,
                    executor,
                    settings.max_concurrent_activities,
                    settings.conversation_policy(),
                    Senders.from_settings(settings),
                    rules,
                    media=MediaActivities(
                        MediaStore(store.engine),
                        BlobStore(settings.data_dir / "blobs"),
                        twilio_files.from_settings(settings),
                        settings.media_max_bytes,
                    ),
                    deployment=deployment,
                )
            )
            http = delivery_http(settings)
            workers.append(
                build_delivery_worker(
                    client,
                    store,
                    settings.events_task_queue(),
                    http,
                    settings.subscriptions_allow_private,
                    deployment=deployment,
                )
            )
            deliverer = Deliverer(
                store,
                http,
                settings.event_retry_schedule_s,
                settings.event_delivery_timeout_s,
                settings.subscriptions_allow_private,
                policy=endpoint_policy(settings),
                meter=(runtime or Runtime.default()).metric_meter,
            )
            relay = EventRelay(SubscriptionStore(store.engine), deliverer)
            queues += [settings.task_queue, settings.events_task_queue()]
        if analytics:
            from activities.retention import Retention, RetentionActivities

            workers.append(
                build_analytics_worker(
                    client,
                    settings.analytics_task_queue(),
                    executor,
                    export_activities(settings, store, rules),
                    RetentionActivities(
                        store,
                        Retention(
                            settings.retention_payload_days,
                            settings.retention_days,
                            settings.retention_audit_days,
                        ),
                        BlobStore(settings.data_dir / "blobs"),
                        settings.resolved_export_dir(),
                    ),
                    deployment,
                )
            )
            queues.append(settings.analytics_task_queue())
        await schedules.ensure(client, settings)
        loop = asyncio.get_running_loop()

        stopping: list[asyncio.Future[None]] = []

        def stop() -> None:
            stopping.extend(asyncio.ensure_future(w.shutdown()) for w in workers)

        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop)
        log.info(
            "worker polling task queues %s on %s", ", ".join(queues), settings.temporal_address
        )
        relaying = asyncio.ensure_future(relay.run()) if relay else None
        promoting = (
            asyncio.ensure_future(versions.promote_if_new(client, release))
            if settings.promote_version
            else None
        )
        try:
            await asyncio.gather(*(w.run() for w in workers))
        finally:
            if promoting is not None:
                promoting.cancel()
            if relaying is not None:
                relaying.cancel()
                # The attempts in flight finish (for a few seconds) and are recorded.
                await asyncio.gather(relaying, return_exceptions=True)
            if http is not None:
                await http.aclose()
            store.close()
            if tracing is not None:
                tracing.shutdown()  # flushes the spans not yet exported


def build_analytics_worker(
    client: Client,
    task_queue: str,
    executor: ThreadPoolExecutor,
    exports: ExportActivities,
    retention: RetentionActivities,
    deployment: WorkerDeploymentConfig | None = None,
) -> Worker:
    """The export and retention schedules' worker (`WorkerSettings.analytics_task_queue`)."""
    return Worker(
        sealed_only(client),
        task_queue=task_queue,
        workflows=[ExportWorkflow, RetentionWorkflow],
        workflow_runner=RUNNER,
        interceptors=[InputsRequired()],
        activities=[exports.stage, exports.validate, exports.publish, retention.purge],
        activity_executor=executor,
        # One export and one retention run at a time (the schedules skip overlaps).
        max_concurrent_activities=4,
        graceful_shutdown_timeout=timedelta(seconds=10),
        **_versioning(deployment),
    )


def export_activities(settings: WorkerSettings, store: Store, rules: Rules) -> ExportActivities:
    from activities.export import ExportActivities
    from analytics.privacy import Privacy, load_key

    root = settings.resolved_export_dir()
    key = settings.export_hash_key.get_secret_value() if settings.export_hash_key else None
    return ExportActivities(
        store,
        root,
        Privacy(load_key(key, root), keep_text=settings.export_keep_text),
        rules.hours,
        rules.rate_card,
    )
