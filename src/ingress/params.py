"""Parameter types the routes share, constrained as the OpenAPI document says."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AwareDatetime, BeforeValidator

_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}")


def _written_as_a_time(value: Any) -> Any:
    # Pydantic would also read a number as unix seconds; the document promises RFC 3339.
    if isinstance(value, str) and not _RFC3339.match(value):
        raise ValueError("expected an RFC 3339 date-time with a UTC offset")
    return value


# An RFC 3339 date-time with its offset (`2026-12-07T10:00:00Z`): what `format: date-time` means.
Timestamp = Annotated[AwareDatetime, BeforeValidator(_written_as_a_time)]
