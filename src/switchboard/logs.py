"""Logging for every process: readable lines, and no customer data at INFO.

Message bodies, phone numbers, email addresses and secrets stay out of logs: our own log
calls never pass them, and the one place they would leak by default, the HTTP access log's
query strings (`/api/customers?phone=…`), is redacted here.
"""

from __future__ import annotations

import copy
import logging
from typing import Any

from uvicorn.config import LOGGING_CONFIG

FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


class RedactQueryString(logging.Filter):
    """Drops the query string from uvicorn's access log lines."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        # uvicorn.access logs (client, method, path with query, HTTP version, status).
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            path, sep, _ = args[2].partition("?")
            record.args = (*args[:2], path + ("?…" if sep else ""), *args[3:])
        return True


def configure(level: int = logging.INFO) -> None:
    logging.basicConfig(level=level, format=FORMAT)
    # httpx logs every request URL, query string included, at INFO.
    logging.getLogger("httpx").setLevel(logging.WARNING)


def uvicorn_log_config() -> dict[str, Any]:
    """uvicorn's own logging configuration, with the access log redacted."""
    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["redact_query"] = {"()": RedactQueryString}
    config["handlers"]["access"]["filters"] = ["redact_query"]
    return config
