"""The compose deployment's mutual TLS with Temporal: deploy/certs/make-certs.sh run with
Debian's `openssl`, and its certificates in real TLS handshakes, Python's `ssl` on the server
side, and on the client side `ssl` or the Temporal SDK as Switchboard's settings configure it.
"""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from pydantic import ValidationError
from temporalio.client import Client
from temporalio.service import RetryConfig

from switchboard.settings import CommonSettings

ROOT = Path(__file__).parents[2]
SCRIPT = ROOT / "deploy" / "certs" / "make-certs.sh"


def make_certs(directory: Path) -> subprocess.CompletedProcess[str]:
    if shutil.which("openssl") is None:
        pytest.fail("openssl is not installed: `make test` installs Debian's package")
    return subprocess.run(
        ["sh", str(SCRIPT), str(directory)], capture_output=True, text=True, timeout=60
    )


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("certs")
    made = make_certs(directory)
    assert made.returncode == 0, made.stderr
    return directory


@contextmanager
def frontend(certs: Path) -> Iterator[tuple[int, list[str | BaseException]]]:
    """A TLS server with the frontend's certificate that requires a client certificate of the
    CA, as Temporal's frontend is configured in compose; it records each peer's CN or error."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certs / "server" / "server.pem", certs / "server" / "server.key")
    context.load_verify_locations(certs / "server" / "ca.pem")
    context.verify_mode = ssl.CERT_REQUIRED
    context.set_alpn_protocols(["h2"])
    seen: list[str | BaseException] = []
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(10)

    def serve() -> None:
        while True:
            try:
                raw, _ = listener.accept()
            except OSError:
                return
            with raw:
                try:
                    with context.wrap_socket(raw, server_side=True) as conn:
                        peer = conn.getpeercert() or {}
                        subject = dict(item for rdn in peer.get("subject", ()) for item in rdn)
                        seen.append(str(subject.get("commonName")))
                except (ssl.SSLError, OSError) as exc:
                    seen.append(exc)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1], seen
    finally:
        listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
        listener.close()
        thread.join(5)


def handshake(port: int, certs: Path, role: str | None, ca: Path | None = None) -> None:
    context = ssl.create_default_context(cafile=ca or certs / "client" / "ca.pem")
    if role is not None:
        context.load_cert_chain(certs / role / f"{role}.pem", certs / role / f"{role}.key")
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname="temporal") as conn,
    ):
        conn.sendall(b"ping")
        conn.recv(1)  # with TLS 1.3, a refused client certificate shows here


def test_the_script_makes_a_ca_and_a_certificate_per_role_each_in_its_own_directory(
    certs: Path,
) -> None:
    for role in ("server", "client", "ui"):
        assert {p.name for p in (certs / role).iterdir()} == {
            "ca.pem",
            f"{role}.pem",
            f"{role}.key",
        }
        verified = subprocess.run(
            ["openssl", "verify", "-CAfile", certs / "ca" / "ca.pem", certs / role / f"{role}.pem"],
            capture_output=True,
            text=True,
        )
        assert verified.returncode == 0, verified.stdout + verified.stderr
    # The CA's key is in the CA's directory only, which no consumer mounts.
    assert not any(
        "ca.key" in p.name for role in ("server", "client", "ui") for p in (certs / role).iterdir()
    )
    assert (certs / "ca" / "ca.key").stat().st_mode & 0o077 == 0


def test_a_second_run_keeps_the_certificates(certs: Path) -> None:
    before = (certs / "client" / "client.pem").read_bytes()
    again = make_certs(certs)
    assert again.returncode == 0, again.stderr
    assert (certs / "client" / "client.pem").read_bytes() == before


def test_the_frontend_accepts_our_clients_and_the_ui_and_refuses_strangers(
    certs: Path, tmp_path: Path
) -> None:
    other = tmp_path / "other"
    assert make_certs(other).returncode == 0
    with frontend(certs) as (port, seen):
        handshake(port, certs, "client")
        handshake(port, certs, "ui", ca=certs / "ui" / "ca.pem")
        with pytest.raises((ssl.SSLError, OSError)):
            handshake(port, certs, None)  # no client certificate
        with pytest.raises((ssl.SSLError, OSError)):
            handshake(port, other, "client", ca=certs / "client" / "ca.pem")  # another CA's
        # Our clients verify the frontend too: another CA's server is refused.
        with frontend(other) as (other_port, _), pytest.raises(ssl.SSLCertVerificationError):
            handshake(other_port, certs, "client")
    assert seen[:2] == ["switchboard", "temporal-ui"]
    assert all(isinstance(outcome, BaseException) for outcome in seen[2:4])


async def test_switchboard_settings_present_the_client_certificate_to_the_frontend(
    certs: Path,
) -> None:
    settings = CommonSettings(  # type: ignore[call-arg]
        _env_file=None,
        temporal_tls_cert=certs / "client" / "client.pem",
        temporal_tls_key=certs / "client" / "client.key",
        temporal_tls_ca=certs / "client" / "ca.pem",
        temporal_tls_server_name="temporal",
    )
    # The stand-in frontend speaks no gRPC: the connection fails after the handshake.
    with frontend(certs) as (port, seen), pytest.raises(RuntimeError):
        await Client.connect(
            f"127.0.0.1:{port}",
            tls=settings.temporal_tls(),
            retry_config=RetryConfig(max_retries=0),
        )
    assert "switchboard" in seen


def test_a_certificate_without_its_key_is_refused_naming_both_settings(certs: Path) -> None:
    with pytest.raises(ValidationError, match="SWITCHBOARD_TEMPORAL_TLS_CERT and"):
        CommonSettings(_env_file=None, temporal_tls_cert=certs / "client" / "client.pem")  # type: ignore[call-arg]
    assert CommonSettings(_env_file=None).temporal_tls() is False  # type: ignore[call-arg]
