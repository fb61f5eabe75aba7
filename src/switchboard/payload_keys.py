"""Where a process's payload keys come from: the setting, else (on one machine) a generated file.

Under `make run` nobody sets `SWITCHBOARD_PAYLOAD_KEYS`, yet payloads are encrypted all the
same: the first process to need a key writes one under the data directory (mode 0600), and
every other process on the machine reads that one. A process reachable from other machines, or
talking to a Temporal elsewhere, refuses to start without explicit keys: a key that lives only
in one container's data directory would strand every payload it sealed.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from pathlib import Path

from switchboard.codec import Keyring, KeyringError
from switchboard.settings import CommonSettings

KEY_FILE = "payload-keys"
CODEC_TOKEN_FILE = "codec-token"


def is_loopback(host: str) -> bool:
    """`localhost`, 127.0.0.0/8 or ::1; a name or 0.0.0.0 is taken as reachable from outside."""
    host = host.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _host_of(address: str) -> str:
    host, _, _ = address.rpartition(":")
    return host or address


def load_keyring(settings: CommonSettings, *bound_hosts: str) -> Keyring:
    """The process's keyring; `bound_hosts` are the addresses it listens on.

    Raises:
        KeyringError: the setting is malformed, or it is missing where a generated key is
            not allowed.
    """
    if settings.payload_keys is not None:
        return Keyring.parse(settings.payload_keys.get_secret_value())
    exposed = [h for h in (*bound_hosts, _host_of(settings.temporal_address)) if not is_loopback(h)]
    if exposed:
        raise KeyringError(
            f"SWITCHBOARD_PAYLOAD_KEYS must be set: this process reaches beyond loopback "
            f"({', '.join(exposed)}), where a generated key cannot be shared"
        )
    return Keyring.parse(_generated(settings.data_dir / KEY_FILE, Keyring.new_entry("local-1")))


def local_codec_token(data_dir: Path) -> str:
    """The codec server's credential on one machine (`make run`): Temporal UI calls
    `/codec/local/<token>/…` with it; generated on first use, like the payload key."""
    return _generated(data_dir / CODEC_TOKEN_FILE, secrets.token_urlsafe(32)).strip()


def _generated(path: Path, contents: str) -> str:
    """The key file's contents, written first if there is none; safe when processes race."""
    if path.exists():
        return path.read_text()
    path.parent.mkdir(parents=True, exist_ok=True)
    draft = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as file:
        file.write(contents)
    try:
        os.link(draft, path)  # atomic, and fails if another process got there first
    except FileExistsError:
        pass
    finally:
        draft.unlink()
    return path.read_text()
