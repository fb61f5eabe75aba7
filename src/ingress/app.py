"""The FastAPI application and its lifespan: one Temporal client and one store per process."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import Span
from sendgrid.helpers.eventwebhook import EventWebhook
from temporalio.client import Client
from temporalio.service import RetryConfig

from analytics.privacy import Privacy, load_key
from ingress import (
    audit,
    events_out,
    gate,
    idempotency,
    limits,
    loopback,
    metrics,
    problems,
    rate_limits,
    refusals,
)
from ingress.auth.oidc import OidcVerifier
from ingress.routes import (
    access,
    api,
    codec,
    conversations,
    erasure,
    failures,
    health,
    media,
    merges,
    push,
    sendgrid,
    subscriptions,
    twilio,
)
from switchboard import routing, telemetry, twilio_files
from switchboard.blobs import BlobStore
from switchboard.codec import EncryptionCodec, Keyring
from switchboard.contract import RefusalReason
from switchboard.converter import data_converter
from switchboard.payload_keys import local_codec_token
from switchboard.settings import IngressSettings, is_loopback
from switchboard.store import Store
from switchboard.store.erasure import Erasure


async def connect_temporal(
    settings: IngressSettings, keyring: Keyring, tracing: TracerProvider | None = None
) -> Client:
    """A lazy client: the ingress starts (and answers 503) even while Temporal is down.

    Retries are kept short so a provider hears 503 well inside its own timeout (Twilio: 15 s)
    instead of waiting for the SDK's default ten seconds of retries.
    """
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        tls=settings.temporal_tls(),
        lazy=True,
        data_converter=data_converter(keyring),
        retry_config=RetryConfig(max_retries=2, max_elapsed_time_millis=3000),
        interceptors=telemetry.temporal_interceptors(tracing),
    )


def _without_query(span: Span, scope: dict[str, object]) -> None:
    """The API takes phone numbers and emails in query strings, and the codec's one-machine
    token rides in its path: keep both out of traces."""
    attributes = getattr(span, "attributes", None) or {}
    for key in ("http.url", "http.target", "url.full", "url.path", "url.query"):
        value = attributes.get(key)
        if not isinstance(value, str):
            continue
        if key == "url.query" or "?" in value:
            value = "" if key == "url.query" else value.split("?", 1)[0]
        span.set_attribute(key, gate.LOCAL_CODEC.sub(r"/codec/local/~/\2", value))


def sendgrid_event_verifier(settings: IngressSettings) -> EventWebhook | None:
    """The Event Webhook verifier, built once; a key that is not a P-256 key stops the start."""
    key = settings.sendgrid_event_public_key
    if not key:
        return None
    try:
        return EventWebhook(key)
    except ValueError as exc:
        raise ValueError(
            f"SWITCHBOARD_SENDGRID_EVENT_PUBLIC_KEY is not a public key: {exc}"
        ) from exc


def body_limit(settings: IngressSettings, path: str) -> int | None:
    """The body limit of a path's group; None for the webhooks, which bound their own."""
    if path.startswith(limits.WEBHOOKS):
        return None
    if path.startswith("/codec/"):
        return settings.codec_max_body_bytes
    return settings.api_max_body_bytes


def create_app(
    settings: IngressSettings,
    keyring: Keyring,
    temporal: Client | None = None,
    store: Store | None = None,
    clock: Callable[[], float] = time.time,
) -> FastAPI:
    """Build the app; tests may hand in their own client, store and clock (unix seconds).

    `keyring` seals what the app starts in Temporal and serves the codec endpoints.
    """
    tracing = telemetry.tracer_provider(settings, "ingress")
    # Read once: a bad file stops the ingress at start, naming the line, not a request later.
    rules = routing.load(settings.routing_rules)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.settings = settings
        app.state.rules = rules
        app.state.clock = clock
        app.state.oidc = OidcVerifier(settings) if settings.oidc_issuer else None
        if app.state.oidc is not None:
            app.state.oidc.refresh()  # the issuer's keys, fetched before the first token
        # The one-machine credential of the codec server (`make run`): only where the
        # ingress is on loopback; a deployment's callers sign in.
        app.state.codec_token = (
            local_codec_token(settings.data_dir) if is_loopback(settings.host) else None
        )
        app.state.sendgrid_events = sendgrid_event_verifier(settings)
        app.state.blobs = BlobStore(settings.data_dir / "blobs")
        app.state.codec = EncryptionCodec(keyring)
        app.state.temporal = temporal or await connect_temporal(settings, keyring, tracing)
        owned_store = store is None
        app.state.store = store or Store.from_url(
            settings.resolved_database_url(), settings.sqlite_busy_timeout_s
        )
        app.state.rate_limiter = rate_limits.RateLimiter(settings, app.state.store.engine)
        hash_key = load_key(
            settings.export_hash_key.get_secret_value() if settings.export_hash_key else None,
            settings.resolved_export_dir(),
        )
        app.state.privacy = Privacy(hash_key)
        app.state.erasure = Erasure(
            app.state.store.engine, hash_key, app.state.blobs, twilio_files.from_settings(settings)
        )
        flusher = asyncio.create_task(
            app.state.refusals.run(app.state.store.engine, settings.refusals_flush_interval_s)
        )
        try:
            yield
        finally:
            flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await flusher
            app.state.refusals.flush(app.state.store.engine)
            if app.state.oidc is not None:
                await app.state.oidc.close()
            if owned_store:
                app.state.store.close()
            if tracing is not None:
                tracing.shutdown()  # flushes the spans not yet exported

    app = FastAPI(
        title="Switchboard",
        summary="Provider webhooks in; one durable, deduplicated customer timeline out.",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.include_router(twilio.router)
    app.include_router(push.router)
    app.include_router(sendgrid.router)
    app.include_router(api.router)
    app.include_router(merges.router)
    app.include_router(media.router)
    app.include_router(conversations.router)
    app.include_router(access.router)
    app.include_router(failures.router)
    app.include_router(subscriptions.router)
    events_out.document(app)
    app.include_router(health.router)
    app.include_router(codec.router)
    app.include_router(erasure.router)
    app.state.refusals = refusals.Refusals(
        {getattr(route, "path", "") for r in (twilio, push, sendgrid) for route in r.router.routes}
    )
    # Middleware added later runs earlier: the cap, then the gate (method, Host, who is
    # calling), then the Idempotency-Key recorder, metrics, the ops paths' guard and the audit,
    # then the body's bounds (innermost, so their 413 and 408 reach the route as the HTTP
    # errors they are). Every refusal, at the edge or in a route, is a problem (RFC 9457).
    app.add_middleware(
        limits.BodyBounds,
        limit_of=lambda path: body_limit(settings, path),
        timeout_s=settings.body_read_timeout_s,
    )
    app.middleware("http")(audit.record)
    app.middleware("http")(loopback.guard)
    app.middleware("http")(metrics.observe)
    problems.install(app)
    idempotency.install(app)
    app.add_middleware(
        gate.Gate, settings=settings, cors=lambda request: codec.cors(settings, request)
    )
    app.add_middleware(
        limits.ConcurrencyCap,
        limit=settings.max_concurrent_requests,
        on_refused=lambda path: app.state.refusals.record(path, RefusalReason.UNAVAILABLE),
    )
    app.add_route("/metrics", metrics.metrics_endpoint, include_in_schema=False)
    if tracing is not None:
        FastAPIInstrumentor.instrument_app(
            app,
            tracer_provider=tracing,
            excluded_urls="/healthz,/metrics",
            server_request_hook=_without_query,
        )
    return app
