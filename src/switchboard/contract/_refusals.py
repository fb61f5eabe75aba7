"""Refused deliveries: webhook requests the ingress answered with an error, counted per minute.

Never a body, an address or a key: only which endpoint refused how many, and why.
"""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from switchboard.contract._interaction import Provider


class RefusalReason(StrEnum):
    SIGNATURE = "signature"  # a missing, forged or unknown-key signature (403)
    STALE = "stale"  # a signature whose timestamp is outside the allowed window (403)
    TOO_LARGE = "too_large"  # a body, or what Temporal would carry, over its limit (413)
    MALFORMED = "malformed"  # not what the provider sends: type, encoding, fields (400, 415, 422)
    TIMEOUT = "timeout"  # a body not received in time (408)
    AUTH = "auth"  # missing or wrong basic-auth credentials (401)
    UNAVAILABLE = "unavailable"  # Temporal did not take it, or too many requests (503)
    OTHER = "other"  # any other error answer


@dataclass
class RefusedDeliveries:
    """How many deliveries to `endpoint` (a webhook path) were refused for `reason` during the
    minute that starts at `minute` (UTC)."""

    minute: datetime
    provider: Provider
    endpoint: str
    reason: RefusalReason
    refused: int


__all__ = ["RefusalReason", "RefusedDeliveries"]
