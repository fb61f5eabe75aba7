"""Payload keys: parsed strictly, generated once on a loopback machine, required elsewhere."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from pydantic import ValidationError
from temporalio.api.common.v1 import Payload

from switchboard.codec import EncryptionCodec, Keyring, KeyringError
from switchboard.payload_keys import KEY_FILE, load_keyring
from switchboard.settings import CommonSettings
from tests.support.keys import KEY_A, KEY_B


def common(tmp_path: Path, **values: object) -> CommonSettings:
    return CommonSettings(_env_file=None, data_dir=tmp_path, **values)  # type: ignore[call-arg]


async def test_the_first_key_seals_and_every_key_opens() -> None:
    old, new = (
        EncryptionCodec(Keyring.parse(KEY_A)),
        EncryptionCodec(Keyring.parse(f"{KEY_B},{KEY_A}")),
    )
    plain = Payload(metadata={"encoding": b"json/plain"}, data=b'"+14155550123"')
    sealed_old = (await old.encode([plain]))[0]
    assert b"4155550123" not in sealed_old.SerializeToString()
    assert sealed_old.metadata["encryption-key-id"] == b"test-a"
    assert (await new.decode([sealed_old]))[0] == plain
    assert (await new.encode([plain]))[0].metadata["encryption-key-id"] == b"test-b"
    # Payloads from before encryption pass through: old histories keep replaying.
    assert (await old.decode([plain]))[0] == plain


@pytest.mark.parametrize(
    "text",
    ["", "nokey", "k1:bm90IDMyIGJ5dGVz", "k1:%%%", f"{KEY_A},{KEY_A}", ":" + KEY_A[7:]],
    ids=["empty", "no-id", "short", "not-base64", "twice", "empty-id"],
)
def test_a_malformed_keyring_is_refused_without_echoing_the_key(text: str) -> None:
    with pytest.raises(KeyringError) as info:
        Keyring.parse(text)
    assert KEY_A.partition(":")[2] not in str(info.value)


def test_a_malformed_setting_stops_the_start_without_echoing_it(tmp_path: Path) -> None:
    secret = "k1:c2hvcnQ="
    with pytest.raises(ValidationError) as info:
        common(tmp_path, payload_keys=secret)
    assert "payload_keys" in str(info.value)
    assert "c2hvcnQ=" not in str(info.value)


def test_on_loopback_a_key_is_generated_once_readable_by_its_owner_only(tmp_path: Path) -> None:
    first = load_keyring(common(tmp_path), "127.0.0.1")
    again = load_keyring(common(tmp_path), "localhost", "::1")
    assert first == again
    mode = stat.S_IMODE((tmp_path / KEY_FILE).stat().st_mode)
    assert mode == 0o600


@pytest.mark.parametrize(
    ("hosts", "temporal"),
    [(("0.0.0.0",), "localhost:7233"), (("127.0.0.1",), "temporal:7233"), ((), "10.0.0.5:7233")],
)
def test_a_process_reaching_beyond_loopback_needs_explicit_keys(
    tmp_path: Path, hosts: tuple[str, ...], temporal: str
) -> None:
    settings = common(tmp_path, temporal_address=temporal)
    with pytest.raises(KeyringError, match="SWITCHBOARD_PAYLOAD_KEYS"):
        load_keyring(settings, *hosts)
    assert not (tmp_path / KEY_FILE).exists()
    explicit = common(tmp_path, temporal_address=temporal, payload_keys=KEY_A)
    assert load_keyring(explicit, *hosts).sealing_id == "test-a"


def test_the_ingress_refuses_to_start_exposed_without_keys(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from runtime.cli import app

    result = CliRunner().invoke(
        app,
        ["ingress"],
        env={"SWITCHBOARD_HOST": "0.0.0.0", "SWITCHBOARD_DATA_DIR": str(tmp_path)},
    )
    assert result.exit_code == 2
    assert "SWITCHBOARD_PAYLOAD_KEYS must be set" in result.output
