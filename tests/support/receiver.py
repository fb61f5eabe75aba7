"""A subscriber's endpoint for the events-out tests: a real HTTP server on 127.0.0.1.

It answers with the status codes it is told to (then 200), and keeps every request.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    answered: int

    @property
    def event(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.body)
        return parsed


@dataclass
class Receiver:
    url: str
    # Status codes to answer with, in order; 200 once they run out (unless `down`).
    answers: list[int] = field(default_factory=list)
    down: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    # Seconds to take over each answer (a slow receiver).
    delay_s: float = 0.0
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def of_type(self, event_type: str) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.event["type"] == event_type]

    async def wait_for(
        self, event_type: str, count: int = 1, timeout: float = 10.0
    ) -> list[Received]:
        deadline = asyncio.get_running_loop().time() + timeout
        while asyncio.get_running_loop().time() < deadline:
            found = self.of_type(event_type)
            if len(found) >= count:
                return found
            await asyncio.sleep(0.05)
        raise AssertionError(
            f"{count} x {event_type} not received in {timeout} s: "
            f"{[r.event['type'] for r in self.received]}"
        )


@contextmanager
def receiver(path: str = "/hooks") -> Iterator[Receiver]:
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            time.sleep(state.delay_s)
            with state.lock:
                code = state.answers.pop(0) if state.answers else (state.down or 200)
                state.received.append(
                    Received({k.lower(): v for k, v in self.headers.items()}, body, code)
                )
            self.send_response(code)
            for name, value in state.headers.items():
                self.send_header(name, value)
            self.send_header("content-length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}{path}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
