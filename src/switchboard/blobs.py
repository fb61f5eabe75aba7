"""Content-addressed blobs under the data directory: large bodies are referenced, not carried.

Attachments and raw emails can be megabytes; a workflow history holds their reference
(`blob:sha256:<hex>`), and the bytes live here, written once and never changed.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

PREFIX = "blob:sha256:"
_REFERENCE = re.compile(re.escape(PREFIX) + r"[0-9a-f]{64}")


def references(text: str) -> list[str]:
    """Every blob reference in `text` (a row's JSON, say)."""
    return _REFERENCE.findall(text)


class BlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def put(self, data: bytes | memoryview) -> str:
        """Store `data` (idempotently) and return its reference."""
        digest = hashlib.sha256(data).hexdigest()
        path = self._path(digest)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            # Written aside, then renamed: a reader never sees half a blob.
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            os.replace(tmp, path)
        return PREFIX + digest

    def get(self, ref: str) -> bytes:
        if not ref.startswith(PREFIX):
            raise ValueError(f"not a blob reference: {ref!r}")
        return self._path(ref.removeprefix(PREFIX)).read_bytes()

    def path(self, ref: str) -> Path:
        """Where the blob's bytes are (to stream them); it may not exist."""
        if not ref.startswith(PREFIX):
            raise ValueError(f"not a blob reference: {ref!r}")
        return self._path(ref.removeprefix(PREFIX))

    def delete(self, ref: str) -> bool:
        """Remove a blob (erasure, retention); False if it was not there."""
        if not ref.startswith(PREFIX):
            raise ValueError(f"not a blob reference: {ref!r}")
        path = self._path(ref.removeprefix(PREFIX))
        try:
            path.unlink()
        except FileNotFoundError:
            return False
        return True

    def written_before(self, before: datetime) -> Iterator[str]:
        """References of the blobs written before `before` (retention)."""
        cutoff = before.timestamp()
        for path in self.root.glob("??/*"):
            if path.name.startswith("."):  # being written
                continue
            try:
                if path.stat().st_mtime < cutoff:
                    yield PREFIX + path.name
            except FileNotFoundError:  # erased meanwhile
                continue

    def _path(self, digest: str) -> Path:
        return self.root / digest[:2] / digest
