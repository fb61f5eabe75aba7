"""multipart/form-data as exact bytes, with Starlette's own parser.

Starlette decodes text parts as UTF-8 and silently falls back to latin-1, which mangles the
windows-1252 or iso-2022-jp parts SendGrid forwards (their charset is in the `charsets`
field). Parsed as latin-1, every part maps one byte to one character, so the original bytes
come back exactly and can be decoded with the charset the sender used.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncGenerator
from dataclasses import dataclass

from starlette.datastructures import Headers, UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser


@dataclass(frozen=True)
class FilePart:
    field: str
    filename: str
    content_type: str | None
    # Never in a repr: asyncio formats a finished task's result, and 30 MB of bytes take a
    # second to format, holding the GIL (and with it every Twilio acknowledgement).
    data: bytes = dataclasses.field(repr=False)


@dataclass(frozen=True)
class Form:
    fields: dict[str, bytes] = dataclasses.field(repr=False)
    files: list[FilePart] = dataclasses.field(repr=False)


class FormTooLarge(ValueError):
    pass


async def parse_form(content_type: str, body: bytes, max_part_size: int) -> Form:
    """Parse `body`; `ValueError` when it is not valid multipart, `FormTooLarge` for a part."""
    media_type = content_type.split(";")[0]
    params = [p for p in content_type.split(";")[1:] if not p.strip().lower().startswith("charset")]
    headers = Headers({"content-type": ";".join([media_type, *params, " charset=latin-1"])})

    async def stream() -> AsyncGenerator[bytes, None]:
        yield body

    parser = MultiPartParser(headers, stream(), max_part_size=max_part_size)
    try:
        form = await parser.parse()
    except MultiPartException as exc:
        if "exceeded maximum size" in exc.message:
            raise FormTooLarge(exc.message) from exc
        raise ValueError(exc.message) from exc
    fields: dict[str, bytes] = {}
    files: list[FilePart] = []
    for name, value in form.multi_items():
        if isinstance(value, UploadFile):
            files.append(
                FilePart(
                    field=name,
                    filename=(value.filename or "").encode("latin-1").decode("utf-8", "replace"),
                    content_type=value.content_type,
                    data=await value.read(),
                )
            )
            await value.close()
        else:
            fields.setdefault(name, value.encode("latin-1"))
    return Form(fields=fields, files=files)
