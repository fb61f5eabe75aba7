"""No development secret, and no development switch, in an exposed process.

A process that binds beyond loopback refuses to start while a secret it uses is a value
published in `.env.example` (anyone can read it), or obviously weak; while a payload key is not
32 random bytes; while private subscription targets are allowed; or while it would expose the
embedded Temporal dev server, which has no authentication. The refusal names the environment
variable, never the value. On loopback (`make run`) nothing is checked.
"""

from __future__ import annotations

import base64
import binascii

from pydantic import SecretStr
from pydantic_settings import BaseSettings

# The values `.env.example` publishes (tests/integration/test_access_cli.py keeps this list whole).
PUBLISHED = frozenset(
    {
        "dev-twilio-auth-token-change-me",
        "dev-api-key-change-me",
        "whsec_ZGV2LXB1c2gtc2VjcmV0LWNoYW5nZS1tZS0xMjM0NQ==",
        "dev-inbound-password-change-me",
        # Public, but its private half is published too: anyone could sign "SendGrid" events.
        "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEpeUZ+Lwrdsl8z13R1duzjc/6r/IIKL0ssGKnRg5XjEHOyOok35920Pp6le7oxkmbtEh+2xbOiONhIuiA96Zf6A==",
        "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg3GTBpRkJ0QdjVCz31juT4iUWF2pD2m9HjepC9A2MkUShRANCAASl5Rn4vCt2yXzPXdHV27ONz/qv8ggovSywYqdGDleMQc7I6iTfn3bQ+nqV7ujGSZu0SH7bFs6I42Ei6ID3pl/o",
    }
)
WEAK_MARKERS = ("change-me", "changeme", "example", "password", "insecure", "dev-", "test-")
MIN_LENGTH = 16
MIN_DISTINCT = 8

# The settings that hold secrets (or keys whose private half was published), by field name.
SECRET_FIELDS = (
    "api_keys",
    "twilio_auth_token",
    "twilio_shared_keys",
    "push_webhook_secret",
    "sendgrid_inbound_password",
    "sendgrid_event_public_key",
    "sendgrid_api_key",
    "simulator_sendgrid_private_key",
    "export_hash_key",
)
# Chosen by the provider or a key pair's public half: published, or not, but never "weak".
NOT_CHOSEN = frozenset({"sendgrid_event_public_key", "simulator_sendgrid_private_key"})


# 32 random bytes hold about 30 distinct values, and are all printable once in about 10^14.
MIN_DISTINCT_KEY_BYTES = 20


def is_loopback_bind(host: str) -> bool:
    return host in {"127.0.0.1", "::1", "localhost"} or host.startswith("127.")


def _values(value: object) -> list[str]:
    if value is None:
        return []
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    if isinstance(value, str):
        # Twilio's auth token may be "new,old" during a rotation.
        return [part.strip() for part in value.split(",")]
    if isinstance(value, dict):
        return [v for item in value.values() for v in _values(item)]
    if isinstance(value, list):
        return [v for item in value for v in _values(item)]
    return []


def _problem(field: str, secret: str) -> str | None:
    if secret in PUBLISHED:
        return "is a development value published in .env.example"
    if field in NOT_CHOSEN:
        return None
    if not secret:
        return "is empty"
    bare = secret.removeprefix("whsec_")
    lowered = bare.lower()
    if (
        len(bare) < MIN_LENGTH
        or len(set(bare)) < MIN_DISTINCT
        or any(marker in lowered for marker in WEAK_MARKERS)
    ):
        return f"is weak (use at least {MIN_LENGTH} random characters, e.g. `openssl rand -hex 32`)"
    return None


def unsafe_secrets(settings: BaseSettings) -> list[str]:
    """One line per unsafe secret the settings hold, naming its variable and never its value."""
    prefix = str(settings.model_config.get("env_prefix", ""))
    problems = []
    for field in SECRET_FIELDS:
        if field not in type(settings).model_fields:
            continue
        for secret in _values(getattr(settings, field)):
            problem = _problem(field, secret)
            if problem:
                problems.append(f"{prefix}{field.upper()} {problem}")
                break
    return problems


def unsafe_settings(settings: BaseSettings) -> list[str]:
    """`unsafe_secrets`, and the keys and switches an exposed process must not run with."""
    prefix = str(settings.model_config.get("env_prefix", ""))
    problems = unsafe_secrets(settings)
    keys = getattr(settings, "payload_keys", None)
    if isinstance(keys, SecretStr):
        weak = _weak_payload_key(keys.get_secret_value())
        if weak:
            problems.append(
                f"{prefix}PAYLOAD_KEYS key {weak} is weak (use 32 random bytes: "
                "`openssl rand -base64 32`)"
            )
    if getattr(settings, "subscriptions_allow_private", False):
        problems.append(
            f"{prefix}SUBSCRIPTIONS_ALLOW_PRIVATE is on: subscriptions could reach private "
            "addresses (development and tests only)"
        )
    dev_server = getattr(settings, "temporal_host", None)
    if dev_server is not None and not is_loopback_bind(dev_server):
        problems.append(
            f"{prefix}TEMPORAL_HOST exposes the embedded Temporal dev server, which has no "
            "authentication: keep it on loopback, or run a Temporal cluster with mutual TLS"
        )
    return problems


def _weak_payload_key(text: str) -> int | None:
    """The position (from 1) of the first key that is not random bytes, else None."""
    for n, entry in enumerate((e.strip() for e in text.split(",") if e.strip()), start=1):
        try:
            key = base64.b64decode(entry.partition(":")[2], validate=True)
        except binascii.Error:
            return n  # unreachable past the settings' own check, but never "safe"
        if len(set(key)) < MIN_DISTINCT_KEY_BYTES or all(32 <= b < 127 for b in key):
            return n
    return None
