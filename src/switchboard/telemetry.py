"""Tracing: one OpenTelemetry trace from the webhook request through its workflow and activities.

Off unless `OTEL_EXPORTER_OTLP_ENDPOINT` names an OTLP/HTTP collector: then the ingress traces
its requests (FastAPI instrumentation), and Temporal's tracing interceptor carries the context
in workflow headers to the worker, which traces the workflow and every activity under it.
Other `OTEL_EXPORTER_OTLP_*` variables (headers, timeout) are read by the exporter itself.
"""

from __future__ import annotations

from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from temporalio.client import Interceptor
from temporalio.contrib.opentelemetry import TracingInterceptor

from switchboard.settings import CommonSettings


def tracer_provider(settings: CommonSettings, service: str) -> TracerProvider | None:
    """A provider exporting `switchboard-<service>` spans to the collector, or None when off."""
    if not settings.otlp_endpoint:
        return None
    provider = TracerProvider(resource=Resource.create({"service.name": f"switchboard-{service}"}))
    exporter = OTLPSpanExporter(endpoint=settings.otlp_endpoint.rstrip("/") + "/v1/traces")
    provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider


def temporal_interceptors(provider: TracerProvider | None) -> list[Interceptor]:
    """The Temporal client's interceptors: tracing when on (workers built on it inherit it)."""
    if provider is None:
        return []
    return [TracingInterceptor(provider.get_tracer("switchboard.temporal"))]
