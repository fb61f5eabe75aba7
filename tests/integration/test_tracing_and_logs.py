"""One trace from the webhook through the workflow and its activities, and JSON logs carrying it.

The ingress and the worker run as the real processes, exporting to a local OTLP/HTTP collector
that decodes what they send with OpenTelemetry's own protobuf definitions.
"""

from __future__ import annotations

import json
import secrets
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from temporalio.testing import WorkflowEnvironment

from runtime.simulate import new_message_sid, sign_twilio, sms_fields
from switchboard.contract import Identity, IdentityKind
from switchboard.store import Store
from tests.support.builders import random_phone
from tests.support.processes import free_port, switchboard


@dataclass(frozen=True)
class Span:
    service: str
    name: str
    trace_id: str


class Collector(ThreadingHTTPServer):
    """Speaks OTLP/HTTP (protobuf) on /v1/traces and keeps the spans it is sent."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.spans: list[Span] = []

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: Collector

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.path != "/v1/traces":
            self.send_response(404)
            self.end_headers()
            return
        request = ExportTraceServiceRequest.FromString(body)
        for resource_spans in request.resource_spans:
            service = next(
                a.value.string_value
                for a in resource_spans.resource.attributes
                if a.key == "service.name"
            )
            for scope in resource_spans.scope_spans:
                for span in scope.spans:
                    self.server.spans.append(Span(service, span.name, span.trace_id.hex()))
        answer = ExportTraceServiceResponse().SerializeToString()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def collector() -> Iterator[Collector]:
    server = Collector()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()


def _wait(condition: object, what: str, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


def _json_lines(output: bytes) -> list[dict[str, object]]:
    lines = [line for line in output.decode().splitlines() if line.strip()]
    # Every line a process writes is one JSON object (a collector parses them as they come).
    return [json.loads(line) for line in lines]


def test_a_webhook_is_one_trace_across_ingress_and_worker_and_its_log_lines_carry_it(
    temporal_env: WorkflowEnvironment, tmp_path: Path, task_queue: str, collector: Collector
) -> None:
    db = tmp_path / "switchboard.db"
    store = Store.from_url(f"sqlite:///{db}")
    store.migrate()
    token, port = secrets.token_hex(16), free_port()
    env = {
        "TEMPORAL_ADDRESS": temporal_env.client.service_client.config.target_host,
        "SWITCHBOARD_DATABASE_URL": f"sqlite:///{db}",
        "SWITCHBOARD_DATA_DIR": str(tmp_path / "data"),
        "SWITCHBOARD_TASK_QUEUE": task_queue,
        "SWITCHBOARD_INGRESS_PORT": str(port),
        "SWITCHBOARD_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "SWITCHBOARD_TWILIO_AUTH_TOKEN": token,
        "SWITCHBOARD_WORKER_METRICS_PORT": "0",
        "SWITCHBOARD_LOG_FORMAT": "json",
        "OTEL_EXPORTER_OTLP_ENDPOINT": collector.endpoint,
        "OTEL_BSP_SCHEDULE_DELAY": "200",  # export every 0.2 s rather than 5 s
    }
    worker = switchboard(["worker"], env, tmp_path)
    ingress = switchboard(["ingress"], env, tmp_path)
    phone, body = random_phone(), "order " + secrets.token_hex(6)
    try:
        _wait(lambda: _healthy(port), "the ingress did not start")
        url = f"http://127.0.0.1:{port}/webhooks/twilio/sms"
        request = sign_twilio(
            url, sms_fields(new_message_sid(), phone, "+14155550100", body), token
        )
        answer = httpx.post(url, content=request.body, headers=request.headers, timeout=10)
        assert answer.status_code == 200, answer.text
        _wait(
            lambda: store.find_customer(Identity(IdentityKind.PHONE, phone)) is not None,
            "never persisted",
        )
        _wait(
            lambda: any(s.name == "RunActivity:persist" for s in collector.spans),
            f"the worker's spans never arrived: {collector.spans}",
        )
    finally:
        for process in (ingress, worker):
            process.send_signal(signal.SIGTERM)
        outputs = [process.communicate(timeout=30)[0] for process in (ingress, worker)]
        store.close()

    trace_id = next(s.trace_id for s in collector.spans if s.name == "RunActivity:persist")
    in_trace = {(s.service, s.name) for s in collector.spans if s.trace_id == trace_id}
    assert {
        ("switchboard-ingress", "POST /webhooks/twilio/sms"),
        ("switchboard-ingress", "StartWorkflow:InteractionWorkflow"),
        ("switchboard-worker", "RunWorkflow:InteractionWorkflow"),
        ("switchboard-worker", "RunActivity:dedupe"),
        ("switchboard-worker", "RunActivity:persist"),
    } <= in_trace, in_trace

    ingress_lines, worker_lines = (_json_lines(output) for output in outputs)
    accepted = [line for line in ingress_lines if "accepted" in str(line["message"])]
    access = [line for line in ingress_lines if line.get("http_route") == "/webhooks/twilio/sms"]
    persisted = [line for line in worker_lines if "persisted" in str(line["message"])]
    assert accepted and access and persisted
    for line in (accepted[0], access[0], persisted[0]):
        assert line.get("trace_id") == trace_id, line
    assert access[0]["http_status"] == 200
    logged = (outputs[0] + outputs[1]).decode()
    for secret in (phone, body, token):
        assert secret not in logged


def _healthy(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False
