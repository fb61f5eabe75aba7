"""Logging for every process: one configuration, JSON lines, trace ids, no customer data.

Each line is a JSON object (or readable text with `SWITCHBOARD_LOG_FORMAT=text`) carrying the
service, and the trace and span ids whenever it is written inside a traced request, workflow or
activity, so one message's lines can be found across the ingress and the workers.

Message bodies, phone numbers, email addresses and secrets stay out of logs: our own log calls
never pass them, the ingress logs paths without their query strings (`/api/customers?phone=…`),
and as a last line of defence every formatted line is scrubbed of the configured secrets, E.164
numbers and email addresses (an exception's text may quote its input).
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable
from typing import IO, Any

from opentelemetry import trace
from pydantic import SecretStr
from pythonjsonlogger.json import JsonFormatter

from switchboard.settings import CommonSettings

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
JSON_FIELDS = "%(levelname)s %(name)s %(message)s"
REDACTED = "[redacted]"
# Phone numbers in E.164 (also inside `whatsapp:+…`), and email addresses.
_ADDRESSES = re.compile(r"\+\d{7,15}\b|[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


class Redactor:
    """Replaces secrets (by value) and addresses (by shape) in a formatted line."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        # Longest first, so a secret that contains another is replaced whole. Very short
        # values would scrub ordinary words and say little about the secret anyway.
        self.secrets = sorted({s for s in secrets if len(s) >= 6}, key=len, reverse=True)

    def __call__(self, line: str) -> str:
        for secret in self.secrets:
            line = line.replace(secret, REDACTED)
        return _ADDRESSES.sub(REDACTED, line)


def secrets_of(settings: CommonSettings) -> list[str]:
    """Every secret value in the settings, wherever it sits (a list of keys, a key map)."""

    def walk(value: Any) -> Iterable[str]:
        if isinstance(value, SecretStr):
            yield value.get_secret_value()
        elif isinstance(value, list | tuple):
            for item in value:
                yield from walk(item)
        elif isinstance(value, dict):
            for item in value.values():
                yield from walk(item)

    return [s for name in type(settings).model_fields for s in walk(getattr(settings, name))]


class TraceContext(logging.Filter):
    """Adds `trace_id` and `span_id` from the current OpenTelemetry span, when there is one."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = trace.get_current_span().get_span_context()
        if context.is_valid:
            record.trace_id = format(context.trace_id, "032x")
            record.span_id = format(context.span_id, "016x")
        return True


class RedactingJsonFormatter(JsonFormatter):
    def __init__(self, redact: Redactor, service: str) -> None:
        super().__init__(
            JSON_FIELDS,
            rename_fields={"levelname": "level", "name": "logger"},
            static_fields={"service": service},
            timestamp="time",  # ISO 8601, UTC
        )
        self.redact = redact

    def format(self, record: logging.LogRecord) -> str:
        return self.redact(super().format(record))


class RedactingTextFormatter(logging.Formatter):
    def __init__(self, redact: Redactor) -> None:
        super().__init__(TEXT_FORMAT)
        self.redact = redact

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        trace_id = getattr(record, "trace_id", None)
        return self.redact(f"{line} trace_id={trace_id}" if trace_id else line)


def configure(settings: CommonSettings, service: str, stream: IO[str] | None = None) -> None:
    """The root logger of this process writes to stderr; library loggers propagate to it."""
    redact = Redactor(secrets_of(settings))
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(TraceContext())
    handler.setFormatter(
        RedactingJsonFormatter(redact, f"switchboard-{service}")
        if settings.log_format == "json"
        else RedactingTextFormatter(redact)
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level)
    # uvicorn's loggers come without handlers when it is given no log config; the ingress
    # writes its own access lines (path without query, with the trace id).
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
    logging.getLogger("uvicorn.access").disabled = True
    # httpx logs every request URL, query string included, at INFO.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    # Great Expectations logs some 200 lines of its own set-up at INFO for every export.
    logging.getLogger("great_expectations").setLevel(logging.WARNING)
