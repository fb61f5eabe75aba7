"""The demo's stand-in for Twilio's and SendGrid's send APIs, on loopback.

`switchboard up` starts it when the demo runs without provider credentials, and points the
workers' `twilio`/`sendgrid` clients at it: the simulated agents' replies then go through the
real send path (outbox, provider libraries, outbound interactions) and no message ever leaves
the machine. Answers follow the providers' wire formats: Twilio's Message resource, SendGrid's
202 with `X-Message-Id`.
"""

from __future__ import annotations

import json
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

DEMO_ACCOUNT = "AC" + "d" * 32
DEMO_FROM_NUMBER = "+14155550100"
DEMO_FROM_EMAIL = "support@demo.switchboard.invalid"


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:  # the supervisor's console stays readable
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path.startswith("/2010-04-01/Accounts/") and self.path.endswith("/Messages.json"):
            form = dict(parse_qsl(body.decode(), keep_blank_values=True))
            account, sid = self.path.split("/")[3], "SM" + secrets.token_hex(16)
            self._json(
                201,
                {
                    "account_sid": account,
                    "api_version": "2010-04-01",
                    "body": form.get("Body", ""),
                    "direction": "outbound-api",
                    "error_code": None,
                    "error_message": None,
                    "from": form.get("From"),
                    "num_media": "0",
                    "num_segments": "1",
                    "price": None,
                    "price_unit": "USD",
                    "sid": sid,
                    "status": "queued",
                    "to": form.get("To"),
                    "uri": f"/2010-04-01/Accounts/{account}/Messages/{sid}.json",
                },
            )
        elif self.path == "/v3/mail/send":
            self.send_response(202)
            self.send_header("X-Message-Id", secrets.token_hex(11))
            self.send_header("Content-Length", "0")
            self.end_headers()
        else:
            self._json(404, {"code": 20404, "message": "The requested resource was not found"})

    def _json(self, status: int, payload: object) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@contextmanager
def serve() -> Iterator[str]:
    """Run the fake APIs on a free loopback port; yields their base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def worker_env(
    base_url: str, twilio: bool, sendgrid: bool, twilio_auth_token: str | None
) -> dict[str, str]:
    """The workers' settings that send replies through the fake APIs: Twilio's if `twilio`
    (no account configured), SendGrid's if `sendgrid` (no API key configured)."""
    env: dict[str, str] = {}
    if twilio:
        env |= {
            "SWITCHBOARD_TWILIO_ACCOUNT_SID": DEMO_ACCOUNT,
            "SWITCHBOARD_TWILIO_AUTH_TOKEN": twilio_auth_token or secrets.token_hex(16),
            "SWITCHBOARD_TWILIO_FROM_NUMBER": DEMO_FROM_NUMBER,
            "SWITCHBOARD_TWILIO_WHATSAPP_FROM": f"whatsapp:{DEMO_FROM_NUMBER}",
            "SWITCHBOARD_TWILIO_API_BASE_URL": base_url,
        }
    if sendgrid:
        env |= {
            "SWITCHBOARD_SENDGRID_API_KEY": "SG.demo." + secrets.token_hex(8),
            "SWITCHBOARD_SENDGRID_FROM_EMAIL": DEMO_FROM_EMAIL,
            "SWITCHBOARD_SENDGRID_API_BASE_URL": base_url,
        }
    return env
