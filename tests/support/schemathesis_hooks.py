"""Schemathesis hooks for the `--checks all` run (loaded through SCHEMATHESIS_HOOKS).

An integrator sends a fresh Idempotency-Key with every new operation; a generator would draw the
same few keys for different bodies (and rightly hear 422). So every schema-valid request that
carries a key gets a unique one; invalid keys, which the API must refuse, are sent as drawn.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import schemathesis

_VALID_KEY = re.compile(r"^[!-~]{1,255}$")


@schemathesis.hook
def before_call(ctx: Any, case: Any, **kwargs: Any) -> None:
    # Negative cases are left alone: changing a header makes Schemathesis revalidate the case,
    # which would turn a request meant to lack credentials into one that has them.
    meta = case.meta
    if meta is not None and meta.generation.mode.is_negative:
        return
    key = (case.headers or {}).get("Idempotency-Key")
    if isinstance(key, str) and _VALID_KEY.match(key):
        case.headers["Idempotency-Key"] = str(uuid.uuid4())
