"""Settings, read once at each deployable's edge (environment variables or a `.env` file).

Names follow the external contract (docs/settings.md): Temporal's own variables keep their usual
`TEMPORAL_*` names, everything else is `SWITCHBOARD_*`.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from switchboard.codec import Keyring
from switchboard.contract import ConversationPolicy

if TYPE_CHECKING:
    from temporalio.service import TLSConfig

_CONFIG = SettingsConfigDict(
    env_prefix="SWITCHBOARD_",
    env_file=".env",
    env_file_encoding="utf-8",
    extra="ignore",
    # `VAR=` means "not set", as compose files write optional settings (`${VAR:-}`).
    env_ignore_empty=True,
    # A refused value may be a secret: errors name the setting, never echo its value.
    hide_input_in_errors=True,
)


class CommonSettings(BaseSettings):
    """What every process needs: where Temporal and the store are."""

    model_config = _CONFIG

    temporal_address: str = Field(
        default="localhost:7233", validation_alias=AliasChoices("TEMPORAL_ADDRESS")
    )
    temporal_namespace: str = Field(
        default="default", validation_alias=AliasChoices("TEMPORAL_NAMESPACE")
    )
    # Mutual TLS with Temporal's frontend (PEM files): this process's certificate and key, the
    # CA that signed the frontend's, and the name the frontend's certificate holds when it is
    # not the host of TEMPORAL_ADDRESS. Unset: plain gRPC (the embedded dev server).
    temporal_tls_cert: Path | None = None
    temporal_tls_key: Path | None = None
    temporal_tls_ca: Path | None = None
    temporal_tls_server_name: str | None = None
    task_queue: str = "switchboard"
    data_dir: Path = Path("data")
    # The routing rules file (TOML); the defaults that ship with Switchboard without one. The
    # worker routes by it; the API checks transfers and dispositions against it.
    routing_rules: Path | None = None
    database_url: str | None = None
    sqlite_busy_timeout_s: float = 5.0
    # Logs: one JSON object per line (for collectors), or text for a human at a terminal.
    log_format: Literal["json", "text"] = "json"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # Tracing is off unless an OTLP/HTTP collector is configured, under OpenTelemetry's own name.
    otlp_endpoint: str | None = Field(
        default=None, validation_alias=AliasChoices("OTEL_EXPORTER_OTLP_ENDPOINT")
    )

    # Analytics: where exports are published (default: `exports` in the data dir), how often,
    # and what they may contain.
    export_dir: Path | None = None
    export_interval_s: float = 60.0
    export_keep_text: bool = False
    export_hash_key: SecretStr | None = None
    # Retention: raw payloads emptied, and old rows deleted, after so many days (0: kept).
    retention_payload_days: int = 0
    retention_days: int = 0
    # Audit rows (who changed what) are kept this long (0: kept), whatever the data's limit.
    retention_audit_days: int = Field(default=365, ge=0)
    # The failures console (API, CLI, dashboard) calls a workflow still retrying after this
    # long "stuck".
    failures_stuck_after_s: float = Field(default=3600.0, gt=0)
    # The Twilio account: replies are sent with it, MMS media and recordings fetched (copied
    # into the blob store) and deleted at erasure. The base URL is for tests and regional
    # edges. The auth token may list two, comma-separated, during a rotation: the first is
    # used for calls, both check webhook signatures.
    twilio_account_sid: str | None = None
    twilio_auth_token: SecretStr | None = None
    twilio_api_base_url: str | None = None
    # Payload encryption keys, `id:base64-of-32-bytes`, comma-separated: the first seals, all
    # open. Unset on one machine: a key generated under the data directory (`payload_keys`).
    payload_keys: SecretStr | None = None

    @model_validator(mode="after")
    def _tls_pair(self) -> CommonSettings:
        if (self.temporal_tls_cert is None) != (self.temporal_tls_key is None):
            raise ValueError(
                "SWITCHBOARD_TEMPORAL_TLS_CERT and SWITCHBOARD_TEMPORAL_TLS_KEY go together"
            )
        return self

    def temporal_tls(self) -> TLSConfig | bool:
        """How to reach Temporal: TLS (mutual with a certificate) when any TLS file is set.

        Raises:
            OSError: a configured file cannot be read.
        """
        if not (self.temporal_tls_cert or self.temporal_tls_ca or self.temporal_tls_server_name):
            return False
        from temporalio.service import TLSConfig

        def read(path: Path | None) -> bytes | None:
            return path.read_bytes() if path is not None else None

        return TLSConfig(
            server_root_ca_cert=read(self.temporal_tls_ca),
            domain=self.temporal_tls_server_name,
            client_cert=read(self.temporal_tls_cert),
            client_private_key=read(self.temporal_tls_key),
        )

    @field_validator("payload_keys")
    @classmethod
    def _keyring(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            Keyring.parse(value.get_secret_value())  # a KeyringError is a ValueError
        return value

    # Events out: private addresses (and plain http) for subscriptions, in development and
    # tests only; the waits between delivery attempts (Svix's schedule: 8 attempts in ~28 h).
    subscriptions_allow_private: bool = False
    event_retry_schedule_s: Annotated[list[float], NoDecode] = [
        5,
        300,
        1800,
        7200,
        18000,
        36000,
        36000,
    ]
    event_delivery_timeout_s: float = 15.0
    # A subscription's circuit breaker opens after so many failed attempts in a row, and lets
    # one probe through after the cool-down; a subscription whose every attempt has failed for
    # `disable_after_s` (Svix: 5 days) is disabled, and the other subscriptions are told.
    subscriptions_breaker_failures: int = Field(default=16, ge=1)
    subscriptions_breaker_cooldown_s: float = Field(default=60.0, gt=0)
    subscriptions_disable_after_s: float = Field(default=5 * 24 * 3600.0, gt=0)

    @field_validator("event_retry_schedule_s", mode="before")
    @classmethod
    def _split_schedule(cls, value: object) -> object:
        if isinstance(value, str):
            return [float(part) for part in value.split(",") if part.strip()]
        return value

    def events_task_queue(self) -> str:
        """Deliveries run on a task queue of their own: slow receivers never hold intake's."""
        return f"{self.task_queue}-events"

    def analytics_task_queue(self) -> str:
        """The export and retention run on a task queue of their own, served by a worker
        process of its own under `switchboard up`: their libraries (Great Expectations alone
        is 250 MB resident) and their minute of CPU stay out of the intake worker."""
        return f"{self.task_queue}-analytics"

    def resolved_export_dir(self) -> Path:
        return self.export_dir or self.data_dir / "exports"

    def resolved_database_url(self) -> str:
        """The store's URL: the configured one, else SQLite inside the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'switchboard.db').resolve()}"


class IngressSettings(CommonSettings):
    """The webhook and API process."""

    host: str = "127.0.0.1"
    ingress_port: int = 8000
    public_url: str | None = None
    # Twilio's shared-key webhook signing: key id → secret, as JSON.
    twilio_shared_keys: dict[str, SecretStr] = {}
    push_webhook_secret: SecretStr | None = None
    sendgrid_event_public_key: str | None = None
    # Inbound Parse posts to a URL with these basic-auth credentials in it.
    sendgrid_inbound_user: str | None = None
    sendgrid_inbound_password: SecretStr | None = None
    # SendGrid documents 20 MB per message and lets 30 MB and more through.
    sendgrid_inbound_max_bytes: int = 40 * 1024 * 1024
    # SendGrid signs each batch with its send time; older (or future) batches are refused.
    sendgrid_event_max_age_s: int = 600
    # Bootstrap admin keys; named keys with a role come from `switchboard keys create`.
    api_keys: Annotated[list[SecretStr], NoDecode] = []
    temporal_start_timeout_s: float = 5.0
    # OIDC bearer tokens (signed JWTs) from an identity provider: off unless an issuer is set.
    # The JWKS URL comes from the issuer's discovery document unless given; the roles claim
    # (a dotted path for nested claims, e.g. `realm_access.roles`) lists role names.
    oidc_issuer: str | None = None
    oidc_audience: str | None = None
    oidc_jwks_url: str | None = None
    oidc_roles_claim: str = "roles"
    # A token naming an unknown key id refetches the JWKS at most this often (rotation).
    oidc_jwks_refetch_cooldown_s: float = Field(default=30.0, ge=0)
    # /metrics and the OpenAPI docs answer clients on loopback only (closed to the outside).
    ops_loopback_only: bool = False
    # /metrics on a port of its own (0: off), for a scraper on an internal network while the
    # app's own /metrics stays loopback-only; never published.
    ingress_metrics_host: str = "127.0.0.1"
    ingress_metrics_port: int = Field(default=0, ge=0, le=65535)
    # A callback (a recording, a status) for an interaction never seen waits this long for it,
    # then is kept as an orphaned event and its workflow completes.
    orphan_callback_wait_s: float = Field(default=24 * 3600.0, gt=0)
    # Where the failures console links workflows to; its origin may call the codec server.
    temporal_ui_url: str = "http://127.0.0.1:8233"
    # A request body not received within this long is refused (408): slow clients cannot hold
    # connections open.
    body_read_timeout_s: float = Field(default=30.0, gt=0)
    # Requests in flight beyond this are refused with 503 + Retry-After; high enough that the
    # performance issue's bursts are queued, not refused. A quarter of it is kept for webhooks.
    max_concurrent_requests: int = Field(default=2000, ge=1)
    # Bodies of the API and of the codec server (webhooks have their own per-provider limits):
    # larger ones are refused (413) as soon as the limit is passed, never read whole.
    api_max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    codec_max_body_bytes: int = Field(default=4 * 1024 * 1024, ge=1024)
    # Host names this ingress answers besides its public URL's, its bound address and loopback
    # (DNS rebinding): comma-separated, `*` for any (a proxy in front checks them).
    allowed_hosts: Annotated[list[str], NoDecode] = []
    # Refused deliveries are counted in memory and added to the store this often (and at
    # shutdown): counting adds nothing to a request's answer.
    refusals_flush_interval_s: float = Field(default=5.0, gt=0)
    # Requests per credential (API key or OIDC subject) and minute, by route group; 0 turns a
    # group's limit off. Over it: 429 with Retry-After. Webhooks are never limited by these.
    rate_limit_reads_per_minute: int = Field(default=600, ge=0)
    rate_limit_actions_per_minute: int = Field(default=120, ge=0)
    rate_limit_admin_per_minute: int = Field(default=120, ge=0)
    rate_limit_window_s: int = Field(default=60, ge=1)

    @field_validator("api_keys", "allowed_hosts", mode="before")
    @classmethod
    def _split_commas(cls, value: object) -> object:
        # A comma-separated list in the environment reads better than a JSON array.
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    def served_host_names(self) -> frozenset[str] | None:
        """The Host names requests may carry (loopback ones besides); None: any."""
        if "*" in self.allowed_hosts:
            return None
        names = {"localhost", self.host.strip("[]").lower()}
        for entry in [*self.allowed_hosts, self.public_url or ""]:
            # An entry may be written as a URL or with a port: only its host name counts.
            name = urlsplit(entry if "//" in entry else f"//{entry}").hostname
            if name:
                names.add(name.rstrip("."))
        return frozenset(names)

    @field_validator("push_webhook_secret")
    @classmethod
    def _whsec(cls, value: SecretStr | None) -> SecretStr | None:
        # A Standard Webhooks secret is `whsec_` + base64 of 24 to 64 random bytes.
        if value is None:
            return value
        secret = value.get_secret_value()
        try:
            key = base64.b64decode(secret.removeprefix("whsec_"), validate=True)
        except binascii.Error as exc:
            raise ValueError("must be 'whsec_' followed by base64") from exc
        if not secret.startswith("whsec_") or not key:
            raise ValueError("must be 'whsec_' followed by base64")
        return value

    @field_validator("public_url")
    @classmethod
    def _strip_slash(cls, value: str | None) -> str | None:
        return value.rstrip("/") if value else value

    @field_validator("oidc_issuer", "oidc_jwks_url")
    @classmethod
    def _https_unless_loopback(cls, value: str | None) -> str | None:
        # Keys fetched over plain http could be swapped by anyone on the path.
        if value is None:
            return value
        url = urlsplit(value)
        if url.scheme == "https" or (url.scheme == "http" and is_loopback(url.hostname)):
            return value.rstrip("/")
        raise ValueError("must be an https URL (plain http only on loopback)")

    @model_validator(mode="after")
    def _oidc_complete(self) -> IngressSettings:
        if self.oidc_issuer and not self.oidc_audience:
            raise ValueError("SWITCHBOARD_OIDC_AUDIENCE is required with SWITCHBOARD_OIDC_ISSUER")
        return self


def is_loopback(host: str | None) -> bool:
    """127.0.0.0/8, ::1 or localhost."""
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class WorkerSettings(CommonSettings):
    """The Temporal worker process."""

    max_concurrent_activities: int = 64
    # Worker Versioning (`runtime.versions`): the worker deployment, and this release's build
    # id (unset: a hash of the workflow code). A worker makes its version current once it
    # polls, if that version never was (the rolling release); `switchboard up` turns that off
    # for its workers and makes the version current itself.
    deployment_name: str = Field(default="switchboard", pattern=r"^[A-Za-z0-9_-]+$")
    build_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.-]+$")
    promote_version: bool = True
    # Prometheus endpoint of the worker (Temporal SDK metrics and the pipeline's own); 0 = off.
    worker_metrics_host: str = "127.0.0.1"
    worker_metrics_port: int = 9464
    # Conversations: inactivity before auto-resolve, the window in which a customer message
    # reopens a resolved conversation, where a first-response breach escalates to.
    conversation_auto_resolve_after_s: float = 3 * 24 * 3600
    conversation_reopen_window_s: float = 24 * 3600
    conversation_escalation_queue: str = "escalations"
    conversation_max_history_events: int = 2_000
    # Agent replies go out through the providers' APIs. The base URLs are for tests and
    # regional edges; by default the libraries use the providers' own.
    public_url: str | None = None
    twilio_from_number: str | None = None
    # The WhatsApp sender of replies on WhatsApp, `whatsapp:+…`.
    twilio_whatsapp_from: str | None = None
    # The largest MMS file or recording copied from Twilio; a larger one is recorded as not
    # copied (the interaction stands without it).
    media_max_bytes: int = Field(default=20 * 1024 * 1024, gt=0)
    sendgrid_api_key: SecretStr | None = None
    sendgrid_from_email: str | None = None
    sendgrid_api_base_url: str | None = None

    @field_validator("twilio_whatsapp_from")
    @classmethod
    def _whatsapp_sender(cls, value: str | None) -> str | None:
        """Twilio addresses a WhatsApp sender as `whatsapp:+…`; a bare number is taken as one."""
        if value is None or not value.strip():
            return None
        number = value.strip().removeprefix("whatsapp:").strip()
        if not number.startswith("+") or not number[1:].isdigit():
            raise ValueError("must be a WhatsApp sender, whatsapp:+ and an E.164 number")
        return "whatsapp:" + number

    def conversation_policy(self) -> ConversationPolicy:
        return ConversationPolicy(
            auto_resolve_after_s=self.conversation_auto_resolve_after_s,
            reopen_window_s=self.conversation_reopen_window_s,
            escalation_queue=self.conversation_escalation_queue,
            max_history_events=self.conversation_max_history_events,
        )


class TemporalServerSettings(CommonSettings):
    """The embedded Temporal dev server."""

    temporal_host: str = "127.0.0.1"
    temporal_port: int = 7233
    temporal_ui_port: int = 8233


class DashboardSettings(CommonSettings):
    """The Streamlit dashboards."""

    dashboard_host: str = "127.0.0.1"
    dashboard_port: int = 8501
    # Where the Pipeline page links workflows to.
    temporal_ui_url: str = "http://127.0.0.1:8233"


class UpSettings(IngressSettings, WorkerSettings, TemporalServerSettings, DashboardSettings):
    """`switchboard up`: everything on one machine."""

    demo: bool = True
    # Worker processes. One Python process runs workflow code on one core (the GIL); a
    # second one uses what Temporal and the ingress leave of the others.
    workers: int = Field(default=1, ge=1, le=32)
    simulator_sendgrid_private_key: SecretStr | None = None

    def worker_metrics_port_of(self, i: int) -> int:
        """The metrics port of the `i`-th worker (from 0); 0, off, for all when it is 0."""
        return self.worker_metrics_port + i if self.worker_metrics_port else 0


class SimulatorSettings(BaseSettings):
    """`switchboard simulate`: signs like the providers, posts to the ingress."""

    model_config = _CONFIG

    public_url: str | None = None
    ingress_port: int = 8000
    twilio_auth_token: SecretStr | None = None
    push_webhook_secret: SecretStr | None = None
    sendgrid_inbound_user: str | None = None
    sendgrid_inbound_password: SecretStr | None = None
    # The private half of SWITCHBOARD_SENDGRID_EVENT_PUBLIC_KEY (base64 DER), to sign events
    # as SendGrid does. Only the simulator has it; SendGrid keeps its own.
    simulator_sendgrid_private_key: SecretStr | None = None

    def target_url(self) -> str:
        return (self.public_url or f"http://127.0.0.1:{self.ingress_port}").rstrip("/")
