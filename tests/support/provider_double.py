"""The providers' REST APIs as seen from outside, on loopback, recording what they are sent.

The real `twilio` and `sendgrid` libraries are pointed here in tests; answers follow the
providers' wire formats (Twilio's Message resource and error JSON, SendGrid's 202 with
X-Message-Id). The account's files (MMS media, recordings) are served from `files` as Twilio
serves them (GET on the resource's path, the account's basic auth) and deleted by DELETE on
`<path>.json` (204, then 404). A GET of a file redirects, as Twilio's does, to a short-lived URL
of another origin (`/cdn/…` on `localhost`), which must be reached without the credentials.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

# Where the double's CDN serves the files the API redirects to.
CDN = "/cdn"
# Twilio's documented test number for "invalid To".
INVALID_NUMBER = "+15005550001"


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def form(self) -> dict[str, str]:
        return dict(parse_qsl(self.body.decode(), keep_blank_values=True))

    def json(self) -> object:
        return json.loads(self.body)


@dataclass
class ProviderDouble:
    url: str
    requests: list[Recorded] = field(default_factory=list)
    # Path of a Media or Recording resource → (bytes, content type).
    files: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    # What a GET of a file answers instead, by path (a 503 to retry, say), once each.
    failures: dict[str, list[int]] = field(default_factory=dict)
    # Called with a file's path before it is served: what happens meanwhile elsewhere.
    while_serving: Callable[[str], None] | None = None

    def deleted(self) -> set[str]:
        """The paths of the files DELETE reached (without `.json`)."""
        return {r.path.removesuffix(".json") for r in self.requests if r.method == "DELETE"}


class _Handler(BaseHTTPRequestHandler):
    double: ProviderDouble

    def log_message(self, *args: object) -> None:  # keep test output quiet
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.double.requests.append(
            Recorded("POST", self.path, {k.lower(): v for k, v in self.headers.items()}, body)
        )
        if self.path.startswith("/2010-04-01/Accounts/") and self.path.endswith("/Messages.json"):
            self._twilio_message(dict(parse_qsl(body.decode(), keep_blank_values=True)))
        elif self.path == "/v3/mail/send":
            self.send_response(202)
            self.send_header("X-Message-Id", secrets.token_urlsafe(16).replace("-", "x"))
            self.send_header("Content-Length", "0")
            self.end_headers()
        else:
            self._json(404, {"code": 20404, "message": "The requested resource was not found"})

    def do_GET(self) -> None:
        self.double.requests.append(
            Recorded("GET", self.path, {k.lower(): v for k, v in self.headers.items()}, b"")
        )
        if self.path.startswith(CDN):
            self._serve(self.path.removeprefix(CDN).split("?", 1)[0])
            return
        failures = self.double.failures.get(self.path)
        if failures:
            self._json(failures.pop(0), {"code": 20500, "message": "Internal Server Error"})
            return
        found = self.double.files.get(self.path)
        if found is None or not self._authorized():
            self._json(404, {"code": 20404, "message": "The requested resource was not found"})
            return
        if self.double.while_serving is not None:
            self.double.while_serving(self.path)
        # As Twilio does: a redirect to a short-lived CDN URL, on another origin (`localhost`
        # for `127.0.0.1`), which takes no credentials.
        port = self.server.server_address[1]
        self.send_response(307)
        self.send_header("Location", f"http://localhost:{port}{CDN}{self.path}?sig=short-lived")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _serve(self, path: str) -> None:
        found = self.double.files.get(path)
        if found is None:
            self._json(404, {"code": 20404, "message": "The requested resource was not found"})
            return
        data, content_type = found
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_DELETE(self) -> None:
        self.double.requests.append(
            Recorded("DELETE", self.path, {k.lower(): v for k, v in self.headers.items()}, b"")
        )
        path = self.path.removesuffix(".json")
        if self._authorized() and self.double.files.pop(path, None) is not None:
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self._json(404, {"code": 20404, "message": "The requested resource was not found"})

    def _authorized(self) -> bool:
        """Basic auth with the account SID the path names (any token: the double keeps none)."""
        header = self.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return False
        user = base64.b64decode(header.removeprefix("Basic ")).decode().split(":", 1)[0]
        return self.path.startswith(f"/2010-04-01/Accounts/{user}/")

    def _twilio_message(self, form: dict[str, str]) -> None:
        account = self.path.split("/")[3]
        if form.get("To") == INVALID_NUMBER:
            self._json(
                400,
                {
                    "code": 21211,
                    "message": f"The 'To' number {INVALID_NUMBER} is not a valid phone number.",
                    "more_info": "https://www.twilio.com/docs/errors/21211",
                    "status": 400,
                },
            )
            return
        sid = "SM" + secrets.token_hex(16)
        self._json(
            201,
            {
                "account_sid": account,
                "api_version": "2010-04-01",
                "body": form.get("Body", ""),
                "date_created": "Wed, 25 Nov 2026 10:00:00 +0000",
                "date_sent": None,
                "date_updated": "Wed, 25 Nov 2026 10:00:00 +0000",
                "direction": "outbound-api",
                "error_code": None,
                "error_message": None,
                "from": form.get("From"),
                "messaging_service_sid": None,
                "num_media": "0",
                "num_segments": "1",
                "price": None,
                "price_unit": "USD",
                "sid": sid,
                "status": "queued",
                "subresource_uris": {
                    "media": f"/2010-04-01/Accounts/{account}/Messages/{sid}/Media.json"
                },
                "to": form.get("To"),
                "uri": f"/2010-04-01/Accounts/{account}/Messages/{sid}.json",
            },
        )

    def _json(self, status: int, payload: object) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@contextmanager
def provider_double() -> Iterator[ProviderDouble]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    double = ProviderDouble(url=f"http://127.0.0.1:{server.server_address[1]}")
    handler = type("Handler", (_Handler,), {"double": double})
    server.RequestHandlerClass = handler
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield double
    finally:
        server.shutdown()
        server.server_close()
