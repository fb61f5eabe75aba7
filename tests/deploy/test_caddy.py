"""deploy/Caddyfile, run for real with Debian's caddy on loopback: TLS from its internal CA,
the API proxied, the dashboards only after sign-in (forward_auth), Temporal UI proxied; the
browser security headers on every site, and bodies over the limit refused with 413."""

from __future__ import annotations

import os
import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from tests.support.processes import free_port

CADDYFILE = Path(__file__).parents[2] / "deploy" / "Caddyfile"
SIGNED_IN = "_oauth2_proxy=signed-in"


def caddy() -> str:
    binary = shutil.which("caddy")
    if binary is None:
        pytest.fail("caddy is not installed: `make test` installs it with apt")
    return binary


class Upstream(BaseHTTPRequestHandler):
    """Stands in for the ingress, the dashboards, Temporal UI and oauth2-proxy."""

    def do_GET(self) -> None:
        name = self.server.name  # type: ignore[attr-defined]
        status, body, headers = 200, f"{name} {self.path}", {}
        if name == "auth" and self.path.startswith("/oauth2/auth"):
            if SIGNED_IN in (self.headers.get("Cookie") or ""):
                status, headers = 202, {"X-Auth-Request-User": "ana"}
            else:
                status = 401
        elif name == "dashboards":
            body += f" user={self.headers.get('X-Auth-Request-User')}"
        data = body.encode()
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        # Reads the whole body, as the ingress would, then says how much arrived.
        length = int(self.headers.get("Content-Length") or 0)
        data = f"{self.server.name} read {len(self.rfile.read(length))}".encode()  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        pass


@dataclass
class Sites:
    api: str
    dashboards: str
    temporal_ui: str
    tls: ssl.SSLContext


def serve(name: str) -> tuple[ThreadingHTTPServer, str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Upstream)
    server.name = name  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"127.0.0.1:{server.server_address[1]}"


def env(tmp_path: Path, upstreams: dict[str, str], ports: list[int]) -> dict[str, str]:
    return {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "CADDY_BIND": "127.0.0.1",
        "CADDY_HTTP_PORT": str(free_port()),
        "CADDY_HTTPS_PORT": str(free_port()),
        "SWITCHBOARD_SITE": f"https://localhost:{ports[0]}",
        "SWITCHBOARD_DASHBOARDS_SITE": f"https://localhost:{ports[1]}",
        "TEMPORAL_UI_SITE": f"https://localhost:{ports[2]}",
        "SWITCHBOARD_INGRESS_UPSTREAM": upstreams["ingress"],
        "SWITCHBOARD_DASHBOARDS_UPSTREAM": upstreams["dashboards"],
        "SWITCHBOARD_AUTH_UPSTREAM": upstreams["auth"],
        "TEMPORAL_UI_UPSTREAM": upstreams["temporal-ui"],
    }


def test_the_caddyfile_is_valid_with_the_deployments_defaults(tmp_path: Path) -> None:
    result = subprocess.run(
        [caddy(), "validate", "--config", str(CADDYFILE), "--adapter", "caddyfile"],
        env={"PATH": os.environ["PATH"], "HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "Valid configuration" in result.stdout + result.stderr


@pytest.fixture
def sites(tmp_path: Path) -> Iterator[Sites]:
    servers = {name: serve(name) for name in ("ingress", "dashboards", "auth", "temporal-ui")}
    ports = [free_port() for _ in range(3)]
    process = subprocess.Popen(
        [caddy(), "run", "--config", str(CADDYFILE), "--adapter", "caddyfile"],
        env=env(tmp_path, {name: address for name, (_, address) in servers.items()}, ports),
        stdout=subprocess.DEVNULL,
        stderr=(tmp_path / "caddy.log").open("wb"),
    )
    root = tmp_path / "data" / "caddy" / "pki" / "authorities" / "local" / "root.crt"
    try:
        deadline = time.monotonic() + 60
        while not root.exists() or not _accepts(ports[0]):
            assert process.poll() is None, (tmp_path / "caddy.log").read_text()[-2000:]
            assert time.monotonic() < deadline, "caddy did not start"
            time.sleep(0.2)
        tls = ssl.create_default_context(cafile=str(root))
        yield Sites(*(f"https://localhost:{port}" for port in ports), tls=tls)
    finally:
        process.terminate()
        process.wait(timeout=15)
        for server, _ in servers.values():
            server.shutdown()


def _accepts(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def get(url: str, tls: ssl.SSLContext, cookie: str | None = None) -> httpx.Response:
    headers = {"Cookie": cookie} if cookie else {}
    # A certificate of Caddy's internal CA, checked against that CA's root: real TLS.
    for _ in range(50):
        try:
            return httpx.get(url, verify=tls, headers=headers, timeout=5)
        except httpx.ConnectError:
            time.sleep(0.2)  # the certificate is issued a moment after the port opens
    raise AssertionError(f"{url} did not answer over TLS")


def test_tls_in_front_and_the_dashboards_only_after_sign_in(sites: Sites) -> None:
    api = get(sites.api + "/api/customers", sites.tls)
    assert api.status_code == 200 and api.text == "ingress /api/customers"

    refused = get(sites.dashboards + "/pipeline", sites.tls)
    assert refused.status_code == 302
    assert refused.headers["location"].startswith("/oauth2/sign_in?rd=https://localhost")
    assert "dashboards" not in refused.text

    signed_in = get(sites.dashboards + "/pipeline", sites.tls, cookie=SIGNED_IN)
    assert signed_in.status_code == 200 and signed_in.text == "dashboards /pipeline user=ana"
    sign_in_page = get(sites.dashboards + "/oauth2/sign_in", sites.tls)
    assert sign_in_page.text == "auth /oauth2/sign_in"

    ui = get(sites.temporal_ui + "/namespaces/default/workflows", sites.tls)
    assert ui.text == "temporal-ui /namespaces/default/workflows"


def test_every_site_sends_the_browser_security_headers(sites: Sites) -> None:
    for url in (sites.api + "/api/customers", sites.temporal_ui + "/"):
        headers = get(url, sites.tls).headers
        assert headers["strict-transport-security"].startswith("max-age=31536000"), url
        assert headers["x-content-type-options"] == "nosniff", url
        assert headers["x-frame-options"] == "SAMEORIGIN", url
        assert headers["content-security-policy"] == "frame-ancestors 'self'", url


def test_a_body_over_the_limit_is_413_before_the_ingress_reads_it(sites: Sites) -> None:
    url = sites.api + "/api/subscriptions"
    get(sites.api + "/healthz", sites.tls)  # once the site's certificate is issued
    small = httpx.post(url, content=b"x" * 1024, verify=sites.tls, timeout=30)
    assert small.text == "ingress read 1024"
    large = httpx.post(url, content=b"x" * (11 * 1024 * 1024), verify=sites.tls, timeout=30)
    assert large.status_code == 413
