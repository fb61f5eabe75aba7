"""GET /api/interactions/{id}/media/{index}: an interaction's attachment, MMS image or recording.

Served as a download (`Content-Disposition: attachment`, `nosniff`), never rendered by the
browser as a page of ours: an email's attachment is whatever its sender chose to send.
"""

from __future__ import annotations

import re
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, HTTPException, Path, Request, status
from fastapi.responses import FileResponse
from starlette.concurrency import run_in_threadpool

from ingress import problems
from ingress.auth import Permission, require
from ingress.deps import StoreDep
from switchboard.blobs import BlobStore
from switchboard.store.media import MediaStore

router = APIRouter(
    prefix="/api", tags=["api"], responses=problems.responses(*problems.AUTHENTICATED)
)

OCTET_STREAM = "application/octet-stream"
# Types a browser would run as a page or script of our origin, were it ever to render one:
# served as opaque bytes whatever the sender declared.
ACTIVE = frozenset(
    {
        "text/html",
        "application/xhtml+xml",
        "image/svg+xml",
        "text/xml",
        "application/xml",
        "text/javascript",
        "application/javascript",
    }
)
_MEDIA_TYPE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]{0,63}/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}")
_UNSAFE_NAME = re.compile(r'[\x00-\x1f\x7f"\\/]')


def _content_type(declared: str | None) -> str:
    """The declared type when it is a plain, passive `type/subtype`, else opaque bytes."""
    value = (declared or "").split(";")[0].strip().lower()
    return value if _MEDIA_TYPE.fullmatch(value) and value not in ACTIVE else OCTET_STREAM


def _disposition(filename: str | None, index: int) -> str:
    name = _UNSAFE_NAME.sub("_", filename or "")[:200] or f"media-{index}"
    ascii_name = name.encode("ascii", "replace").decode().replace("?", "_")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"


@router.get(
    "/interactions/{interaction_id}/media/{index}",
    dependencies=[Depends(require(Permission.READ))],
    response_class=FileResponse,
    responses={
        200: {"content": {OCTET_STREAM: {}}, "description": "the file, as a download"},
        **problems.responses(404),
    },
)
async def media_file(
    interaction_id: str,
    index: Annotated[int, Path(ge=0, le=10_000)],
    request: Request,
    store: StoreDep,
) -> FileResponse:
    """An email attachment, an MMS image or a call recording of the interaction, by its index
    (0 first, in the order they arrived). Recorded in the audit log."""
    request.state.audited = True
    if await run_in_threadpool(store.get_interaction, interaction_id) is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "unknown interaction")
    found = await run_in_threadpool(MediaStore(store.engine).served, interaction_id, index)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"the interaction has no file {index}")
    blobs: BlobStore = request.app.state.blobs
    path = blobs.path(found.blob_ref) if found.blob_ref else None
    if path is None or not path.is_file():
        reason = found.error or "not copied from the provider yet"
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"file {index} is not available: {reason}")
    return FileResponse(
        path,
        media_type=_content_type(found.content_type),
        headers={
            "Content-Disposition": _disposition(found.filename, index),
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
        },
    )
