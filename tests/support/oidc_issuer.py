"""A tiny OIDC issuer for tests: its discovery document and JWKS served over local HTTP, and
tokens signed with keys it makes (RS256 and ES256), rotated on demand; it can hang (an outage
where connections open and nothing answers)."""

from __future__ import annotations

import contextlib
import json
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

AUDIENCE = "switchboard-api"


class Issuer:
    def __init__(self) -> None:
        self.url = ""
        self.keys: dict[str, tuple[str, Any]] = {}  # kid → (alg, private key)
        self.jwks_fetches = 0
        self.discovery_fetches = 0
        # While set, the issuer is down the hard way: requests hang, then get a 503.
        self.hanging = threading.Event()
        self.released = threading.Event()
        self.add_key("RS256")
        self.add_key("ES256")

    def add_key(self, alg: str) -> str:
        """A new signing key, published from now on; returns its kid."""
        kid = f"{alg.lower()}-{uuid.uuid4().hex[:8]}"
        private = (
            rsa.generate_private_key(public_exponent=65537, key_size=2048)
            if alg.startswith("RS")
            else ec.generate_private_key(ec.SECP256R1())
        )
        self.keys[kid] = (alg, private)
        return kid

    def jwks(self) -> dict[str, Any]:
        published = []
        for kid, (alg, private) in self.keys.items():
            algorithm = RSAAlgorithm if alg.startswith("RS") else ECAlgorithm
            jwk = json.loads(algorithm.to_jwk(private.public_key()))
            published.append({**jwk, "kid": kid, "alg": alg, "use": "sig"})
        return {"keys": published}

    def token(
        self,
        sub: str = "user-1",
        roles: list[str] | None = None,
        kid: str | None = None,
        **claims: Any,
    ) -> str:
        kid = kid or next(iter(self.keys))
        alg, private = self.keys[kid]
        now = int(time.time())
        payload = {
            "iss": self.url,
            "aud": AUDIENCE,
            "sub": sub,
            "iat": now,
            "nbf": now,
            "exp": now + 300,
            "roles": roles if roles is not None else ["analyst"],
            **claims,
        }
        return jwt.encode(payload, private, algorithm=alg, headers={"kid": kid})


@contextmanager
def serve_issuer() -> Iterator[Issuer]:
    """The issuer at http://127.0.0.1:<free port>, for as long as the block runs."""
    issuer = Issuer()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/.well-known/openid-configuration":
                issuer.discovery_fetches += 1
            if issuer.hanging.is_set():
                issuer.released.wait(timeout=30)
                with contextlib.suppress(OSError):  # the client gave up long ago
                    self.send_error(503)
                return
            if self.path == "/.well-known/openid-configuration":
                body: dict[str, Any] = {"issuer": issuer.url, "jwks_uri": issuer.url + "/jwks"}
            elif self.path == "/jwks":
                issuer.jwks_fetches += 1
                body = issuer.jwks()
            else:
                self.send_error(404)
                return
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    issuer.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield issuer
    finally:
        issuer.released.set()
        server.shutdown()
        server.server_close()
